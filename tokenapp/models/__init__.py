"""The database models; import from here."""

from .catalog import AIFeature, TokenPackage
from .jobs import PeriodicJobClaim
from .ledger import (
    ChargeStatus,
    Counterparty,
    LotKind,
    LotSource,
    TokenAccount,
    TokenCharge,
    TokenDraw,
    TokenLot,
    TokenTransaction,
    TransactionType,
)
from .payments import (
    DisputeStatus,
    PurchaseStatus,
    Referral,
    StripeEvent,
    StripeEventStatus,
    Subscription,
    SubscriptionPlan,
    SubscriptionStatus,
    TokenPurchase,
)
from .runs import FeatureRun, Resume, RunStatus
from .uploads import ResumeUpload
from .user import User, UserSession

__all__ = [
    "AIFeature",
    "ChargeStatus",
    "Counterparty",
    "DisputeStatus",
    "FeatureRun",
    "LotKind",
    "LotSource",
    "PeriodicJobClaim",
    "PurchaseStatus",
    "Referral",
    "Resume",
    "ResumeUpload",
    "RunStatus",
    "StripeEvent",
    "StripeEventStatus",
    "Subscription",
    "SubscriptionPlan",
    "SubscriptionStatus",
    "TokenAccount",
    "TokenCharge",
    "TokenDraw",
    "TokenLot",
    "TokenPackage",
    "TokenPurchase",
    "TokenTransaction",
    "TransactionType",
    "User",
    "UserSession",
]
