"""Stripe webhooks: verify, check, store by event id, act, all in one transaction.

A verified event is inserted into `stripe_events` (its id is the primary key)
in the same transaction as its effects, so a duplicate is a no-op decided by
the database, and a failure rolls everything back: the failure is then
recorded on its own, the answer is 500, and Stripe's retry processes the
event afresh. Anything fetched from Stripe is fetched before the transaction.

The event body is only a pointer. What an event's object is worth (paid or
not, how much, refunded, disputed) is read back from Stripe through the SDK,
and an event that claims more than Stripe says (paid while Stripe says
unpaid, another amount) is an alert, never a credit.

Three answers, chosen by class:
- 400, nothing stored: the signature does not check out (wrong, missing,
  older than 5 minutes, or dated more than 5 minutes ahead).
- 400, stored as `rejected` with the reason: correctly signed but malformed
  (not JSON, missing fields, wrong types, NUL bytes or lone surrogates, ids
  Stripe does not know) or contradicted by Stripe. Retrying cannot help.
- 500, stored as `failed`: processing failed for a reason a retry can cure
  (database or Stripe unreachable, a bug fixed since); Stripe retries it.
"""

import hashlib
import json
import re
import time
from typing import cast

import stripe
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..database import write_transaction
from ..extensions import db
from ..models import StripeEvent, StripeEventStatus
from ..models._types import utcnow
from . import purchases, stripe_api, stripe_cache, subscriptions
from .errors import InvalidWebhook, NotFound, RejectedWebhook, StripeObjectMissing, WebhookProcessingFailed
from .sql import insert_ignoring_conflicts

SIGNATURE_TOLERANCE = 300  # seconds a signature may be old (Stripe's default)
FUTURE_SKEW = 300  # seconds a signature or an event's `created` may be ahead of our clock
MAX_DEPTH = 32
EVENT_ID = re.compile(r"evt_[A-Za-z0-9_.-]{1,250}")
EVENT_TYPE = re.compile(r"[a-z_]{1,40}(\.[a-z_]{1,40}){0,5}")
OBJECT_ID = re.compile(r"[a-z]{2,8}_[A-Za-z0-9_]{1,250}")

SESSION_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.expired"}
SUBSCRIPTION_EVENTS = {
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
}
DISPUTE_EVENTS = {
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
}
OBJECT_KINDS = {
    **{t: "checkout.session" for t in SESSION_EVENTS | {"checkout.session.async_payment_failed"}},
    **{t: "subscription" for t in SUBSCRIPTION_EVENTS if t.startswith("customer.")},
    **{t: "invoice" for t in SUBSCRIPTION_EVENTS if t.startswith("invoice.")},
    **{t: "dispute" for t in DISPUTE_EVENTS},
    "payment_intent.succeeded": "payment_intent",
    "payment_intent.payment_failed": "payment_intent",
    "charge.refunded": "charge",
}


def receive(payload: bytes, signature: str | None) -> bool:
    """Verify, check, store and act on one delivery; False when it was already processed."""
    text = verify(payload, signature)
    try:
        event = parse(text)
    except RejectedWebhook as rejection:
        _record_rejection(_stand_in_id(text), "unparsed", {"raw": _printable(text[:20_000])}, rejection)
        raise
    return process(event)


def verify(payload: bytes, signature: str | None) -> str:
    """The body as text, if the Stripe-Signature header proves Stripe sent it just now."""
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    try:
        stripe.WebhookSignature.verify_header(payload, signature or "", secret, SIGNATURE_TOLERANCE)
        text = payload.decode("utf-8")
    except (ValueError, stripe.SignatureVerificationError) as error:
        raise InvalidWebhook(f"Webhook refused: {error}") from None
    if _signed_at(signature or "") > time.time() + FUTURE_SKEW:
        raise InvalidWebhook("Webhook refused: the signature is dated in the future.")
    return text


def parse(text: str) -> dict:
    """The event in a verified body, or RejectedWebhook saying what is wrong with it."""
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        raise RejectedWebhook("Webhook rejected: the body is not JSON.") from None
    problem = _shape_problem(event)
    if problem:
        rejection = RejectedWebhook(f"Webhook rejected: {problem}.")
        rejection.event = event
        raise rejection
    return event


def process(event: dict, *, replay: bool = False) -> bool:
    """Act on a checked event once; False when it was already processed."""
    if not replay and _already_processed(event["id"]):
        return False
    try:
        context = _prefetch(event)
        with write_transaction() as tx:
            if not _claim(tx, event, replay):
                return False
            _dispatch(tx, event["type"], context)
            tx.execute(
                update(StripeEvent)
                .where(StripeEvent.id == event["id"])
                .values(status=StripeEventStatus.PROCESSED, processed_at=utcnow())
            )
    except (RejectedWebhook, StripeObjectMissing) as error:  # permanent: the event itself is wrong
        rejection = (
            error if isinstance(error, RejectedWebhook) else RejectedWebhook(f"Webhook rejected: {error.message}")
        )
        _record_rejection(event["id"], event["type"], event, rejection)
        raise rejection from None
    except Exception as error:  # transient or a bug: recorded, and Stripe retries
        current_app.logger.exception("stripe event %s (%s) failed", event.get("id"), event.get("type"))
        _record_failure(event, error)
        raise WebhookProcessingFailed("The event could not be processed; Stripe will retry it.") from error
    return True


