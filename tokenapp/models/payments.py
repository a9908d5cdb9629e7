"""Purchases through Stripe, the Stripe events received, and referrals."""

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from ._types import UTCDateTime, utcnow


class PurchaseStatus(enum.StrEnum):
    """Where a token purchase stands; `amount_mismatch` is final and credits nothing."""

    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    FAILED = "failed"
    AMOUNT_MISMATCH = "amount_mismatch"


class DisputeStatus(enum.StrEnum):
    """Stripe's dispute statuses, as stored in `TokenPurchase.dispute_status`."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WARNING_CLOSED = "warning_closed"
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"


class SubscriptionStatus(enum.StrEnum):
    """Stripe's subscription statuses, as stored in `Subscription.status`."""

    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    PAUSED = "paused"


class StripeEventStatus(enum.StrEnum):
    """What became of a stored Stripe event."""

    RECEIVED = "received"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    REJECTED = "rejected"


class TokenPurchase(Model):
    """One Checkout Session for a token package and what became of it."""

    __tablename__ = "token_purchases"
    __table_args__ = (
        CheckConstraint("tokens >= 0 AND bonus_tokens >= 0 AND amount_cents >= 0", name="amounts_not_negative"),
        Index("ix_token_purchases_user_id_created_at", "user_id", "created_at"),
        Index("ix_token_purchases_status_created_at", "status", "created_at"),
        Index("ix_token_purchases_package_id", "package_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    package_id: Mapped[int | None] = mapped_column(ForeignKey("token_packages.id"), nullable=True)
    tokens: Mapped[int] = mapped_column(Integer)
    bonus_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    amount_cents: Mapped[int] = mapped_column(Integer)
    amount_refunded_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tokens_granted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), default="usd", server_default="usd")
    status: Mapped[str] = mapped_column(
        String(20), default=PurchaseStatus.PENDING, server_default=PurchaseStatus.PENDING
    )
    dispute_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    failure_message: Mapped[str | None] = mapped_column(String(255), nullable=True)
    payment_alert: Mapped[str | None] = mapped_column(String(255), nullable=True)
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def total_tokens(self) -> int:
        """Tokens this purchase is worth when fully paid, bonus included."""
        return self.tokens + self.bonus_tokens


class SubscriptionPlan(Model):
    """A recurring plan sold through Checkout; today only Unlimited."""

    __tablename__ = "subscription_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(255))
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="usd", server_default="usd")
    interval: Mapped[str] = mapped_column(String(10), default="month", server_default="month")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    stripe_product_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    stripe_price_id: Mapped[str | None] = mapped_column(String(255), nullable=True)


class Subscription(Model):
    """A user's Stripe subscription, as Stripe last described it."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_user_id_status", "user_id", "status"),)

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    plan_key: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30))
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeEvent(Model):
    """A Stripe event, stored by its id before it is acted on."""

    __tablename__ = "stripe_events"
    __table_args__ = (Index("ix_stripe_events_status_received_at", "status", "received_at"),)

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(
        String(20), default=StripeEventStatus.RECEIVED, server_default=StripeEventStatus.RECEIVED
    )
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Referral(Model):
    """A sign-up through someone's referral link, and whether it was rewarded."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_referrer_id_created_at", "referrer_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    referred_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    reward_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rewarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
