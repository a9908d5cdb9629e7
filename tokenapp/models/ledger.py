"""Balances, the append-only ledger, and charges held for a feature run.

Only `tokenapp.services.ledger.writer` writes `token_accounts` and
`token_transactions`; `tokenapp.services.charges` writes `token_charges`.
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


_TYPE_LIST = ", ".join(f"'{t.value}'" for t in TransactionType)


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