def replay(event_id: str) -> bool:
    """Process a stored event again (after a failure, or to re-check its state)."""
    stored = db.session.get(StripeEvent, event_id)
    if stored is None or not stored.id.startswith("evt_"):
        raise NotFound(f"No stored Stripe event {event_id}.")
    event = stored.payload
    problem = _shape_problem(event)
    if problem:
        raise RejectedWebhook(f"Webhook rejected: {problem}.")
    return process(event, replay=True)


def _signed_at(signature: str) -> int:
    """The `t=` of a header that verified (read the way stripe-python reads it)."""
    parts = [item.split("=", 2) for item in signature.split(",")]
    return int(next(part[1] for part in parts if part[0] == "t"))


def _shape_problem(event) -> str | None:
    """What makes a signed body unusable as an event, or None."""
    if not isinstance(event, dict):
        return "not a JSON object"
    if not isinstance(event.get("id"), str) or not EVENT_ID.fullmatch(event["id"]):
        return "no event id of the form evt_…"
    if not isinstance(event.get("type"), str) or not EVENT_TYPE.fullmatch(event["type"]):
        return "no event type"
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        return "no data.object"
    unsafe = _unsafe_text(event)
    if unsafe:
        return unsafe
    created = event.get("created")
    if created is not None and (type(created) is not int or created > time.time() + FUTURE_SKEW):
        return "`created` is not a time, or is in the future"
    kind = OBJECT_KINDS.get(event["type"])
    obj = data["object"]
    if kind and (obj.get("object") != kind or not isinstance(obj.get("id"), str) or not OBJECT_ID.fullmatch(obj["id"])):
        return f"data.object is not a {kind} with a Stripe id"
    return None


def _unsafe_text(value) -> str | None:
    """A reason if any string holds a NUL or a lone surrogate, or nesting is too deep; else None."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "nested too deeply"
        if isinstance(item, dict):
            stack.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, list):
            stack.extend((part, depth + 1) for part in item)
        elif isinstance(item, str) and ("\x00" in item or not _encodable(item)):
            return "a string holds a NUL byte or a lone surrogate"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    """Text PostgreSQL can store: NULs and lone surrogates written out as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _stand_in_id(text: str) -> str:
    """A stable id for a body that has none we can use, so its redeliveries share one row."""
    return "unparsed_" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _already_processed(event_id: str) -> bool:
    """A cheap early answer for duplicates; the claim below stays the authority."""
    return (
        db.session.execute(select(StripeEvent.status).where(StripeEvent.id == event_id)).scalar()
        == StripeEventStatus.PROCESSED
    )


def _claim(tx: Session, event: dict, replay: bool) -> bool:
    row = {
        "id": event["id"],
        "type": str(event["type"])[:100],
        "payload": event,
        "status": StripeEventStatus.PROCESSING,
        "received_at": utcnow(),
    }
    if tx.execute(insert_ignoring_conflicts(StripeEvent, row).returning(StripeEvent.id)).scalar():
        return True
    retryable = [StripeEventStatus.FAILED, StripeEventStatus.REJECTED]
    if replay:
        retryable.append(StripeEventStatus.PROCESSED)
    return (
        tx.execute(
            update(StripeEvent)
            .where(StripeEvent.id == event["id"], StripeEvent.status.in_(retryable))
            .values(status=StripeEventStatus.PROCESSING, error=None)
            .returning(StripeEvent.id)
        ).scalar()
        is not None
    )


def _record(event_id: str, event_type: str, payload: dict, status: StripeEventStatus, message: str) -> None:
    """Store the outcome of an event that was not processed (never over a processed one)."""
    with write_transaction():
        db.session.execute(
            insert_ignoring_conflicts(
                StripeEvent,
                {
                    "id": event_id,
                    "type": _printable(event_type)[:100],
                    "payload": payload,
                    "status": status,
                    "error": message,
                    "received_at": utcnow(),
                },
            )
        )
        db.session.execute(
            update(StripeEvent)
            .where(StripeEvent.id == event_id, StripeEvent.status != StripeEventStatus.PROCESSED)
            .values(status=status, error=message)
        )


def _record_failure(event: dict, error: Exception) -> None:
    _record(
        event["id"],
        str(event.get("type")),
        event,
        StripeEventStatus.FAILED,
        _printable(f"{type(error).__name__}: {error}")[:2000],
    )


def _record_rejection(event_id: str, event_type: str, payload: dict, rejection: RejectedWebhook) -> None:
    current_app.logger.warning("stripe event %s rejected: %s", event_id, rejection.message)
    event = getattr(rejection, "event", None)
    usable = isinstance(event, dict) and _unsafe_text(event) is None
    if event is not None:
        payload = event if usable else {"raw": payload.get("raw", "")}
        if usable and isinstance(event.get("id"), str) and EVENT_ID.fullmatch(event["id"]):
            event_id, event_type = event["id"], str(event.get("type"))
    _record(event_id, event_type, payload, StripeEventStatus.REJECTED, _printable(rejection.message)[:2000])


