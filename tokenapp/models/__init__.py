"""The database models; import from here."""

from .catalog import AIFeature, TokenPackage
from .ledger import TokenAccount, TokenCharge, TokenTransaction, TransactionType
from .runs import FeatureRun, Resume
from .uploads import ResumeUpload
from .payments import Referral, StripeEvent, Subscription, SubscriptionPlan, TokenPurchase
from .user import User

__all__ = [
    "AIFeature",
    "FeatureRun",
    "Resume",
    "ResumeUpload",
    "Referral",
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
]
