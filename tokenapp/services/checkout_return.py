"""What the success page and its poll do: ask Stripe, record, report.

The payer's browser may come back before the webhook arrives (or the
webhook may never come). Reading the session from Stripe here and handing it
to the same idempotent code the webhook uses means whichever comes first
credits the purchase, and the other finds nothing left to do.

These are GET requests that may write, and only in a bounded way: Stripe is
asked only while a purchase is pending, at most once per session per cache
window (`stripe_cache`), and the database is written only when Stripe reports
something new (paid or expired), once, through the idempotent path.
Cancelling a checkout is a POST (`cancel`); showing the cancel page writes
nothing.
"""

import re
from dataclasses import dataclass

import stripe
from sqlalchemy import select

from ..database import write_transaction
from ..extensions import db
from ..models import PurchaseStatus, TokenPurchase
from . import purchases, stripe_api, stripe_cache, subscriptions
from .errors import NotFound, PaymentProviderUnavailable

SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")
SESSION = "checkout.session"


@dataclass(frozen=True)
class Outcome:
    """What the payer sees: a purchase's state, or the Unlimited plan's."""

    kind: str
    purchase: TokenPurchase | None = None
    tokens: int = 0


def _session(session_id: str) -> dict:
    """The Checkout Session as Stripe said it within the last few seconds."""

    def fetch() -> stripe.checkout.Session:
        with stripe_api.reading("checkout session", session_id):
            return stripe_api.client().v1.checkout.sessions.retrieve(session_id)

    return stripe_cache.remembered(SESSION, session_id, fetch)


def confirm(user_id: int, session_id: str | None) -> Outcome:
    """Check a returning payer's Checkout Session with Stripe and settle it."""
    if not session_id or not SESSION_ID.match(session_id):
        raise NotFound("No such checkout.")
    purchase = db.session.execute(
        select(TokenPurchase.id).where(
            TokenPurchase.stripe_checkout_session_id == session_id, TokenPurchase.user_id == user_id
        )
    ).scalar()
    if purchase is not None:
        return refresh(user_id, purchase)
    session = _session(session_id)
    if stripe_api.field(session, "mode") != "subscription" or stripe_api.field(session, "client_reference_id") != str(
        user_id
    ):
        raise NotFound("No such checkout.")
    sub_id = stripe_api.object_id(stripe_api.field(session, "subscription"))
    subscription = subscriptions.fetch(sub_id) if sub_id else None
    if subscription is not None:
        with write_transaction() as tx:
            subscriptions.apply(tx, subscription)
    active = subscription is not None and subscription.status in subscriptions.UNLIMITED_STATES
    return Outcome("unlimited" if active else PurchaseStatus.PENDING)


def _has_news(session: dict) -> bool:
    """Whether Stripe's session says something a pending purchase has not recorded yet."""
    return stripe_api.field(session, "payment_status") == "paid" or stripe_api.field(session, "status") == "expired"


def refresh(user_id: int, purchase_id: int) -> Outcome:
    """The owner's purchase, re-checked with Stripe (cached) while it is still pending."""
    purchase = purchases.purchase_for_owner(user_id, purchase_id)
    if purchase.status == PurchaseStatus.PENDING and purchase.stripe_checkout_session_id:
        session = _session(purchase.stripe_checkout_session_id)
        if _has_news(session):
            with write_transaction() as tx:
                purchases.apply_session(tx, session)
            db.session.expire_all()
            purchase = purchases.purchase_for_owner(user_id, purchase_id)
    return Outcome(purchase.status, purchase, purchase.tokens_granted)


def cancellable(user_id: int, purchase_id: int | None) -> TokenPurchase | None:
    """The owner's purchase whose checkout is still open to cancel, if any (reads only)."""
    if purchase_id is None:
        return None
    purchase = purchases.purchase_for_owner(user_id, purchase_id)
    return purchase if purchase.status == PurchaseStatus.PENDING and purchase.stripe_checkout_session_id else None


def cancel(user_id: int, purchase_id: int) -> None:
    """Close the purchase's Checkout Session for good, so it cannot be paid later (a POST)."""
    purchase = cancellable(user_id, purchase_id)
    if purchase is None or purchase.stripe_checkout_session_id is None:
        return
    session_id = purchase.stripe_checkout_session_id
    try:
        expired = stripe_api.client().v1.checkout.sessions.expire(session_id)
    except stripe.InvalidRequestError:  # already paid or expired: record what Stripe says instead
        with stripe_api.reading("checkout session", session_id):
            expired = stripe_api.client().v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as error:
        raise PaymentProviderUnavailable(stripe_api.PROVIDER_BUSY) from error
    session = stripe_cache.remember(SESSION, session_id, expired)
    with write_transaction() as tx:
        purchases.apply_session(tx, session)
