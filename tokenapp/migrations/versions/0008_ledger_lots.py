"""ledger v2: lots, draws, double entry (counterparty, cents, debt_change), and an index on every foreign key

Existing balances are carried over as lots: per user, the tokens up to their
lifetime purchases become one paid lot (costed at the average price of the
user's paid purchases), the rest one bonus lot. Neither expires: nobody
loses a token at the upgrade. Existing rows get the counterparty their type
implies, and a debt owed today becomes one `reversal` row of 0 tokens that
records it (`debt_change`), so that debt is a ledger quantity from now on.

Revision ID: 0008_ledger_lots
Revises: 0007_uploads
Create Date: 2026-12-10 09:00:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_ledger_lots"
down_revision = "0007_uploads"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COUNTERPARTIES = "'stripe', 'promotions', 'revenue', 'expiry', 'receivable', 'transfers', 'adjustments'"
SOURCES = "'purchase', 'welcome', 'daily_bonus', 'referral', 'gift', 'adjustment', 'subscription', 'migration'"

COUNTERPARTY_BY_TYPE = """
UPDATE token_transactions SET counterparty = CASE type
    WHEN 'purchase' THEN 'stripe'
    WHEN 'spend' THEN 'revenue'
    WHEN 'refund' THEN 'revenue'
    WHEN 'bonus' THEN 'promotions'
    WHEN 'adjustment' THEN 'adjustments'
    WHEN 'gift_in' THEN 'transfers'
    WHEN 'gift_out' THEN 'transfers'
    WHEN 'expiry' THEN 'expiry'
    WHEN 'reversal' THEN CASE WHEN note LIKE 'Repaid %' THEN 'receivable' ELSE 'stripe' END
END
"""

# The paid part of a balance: up to the lifetime purchases. Its cost: that many tokens at the average
# price the user paid per token still granted (cents kept after refunds over tokens still granted).
PAID_PART = "CASE WHEN a.balance < a.lifetime_purchased THEN a.balance ELSE a.lifetime_purchased END"
PAID_CENTS = (
    "(SELECT SUM(p.amount_cents - p.amount_refunded_cents) FROM token_purchases p "
    "WHERE p.user_id = a.user_id AND p.status = 'paid' AND p.tokens_granted > 0)"
)
PAID_TOKENS = (
    "(SELECT SUM(p.tokens_granted) FROM token_purchases p "
    "WHERE p.user_id = a.user_id AND p.status = 'paid' AND p.tokens_granted > 0)"
)
PAID_LOTS = f"""
INSERT INTO token_lots (user_id, source, kind, granted, remaining, cost_cents, expires_at, created_at)
SELECT a.user_id, 'migration', 'paid', {PAID_PART}, {PAID_PART},
       COALESCE(CAST({PAID_PART} AS BIGINT) * {PAID_CENTS} / {PAID_TOKENS}, 0), NULL, :now
FROM token_accounts a WHERE {PAID_PART} > 0
"""
BONUS_LOTS = f"""
INSERT INTO token_lots (user_id, source, kind, granted, remaining, cost_cents, expires_at, created_at)
SELECT a.user_id, 'migration', 'bonus', a.balance - {PAID_PART}, a.balance - {PAID_PART}, 0, NULL, :now
FROM token_accounts a WHERE a.balance - {PAID_PART} > 0
"""
DEBT_ROWS = """
INSERT INTO token_transactions (user_id, type, amount, balance_after, note, counterparty, cents, debt_change,
                                created_at)
SELECT user_id, 'reversal', 0, balance,
       'Carried over at the ledger upgrade: ' || CAST(debt AS VARCHAR(12)) || ' tokens owed', 'stripe', 0, debt, :now
FROM token_accounts WHERE debt > 0
"""


def upgrade():
    op.create_table(
        "token_lots",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("cost_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "granted > 0 AND remaining >= 0 AND remaining <= granted",
            name=op.f("ck_token_lots_remaining_within_granted"),
        ),
        sa.CheckConstraint(
            "cost_cents >= 0 AND (kind = 'paid' OR cost_cents = 0)", name=op.f("ck_token_lots_only_paid_lots_cost")
        ),
        sa.CheckConstraint("kind IN ('paid', 'bonus')", name=op.f("ck_token_lots_known_kind")),
        sa.CheckConstraint(f"source IN ({SOURCES})", name=op.f("ck_token_lots_known_source")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_token_lots_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_lots")),
    )
    with op.batch_alter_table("token_lots", schema=None) as batch_op:
        batch_op.create_index("ix_token_lots_user_id_expires_at", ["user_id", "expires_at"], unique=False)

    with op.batch_alter_table("token_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_expiry_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_token_accounts_next_expiry_at"), ["next_expiry_at"], unique=False)

    with op.batch_alter_table("token_transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counterparty", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("lot_id", BIG_ID, nullable=True))
        batch_op.add_column(sa.Column("cents", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("debt_change", sa.Integer(), server_default="0", nullable=False))

    bind = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None) if bind.dialect.name == "sqlite" else datetime.now(UTC)
    op.execute(COUNTERPARTY_BY_TYPE)
    bind.execute(sa.text(PAID_LOTS), {"now": now})
    bind.execute(sa.text(BONUS_LOTS), {"now": now})
    bind.execute(sa.text(DEBT_ROWS), {"now": now})

    with op.batch_alter_table("token_transactions", schema=None) as batch_op:
        batch_op.alter_column("counterparty", existing_type=sa.String(length=16), nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_token_transactions_known_counterparty"), f"counterparty IN ({COUNTERPARTIES})"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_token_transactions_lot_id_token_lots"), "token_lots", ["lot_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_token_transactions_actor_id", ["actor_id"], unique=False)
        batch_op.create_index("ix_token_transactions_lot_id", ["lot_id"], unique=False)

    op.create_table(
        "token_draws",
        sa.Column("transaction_id", BIG_ID, nullable=False),
        sa.Column("lot_id", BIG_ID, nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["token_lots.id"], name=op.f("fk_token_draws_lot_id_token_lots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["token_transactions.id"],
            name=op.f("fk_token_draws_transaction_id_token_transactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("transaction_id", "lot_id", name=op.f("pk_token_draws")),
    )
    with op.batch_alter_table("token_draws", schema=None) as batch_op:
        batch_op.create_index("ix_token_draws_lot_id", ["lot_id"], unique=False)

    with op.batch_alter_table("token_purchases", schema=None) as batch_op:
        batch_op.create_index("ix_token_purchases_package_id", ["package_id"], unique=False)


def downgrade():
    """Back to one balance column: lots, draws and the double-entry columns go; debt stays in its column."""
    with op.batch_alter_table("token_purchases", schema=None) as batch_op:
        batch_op.drop_index("ix_token_purchases_package_id")
    op.drop_table("token_draws")
    op.execute(
        "DELETE FROM token_transactions WHERE type = 'reversal' AND amount = 0 "
        "AND note LIKE 'Carried over at the ledger upgrade:%'"
    )
    with op.batch_alter_table("token_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_token_transactions_lot_id")
        batch_op.drop_index("ix_token_transactions_actor_id")
        batch_op.drop_constraint(batch_op.f("fk_token_transactions_lot_id_token_lots"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("ck_token_transactions_known_counterparty"), type_="check")
        batch_op.drop_column("debt_change")
        batch_op.drop_column("cents")
        batch_op.drop_column("lot_id")
        batch_op.drop_column("counterparty")
    with op.batch_alter_table("token_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_accounts_next_expiry_at"))
        batch_op.drop_column("next_expiry_at")
    op.drop_table("token_lots")
