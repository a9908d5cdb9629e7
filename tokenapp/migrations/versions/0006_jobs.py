"""durable jobs: run leases and periodic job claims

Revision ID: 0006_jobs
Revises: 0005_user_sessions
Create Date: 2026-12-01 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006_jobs"
down_revision = "0005_user_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "periodic_job_claims",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=120), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "period_start", name=op.f("pk_periodic_job_claims")),
    )
    with op.batch_alter_table("feature_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("claim", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_feature_runs_status_lease_expires_at", ["status", "lease_expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("feature_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_feature_runs_status_lease_expires_at")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claim")
        batch_op.drop_column("attempts")

    op.drop_table("periodic_job_claims")
