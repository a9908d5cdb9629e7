"""Stripe webhooks: verify, store by event id, act, all in one transaction.

A verified event is inserted into `stripe_events` (its id is the primary key)
in the same transaction as its effects, so a duplicate is a no-op decided by
the database, and a failure rolls everything back: the failure is then
recorded on its own, the answer is 500, and Stripe's retry processes the
event afresh. Anything fetched from Stripe is fetched before the transaction.
"""

import json

import stripe
from flask import current_app
from sqlalchemy import update

from ..database import write_transaction
from ..extensions import db
from ..models import StripeEvent
from ..models._types import utcnow
from . import purchases, stripe_api, subscriptions
from .errors import InvalidWebhook, NotFound, WebhookProcessingFailed
from .sql import insert_ignoring_conflicts

SESSION_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.expired"}
SUBSCRIPTION_EVENTS = {"customer.subscription.created", "customer.subscription.updated",
                       "customer.subscription.deleted", "invoice.paid", "invoice.payment_failed"}
DISPUTE_EVENTS = {"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
                  "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated"}


def verify(payload: bytes, signature: str | None) -> dict:
    """The event, if the Stripe-Signature header proves it came from Stripe."""
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    try:
        stripe.Webhook.construct_event(payload, signature or "", secret)
        event = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError) as error:
        raise InvalidWebhook(f"Webhook refused: {error}") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or "type" not in event:
        raise InvalidWebhook("Webhook refused: not a Stripe event.")
    return event


def process(event: dict, *, replay: bool = False) -> bool:
    """Act on a verified event once; False when it was already processed."""
    try:
        context = _prefetch(event["type"], event["data"]["object"])
        with write_transaction():
            if not _claim(event, replay):
                return False
            _dispatch(event["type"], event["data"]["object"], context)
            db.session.execute(update(StripeEvent).where(StripeEvent.id == event["id"])
                               .values(status="processed", processed_at=utcnow()))
    except Exception as error:  # noqa: BLE001 - every failure is recorded and retried by Stripe
        current_app.logger.exception("stripe event %s (%s) failed", event.get("id"), event.get("type"))
        _record_failure(event, error)
        raise WebhookProcessingFailed("The event could not be processed; Stripe will retry it.") from error
    return True


def replay(event_id: str) -> bool:
    """Process a stored event again (after a failure, or to re-check its state)."""
    stored = db.session.get(StripeEvent, event_id)
    if stored is None:
        raise NotFound(f"No stored Stripe event {event_id}.")
    return process(stored.payload, replay=True)


def _claim(event: dict, replay: bool) -> bool:
    row = {"id": event["id"], "type": str(event["type"])[:100], "payload": event, "status": "processing",
           "received_at": utcnow()}
    if db.session.execute(insert_ignoring_conflicts(StripeEvent, row).returning(StripeEvent.id)).scalar():
        return True
    retryable = ["failed", "processed"] if replay else ["failed"]
    return db.session.execute(
        update(StripeEvent).where(StripeEvent.id == event["id"], StripeEvent.status.in_(retryable))
        .values(status="processing", error=None).returning(StripeEvent.id)
    ).scalar() is not None


def _record_failure(event: dict, error: Exception) -> None:
    message = f"{type(error).__name__}: {error}"[:2000]
    with write_transaction():
        db.session.execute(insert_ignoring_conflicts(StripeEvent, {
            "id": event["id"], "type": str(event.get("type"))[:100], "payload": event,
            "status": "failed", "error": message, "received_at": utcnow()}))
        db.session.execute(update(StripeEvent).where(StripeEvent.id == event["id"], StripeEvent.status != "processed")
                           .values(status="failed", error=message))


def _prefetch(event_type: str, obj: dict) -> dict:
    """Read from Stripe what the event names but does not carry, before any lock is taken."""
    client = stripe_api.client()
    if event_type in SUBSCRIPTION_EVENTS:
        sub_id = obj["id"] if event_type.startswith("customer.") else subscriptions.invoice_subscription_id(obj)
        return {"subscription": subscriptions.fetch(sub_id) if sub_id else None}
    if event_type in SESSION_EVENTS and stripe_api.field(obj, "mode") == "subscription":
        sub_id = stripe_api.object_id(stripe_api.field(obj, "subscription"))
        return {"subscription": subscriptions.fetch(sub_id) if sub_id else None}
    if event_type == "charge.refunded" or event_type in DISPUTE_EVENTS:
        intent_id = stripe_api.object_id(stripe_api.field(obj, "payment_intent"))
        if intent_id is None and stripe_api.field(obj, "charge"):
            charge = client.v1.charges.retrieve(stripe_api.object_id(obj["charge"]))
            intent_id = stripe_api.object_id(charge.payment_intent)
        intent = client.v1.payment_intents.retrieve(intent_id) if intent_id else None
        return {"intent_id": intent_id, "metadata": intent.metadata if intent else {}}
    return {}


def _dispatch(event_type: str, obj: dict, context: dict) -> None:
    if "subscription" in context:
        if context["subscription"] is not None:
            subscriptions.apply(context["subscription"])
    elif event_type in SESSION_EVENTS:
        purchases.apply_session(obj)
    elif event_type == "checkout.session.async_payment_failed":
        purchases.record_async_failure(obj)
    elif event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        purchases.apply_payment_intent(obj)
    elif event_type == "charge.refunded":
        purchases.apply_charge({**obj, "payment_intent": context["intent_id"]}, context["metadata"])
    elif event_type in DISPUTE_EVENTS:
        purchases.apply_dispute({**obj, "payment_intent": context["intent_id"]}, context["metadata"])
