"""Balances, the append-only ledger, lots, and charges held for a feature run.

Only `tokenapp.services.ledger.writer` writes `token_accounts`,
`token_transactions`, `token_lots` and `token_draws`;
`tokenapp.services.charges` writes `token_charges` (on PostgreSQL a covered
charge's row is written with its spend by the writer's `charge_in_one_call`).
"""

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from ._types import UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")


class TransactionType(enum.StrEnum):
    """The contract's ledger vocabulary."""

    PURCHASE = "purchase"
    SPEND = "spend"
    REFUND = "refund"
    BONUS = "bonus"
    GIFT_IN = "gift_in"
    GIFT_OUT = "gift_out"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"
    EXPIRY = "expiry"


class Counterparty(enum.StrEnum):
    """The system account on the other side of a ledger row (double entry).

    Each `token_transactions` row is one transfer: the user's wallet moves by
    `amount`, the user's debt by `debt_change`, and this account by
    `debt_change - amount`, so every row sums to zero. System balances are
    sums over rows, never a hot row of their own.
    """

    STRIPE = "stripe"
    PROMOTIONS = "promotions"
    REVENUE = "revenue"
    EXPIRY = "expiry"
    RECEIVABLE = "receivable"
    TRANSFERS = "transfers"
    ADJUSTMENTS = "adjustments"


class LotKind(enum.StrEnum):
    """Paid tokens carry a cost basis and never expire by default; bonus tokens cost nothing and expire."""

    PAID = "paid"
    BONUS = "bonus"


class LotSource(enum.StrEnum):
    """Where a lot's tokens came from."""

    PURCHASE = "purchase"
    WELCOME = "welcome"
    DAILY_BONUS = "daily_bonus"
    REFERRAL = "referral"
    GIFT = "gift"
    ADJUSTMENT = "adjustment"
    SUBSCRIPTION = "subscription"
    MIGRATION = "migration"


def _values(enum_type) -> str:
    return ", ".join(f"'{member.value}'" for member in enum_type)


_TYPE_LIST = _values(TransactionType)


class TokenAccount(Model):
    """One fixed row per user: the balance every charge locks and updates."""

    __tablename__ = "token_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("debt >= 0", name="debt_not_negative"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    balance: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    debt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lifetime_purchased: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lifetime_spent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lifetime_bonus: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_unlimited: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # No open lot of this account expires before this moment (NULL: none expires). A spend's
    # conditional UPDATE requires it to be in the future, so a due lot is expired before any debit.
    next_expiry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


class TokenTransaction(Model):
    """One balance change. Rows are only ever inserted."""

    __tablename__ = "token_transactions"
    __table_args__ = (
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        CheckConstraint(f"type IN ({_TYPE_LIST})", name="known_type"),
        UniqueConstraint("user_id", "dedupe_key"),
        Index("ix_token_transactions_user_id_id", "user_id", "id"),
        Index("ix_token_transactions_type_created_at", "type", "created_at"),
        Index("ix_token_transactions_charge_id", "charge_id"),
        Index("ix_token_transactions_actor_id", "actor_id"),
        Index("ix_token_transactions_lot_id", "lot_id"),
        CheckConstraint(f"counterparty IN ({_values(Counterparty)})", name="known_counterparty"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    feature_key: Mapped[str | None] = mapped_column(String(40), nullable=True)
    charge_id: Mapped[str | None] = mapped_column(ForeignKey("token_charges.id"), nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(120), nullable=True)
    note: Mapped[str | None] = mapped_column(String(255), nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    counterparty: Mapped[str] = mapped_column(String(16))
    # The one lot this row drew from or credited; NULL when it touched none or several (see token_draws).
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("token_lots.id", ondelete="CASCADE"), nullable=True)
    # The paid tokens' value at their cost basis, in cents, signed like `amount`.
    cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Tokens the user owes after a reversal of spent tokens: + when debt grows, - when repaid.
    debt_change: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def to_dict(self) -> dict:
        """The public JSON shape of the contract."""
        return {
            "id": self.id,
            "type": self.type,
            "amount": self.amount,
            "balance_after": self.balance_after,
            "feature_key": self.feature_key,
            "created_at": self.created_at.isoformat(),
        }


class TokenLot(Model):
    """Tokens from one credit: their kind, cost basis and expiry, and how many remain.

    Value at cost basis is exact in integers: with `u = granted - remaining`
    used tokens, the lot has released `cost_cents * u // granted` cents, so a
    movement of tokens carries the difference of that figure before and after,
    and a lot used up has released exactly `cost_cents`.
    """

    __tablename__ = "token_lots"
    __table_args__ = (
        CheckConstraint("granted > 0 AND remaining >= 0 AND remaining <= granted", name="remaining_within_granted"),
        CheckConstraint("cost_cents >= 0 AND (kind = 'paid' OR cost_cents = 0)", name="only_paid_lots_cost"),
        CheckConstraint(f"kind IN ({_values(LotKind)})", name="known_kind"),
        CheckConstraint(f"source IN ({_values(LotSource)})", name="known_source"),
        Index("ix_token_lots_user_id_expires_at", "user_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    granted: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    cost_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TokenDraw(Model):
    """One lot's part of a ledger row that touched several lots (a row touching one names it in `lot_id`)."""

    __tablename__ = "token_draws"
    __table_args__ = (Index("ix_token_draws_lot_id", "lot_id"),)

    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("token_transactions.id", ondelete="CASCADE"), primary_key=True
    )
    lot_id: Mapped[int] = mapped_column(ForeignKey("token_lots.id", ondelete="CASCADE"), primary_key=True)
    tokens: Mapped[int] = mapped_column(Integer)
    cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ChargeStatus(enum.StrEnum):
    """Where a charge is in its life: held until a run consumes or refunds it."""

    HELD = "held"
    CONSUMED = "consumed"
    REFUNDED = "refunded"


class TokenCharge(Model):
    """Tokens taken for one feature run, held until the run settles them."""

    __tablename__ = "token_charges"
    __table_args__ = (
        CheckConstraint("amount >= 0 AND cost >= 0", name="amounts_not_negative"),
        CheckConstraint("status IN ('held', 'consumed', 'refunded')", name="known_status"),
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_token_charges_status_expires_at", "status", "expires_at"),
        Index("ix_token_charges_user_id_status_expires_at", "user_id", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    feature_key: Mapped[str] = mapped_column(String(40))
    cost: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default=ChargeStatus.HELD.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