def _retrieve(kind: str, object_id: str):
    """Stripe's object as it is now, as plain data."""
    client = stripe_api.client().v1
    fetch = {
        "checkout.session": client.checkout.sessions.retrieve,
        "payment_intent": client.payment_intents.retrieve,
        "charge": client.charges.retrieve,
        "dispute": client.disputes.retrieve,
        "invoice": client.invoices.retrieve,
        "subscription": client.subscriptions.retrieve,
    }[kind]
    with stripe_api.reading(kind.replace(".", " "), object_id):
        found = stripe_api.as_dict(fetch(object_id))
    if kind == "checkout.session":
        stripe_cache.remember(kind, object_id, found)
    return found


def _prefetch(event: dict) -> dict:
    """Read from Stripe the object the event names (and what it points to), before any lock is taken."""
    kind = OBJECT_KINDS.get(event["type"])
    if kind is None:
        return {}
    claimed = event["data"]["object"]
    actual = _retrieve(kind, claimed["id"])
    _check_agreement(event, kind, claimed, actual)
    field, object_id = stripe_api.field, stripe_api.object_id
    if kind == "subscription":
        return {"subscription": actual}
    if kind == "invoice":
        sub_id = subscriptions.invoice_subscription_id(actual)
        return {"subscription": _retrieve("subscription", sub_id) if sub_id else None}
    if kind == "checkout.session" and field(actual, "mode") == "subscription":
        sub_id = object_id(field(actual, "subscription"))
        return {"subscription": _retrieve("subscription", sub_id) if sub_id else None}
    if kind in ("checkout.session", "payment_intent"):
        return {kind: actual}
    intent_id = object_id(field(actual, "payment_intent"))
    if intent_id is None and kind == "dispute" and field(actual, "charge"):
        charge_id = cast(str, object_id(actual["charge"]))  # set: field() found it
        intent_id = object_id(field(_retrieve("charge", charge_id), "payment_intent"))
    intent = _retrieve("payment_intent", intent_id) if intent_id else None
    return {kind: {**actual, "payment_intent": intent_id}, "metadata": field(intent, "metadata", {})}


def _claims_more(kind: str, claimed: dict, actual: dict) -> list[str]:
    """Where the event body says more than Stripe does, in fields that never move back."""
    same = {
        "checkout.session": ("amount_total", "currency", "mode", "client_reference_id"),
        "payment_intent": ("amount", "currency"),
        "charge": ("amount", "currency"),
        "dispute": ("currency",),
    }
    grows = {"payment_intent": ("amount_received",), "charge": ("amount_refunded",)}
    final: dict[str, dict[str, tuple[object, ...]]] = {
        "checkout.session": {"payment_status": ("paid",), "status": ("complete", "expired")},
        "payment_intent": {"status": ("succeeded",)},
        "charge": {"status": ("succeeded",), "paid": (True,)},
    }
    lies = [name for name in same.get(kind, ()) if name in claimed and claimed[name] != actual.get(name)]
    lies += [
        name
        for name in grows.get(kind, ())
        if name in claimed and not (type(claimed[name]) is int and claimed[name] <= (actual.get(name) or 0))
    ]
    lies += [
        name
        for name, values in final.get(kind, {}).items()
        if claimed.get(name) in values and actual.get(name) != claimed[name]
    ]
    return lies


def _check_agreement(event: dict, kind: str, claimed: dict, actual: dict) -> None:
    """Refuse, with an alert, an event whose body claims more than Stripe's own object."""
    lies = _claims_more(kind, claimed, actual)
    if not lies:
        return
    detail = ", ".join(f"{name}: event {claimed.get(name)!r}, Stripe {actual.get(name)!r}" for name in lies)
    current_app.logger.error(
        "payment alert: event disagrees with Stripe (event %s, %s %s: %s)",
        event["id"],
        kind,
        claimed["id"],
        _printable(detail),
    )
    raise RejectedWebhook(f"Webhook rejected: the event disagrees with Stripe ({detail[:500]}).")


def _dispatch(tx: Session, event_type: str, context: dict) -> None:
    if "subscription" in context:
        if context["subscription"] is not None:
            subscriptions.apply(tx, context["subscription"])
    elif event_type in SESSION_EVENTS:
        purchases.apply_session(tx, context["checkout.session"])
    elif event_type == "checkout.session.async_payment_failed":
        session = context["checkout.session"]
        if stripe_api.field(session, "payment_status") == "paid":
            purchases.apply_session(tx, session)
        else:
            purchases.record_async_failure(tx, session)
    elif event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        purchases.apply_payment_intent(tx, context["payment_intent"])
    elif event_type == "charge.refunded":
        purchases.apply_charge(tx, context["charge"], context["metadata"])
    elif event_type in DISPUTE_EVENTS:
        purchases.apply_dispute(tx, context["dispute"], context["metadata"])
