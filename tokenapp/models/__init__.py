"""The database models; import from here."""

from .catalog import AIFeature, TokenPackage
from .jobs import PeriodicJobClaim
from .ledger import TokenAccount, TokenCharge, TokenTransaction, TransactionType
from .payments import Referral, StripeEvent, Subscription, SubscriptionPlan, TokenPurchase
from .runs import FeatureRun, Resume
from .uploads import ResumeUpload
from .user import User, UserSession

__all__ = [
    "AIFeature",
    "FeatureRun",
    "PeriodicJobClaim",
    "Referral",
    "Resume",
    "ResumeUpload",
    "StripeEvent",
    "Subscription",
    "SubscriptionPlan",
    "TokenAccount",
    "TokenCharge",
    "TokenPackage",
    "TokenPurchase",
    "TokenTransaction",
    "TransactionType",
    "User",
    "UserSession",
]
