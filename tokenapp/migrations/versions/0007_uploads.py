"""resume uploads: the bytes of an upload, kept apart from the run until the run parses them

Revision ID: 0007_uploads
Revises: 0006_jobs
Create Date: 2026-12-02 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_uploads"
down_revision = "0006_jobs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "resume_uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_resume_uploads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resume_uploads")),
    )
    with op.batch_alter_table("resume_uploads", schema=None) as batch_op:
        batch_op.create_index("ix_resume_uploads_user_id_created_at", ["user_id", "created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("resume_uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_resume_uploads_user_id_created_at")

    op.drop_table("resume_uploads")
