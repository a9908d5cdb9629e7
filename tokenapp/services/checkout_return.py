"""What the success page and its poll do: ask Stripe, record, report.

The payer's browser may come back before the webhook arrives (or the
webhook may never come). Reading the session from Stripe here and handing it
to the same idempotent code the webhook uses means whichever comes first
credits the purchase, and the other finds nothing left to do.
"""

import re
from dataclasses import dataclass

import stripe

from sqlalchemy import select

from ..database import write_transaction
from ..extensions import db
from ..models import TokenPurchase
from . import purchases, stripe_api, subscriptions
from .errors import NotFound

SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")


@dataclass(frozen=True)
class Outcome:
    """What the payer sees: a purchase's state, or the Unlimited plan's."""

    kind: str
    purchase: TokenPurchase | None = None
    tokens: int = 0


def _retrieve(session_id: str):
    return stripe_api.call("checkout.sessions.retrieve", stripe_api.client().v1.checkout.sessions.retrieve, session_id)


def confirm(user_id: int, session_id: str | None) -> Outcome:
    """Check a returning payer's Checkout Session with Stripe and settle it."""
    if not session_id or not SESSION_ID.match(session_id):
        raise NotFound("No such checkout.")
    purchase = db.session.execute(select(TokenPurchase.id).where(
        TokenPurchase.stripe_checkout_session_id == session_id, TokenPurchase.user_id == user_id)).scalar()
    if purchase is not None:
        return refresh(user_id, purchase)
    session = _retrieve(session_id)
    if session.mode != "subscription" or session.client_reference_id != str(user_id):
        raise NotFound("No such checkout.")
    sub_id = stripe_api.object_id(session.subscription)
    subscription = subscriptions.fetch(sub_id) if sub_id else None
    if subscription is not None:
        with write_transaction():
            subscriptions.apply(subscription)
    active = subscription is not None and subscription.status in subscriptions.UNLIMITED_STATES
    return Outcome("unlimited" if active else "pending")


def refresh(user_id: int, purchase_id: int) -> Outcome:
    """The owner's purchase, re-checked with Stripe while it is still pending."""
    purchase = purchases.purchase_for_owner(user_id, purchase_id)
    if purchase.status == "pending" and purchase.stripe_checkout_session_id:
        session = _retrieve(purchase.stripe_checkout_session_id)
        with write_transaction():
            purchases.apply_session(session)
        db.session.expire_all()
        purchase = purchases.purchase_for_owner(user_id, purchase_id)
    return Outcome(purchase.status, purchase, purchase.tokens_granted)


def cancel(user_id: int, purchase_id: int | None) -> None:
    """The payer left Checkout: expire the session so it cannot be paid later."""
    if purchase_id is None:
        return
    purchase = purchases.purchase_for_owner(user_id, purchase_id)
    if purchase.status != "pending" or not purchase.stripe_checkout_session_id:
        return
    try:
        session = stripe_api.client().v1.checkout.sessions.expire(purchase.stripe_checkout_session_id)
    except stripe.StripeError:  # already paid or expired: its webhook will say so
        return
    with write_transaction():
        purchases.apply_session(session)
