"""The Unlimited plan: a monthly Stripe subscription that switches charging off.

The account is unlimited while any of the user's subscriptions is active (or
trialing). Webhooks only name a subscription; its state is always read back
from Stripe, so events that arrive late or out of order change nothing.
"""

from datetime import UTC, datetime
from typing import cast

import stripe
from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import write_transaction
from ..digits import id_or_none
from ..extensions import db
from ..models import Subscription, SubscriptionStatus, User
from ..models._types import utcnow
from . import catalog, stripe_api
from .errors import PaymentsUnavailable
from .ledger import writer
from .purchases import success_url
from .sql import insert_ignoring_conflicts

UNLIMITED_STATES = {SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING}


def _ensure_customer(user: User) -> str:
    if user.stripe_customer_id:
        return user.stripe_customer_id
    with stripe_api.errors("customers.create"):
        customer = stripe_api.client().v1.customers.create(
            params={"email": user.email, "metadata": {"user_id": str(user.id)}},
            options={"idempotency_key": f"tokenapp-customer-{user.id}"},
        )
    with write_transaction():
        db.session.get_one(User, user.id).stripe_customer_id = customer.id
    return customer.id


def start_checkout(user: User) -> str:
    """Open a subscription-mode Checkout Session for Unlimited; return its url."""
    plan = catalog.active_plan()
    if plan is None or not plan.stripe_price_id:
        raise PaymentsUnavailable("The Unlimited plan is not on sale yet (run `flask stripe-setup`).")
    customer = _ensure_customer(user)
    metadata = {"user_id": str(user.id), "plan_key": plan.key}
    with stripe_api.errors("checkout.sessions.create"):
        session = stripe_api.client().v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer,
                "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
                "client_reference_id": str(user.id),
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
                "success_url": success_url(),
                "cancel_url": current_app.config["APP_BASE_URL"] + url_for("payments.cancel"),
            }
        )
    return cast(str, session.url)  # a hosted Checkout Session always has one


def fetch(subscription_id: str) -> stripe.Subscription:
    """The subscription as Stripe has it now."""
    with stripe_api.reading("subscription", subscription_id):
        return stripe_api.client().v1.subscriptions.retrieve(subscription_id)


def invoice_subscription_id(invoice) -> str | None:
    """The subscription an invoice bills, in old and new API shapes."""
    direct = stripe_api.object_id(stripe_api.field(invoice, "subscription"))
    parent = stripe_api.field(stripe_api.field(invoice, "parent", {}), "subscription_details", {})
    return direct or stripe_api.object_id(stripe_api.field(parent, "subscription"))


def _owner(subscription) -> int | None:
    user_id = id_or_none(stripe_api.field(stripe_api.field(subscription, "metadata", {}), "user_id"))
    if user_id is not None and db.session.get(User, user_id) is not None:
        return user_id
    customer = stripe_api.object_id(stripe_api.field(subscription, "customer"))
    return db.session.execute(select(User.id).where(User.stripe_customer_id == customer)).scalar() if customer else None


def _period_end(subscription) -> datetime | None:
    end = stripe_api.field(subscription, "current_period_end")
    if end is None:
        items = stripe_api.field(stripe_api.field(subscription, "items", {}), "data", [])
        end = stripe_api.field(items[0], "current_period_end") if items else None
    return datetime.fromtimestamp(int(end), UTC) if end else None


def apply(tx: Session, subscription) -> int | None:
    """Store in `tx` Stripe's view of a subscription and set the owner's Unlimited flag; return the owner."""
    user_id = _owner(subscription)
    if user_id is None:
        return None
    # Insert-if-missing, then lock: the webhook and the success page may both arrive first.
    tx.execute(
        insert_ignoring_conflicts(
            Subscription,
            {
                "id": subscription["id"],
                "user_id": user_id,
                "plan_key": "unlimited",
                "status": SubscriptionStatus.INCOMPLETE,
                "updated_at": utcnow(),
            },
        )
    )
    row = tx.get_one(Subscription, subscription["id"], with_for_update=True, populate_existing=True)
    row.status = stripe_api.field(subscription, "status", SubscriptionStatus.INCOMPLETE)
    row.cancel_at_period_end = bool(stripe_api.field(subscription, "cancel_at_period_end", False))
    row.current_period_end = _period_end(subscription)
    row.updated_at = utcnow()
    tx.flush()
    active = (
        tx.execute(
            select(Subscription.id).where(Subscription.user_id == user_id, Subscription.status.in_(UNLIMITED_STATES))
        ).first()
        is not None
    )
    writer.set_unlimited(tx, user_id, active)
    return user_id


def current(user_id: int) -> Subscription | None:
    """The user's newest subscription, if any."""
    return (
        db.session.execute(
            select(Subscription).where(Subscription.user_id == user_id).order_by(Subscription.updated_at.desc())
        )
        .scalars()
        .first()
    )
