"""payment checks: what did not match when a payment was checked

Revision ID: 0004_payment_checks
Revises: 0003
Create Date: 2026-12-01 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004_payment_checks"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("token_purchases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_alert", sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table("token_purchases", schema=None) as batch_op:
        batch_op.drop_column("payment_alert")
