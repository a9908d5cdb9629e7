"""Subscriptions and their Invoices: creation from Checkout, renewal, failure, cancel."""

from .api import route
from .errors import state_error
from .params import merge_metadata
from .state import snapshot_fields
from .util import add_interval, new_id

PERIOD_FIELDS = ("current_period_start", "current_period_end")


def new_subscription(state, customer_id: str, items: list, metadata: dict, status: str) -> dict:
    """Store a Subscription for `items` [(price, quantity)], its period starting now."""
    start = state.now()
    end = period_end(items[0][0], start)
    sub_id = new_id("sub")
    data = [
        {
            "id": new_id("si", 14),
            "object": "subscription_item",
            "created": start,
            "current_period_start": start,
            "current_period_end": end,
            "metadata": {},
            "price": dict(price),
            "quantity": quantity,
            "subscription": sub_id,
        }
        for price, quantity in items
    ]
    return state.add(
        {
            "id": sub_id,
            "object": "subscription",
            "application": None,
            "billing_cycle_anchor": start,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": start,
            "currency": items[0][0]["currency"],
            "current_period_start": start,
            "current_period_end": end,
            "customer": customer_id,
            "default_payment_method": None,
            "description": None,
            "ended_at": None,
            "items": {
                "object": "list",
                "data": data,
                "has_more": False,
                "total_count": len(data),
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": metadata,
            "start_date": start,
            "status": status,
            "trial_end": None,
            "trial_start": None,
        }
    )


def period_end(price: dict, start: int) -> int:
    """When the period that starts at `start` ends, by the price's interval."""
    recurring = price["recurring"]
    return add_interval(start, recurring["interval"], recurring["interval_count"])


def new_invoice(state, sub: dict, reason: str, paid: bool) -> dict:
    """Store an Invoice for the subscription's current period; paid, or open after a failure."""
    invoice_id, now = new_id("in"), state.now()
    lines = [invoice_line(invoice_id, sub, item) for item in sub["items"]["data"]]
    total = sum(line["amount"] for line in lines)
    customer = state.find(sub["customer"]) or {}
    invoice = state.add(
        {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "amount_due": total,
            "amount_paid": total if paid else 0,
            "amount_remaining": 0 if paid else total,
            "attempt_count": 1,
            "attempted": True,
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": sub["currency"],
            "customer": sub["customer"],
            "customer_email": customer.get("email"),
            "hosted_invoice_url": None,
            "lines": {
                "object": "list",
                "data": lines,
                "has_more": False,
                "total_count": len(lines),
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "metadata": {},
            "number": f"{new_id('X', 8)[2:].upper()}-0001",
            "paid": paid,
            "parent": {
                "quote_details": None,
                "type": "subscription_details",
                "subscription_details": {"metadata": dict(sub["metadata"]), "subscription": sub["id"]},
            },
            "period_start": sub["current_period_start"],
            "period_end": sub["current_period_end"],
            "status": "paid" if paid else "open",
            "status_transitions": {
                "finalized_at": now,
                "marked_uncollectible_at": None,
                "paid_at": now if paid else None,
                "voided_at": None,
            },
            "subscription": sub["id"],
            "subtotal": total,
            "total": total,
        }
    )
    sub["latest_invoice"] = invoice_id
    return invoice


def invoice_line(invoice_id: str, sub: dict, item: dict) -> dict:
    """One invoice line for a subscription item's current period."""
    price = item["price"]
    return {
        "id": new_id("il", 24),
        "object": "line_item",
        "amount": price["unit_amount"] * item["quantity"],
        "currency": price["currency"],
        "description": f"{item['quantity']} × {price.get('nickname') or price['product']}",
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "subscription": sub["id"],
                "subscription_item": item["id"],
                "proration": False,
                "invoice_item": None,
            },
        },
        "period": {"start": sub["current_period_start"], "end": sub["current_period_end"]},
        "pricing": {
            "type": "price_details",
            "unit_amount_decimal": str(price["unit_amount"]),
            "price_details": {"price": price["id"], "product": price["product"]},
        },
        "quantity": item["quantity"],
    }


def pay_invoice(state, invoice: dict) -> None:
    """Mark an open invoice paid and emit invoice.paid."""
    invoice.update(status="paid", paid=True, amount_paid=invoice["amount_due"], amount_remaining=0)
    invoice["status_transitions"]["paid_at"] = state.now()
    state.emit("invoice.paid", invoice)


def advance_period(state, sub: dict) -> None:
    """Move the subscription (and its items) on to the next period."""
    start = sub["current_period_end"]
    end = period_end(sub["items"]["data"][0]["price"], start)
    sub.update(current_period_start=start, current_period_end=end)
    for item in sub["items"]["data"]:
        item.update(current_period_start=start, current_period_end=end)


def renew(state, sub: dict) -> dict:
    """A successful renewal: pay the open invoice, or start and pay the next period."""
    require_live(sub)
    latest = state.find(sub["latest_invoice"])
    if latest and latest["status"] == "open":
        previous = snapshot_fields(sub, "status")
        pay_invoice(state, latest)
    elif sub["cancel_at_period_end"]:
        return cancel(state, sub, at=sub["current_period_end"])
    else:
        previous = snapshot_fields(sub, *PERIOD_FIELDS, "latest_invoice")
        advance_period(state, sub)
        state.emit("invoice.paid", new_invoice(state, sub, "subscription_cycle", paid=True))
    sub["status"] = "active"
    state.emit("customer.subscription.updated", sub, previous)
    return sub


def fail_payment(state, sub: dict) -> dict:
    """A failed renewal: the next period's invoice stays open, the subscription goes past_due."""
    require_live(sub)
    previous = snapshot_fields(sub, "status", *PERIOD_FIELDS, "latest_invoice")
    latest = state.find(sub["latest_invoice"])
    if latest and latest["status"] == "open":
        latest["attempt_count"] += 1
    else:
        advance_period(state, sub)
        latest = new_invoice(state, sub, "subscription_cycle", paid=False)
    state.emit("invoice.payment_failed", latest)
    sub["status"] = "past_due"
    state.emit("customer.subscription.updated", sub, previous)
    return sub


def cancel(state, sub: dict, at: int | None = None) -> dict:
    """End the subscription now (or at `at`) and emit customer.subscription.deleted."""
    require_live(sub)
    now = state.now()
    sub.update(status="canceled", canceled_at=sub["canceled_at"] or now, ended_at=at or now)
    sub["cancellation_details"]["reason"] = "cancellation_requested"
    state.emit("customer.subscription.deleted", sub)
    return sub


def require_live(sub: dict) -> None:
    """400 if the subscription is already canceled."""
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise state_error("A canceled subscription can only update its cancellation_details and metadata.")


@route("/v1/subscriptions/<sub_id>")
def retrieve_subscription(state, params, sub_id):
    """GET /v1/subscriptions/:id."""
    return state.get("subscription", sub_id)


@route("/v1/subscriptions/<sub_id>", ["POST"], {"cancel_at_period_end": "bool", "metadata": "meta"})
def update_subscription(state, params, sub_id):
    """POST /v1/subscriptions/:id: cancel_at_period_end and metadata."""
    sub = state.get("subscription", sub_id)
    previous = snapshot_fields(sub, *params, *(["cancel_at"] if params else []))
    if "cancel_at_period_end" in params:
        require_live(sub)
        flag = params["cancel_at_period_end"]
        sub.update(
            cancel_at_period_end=flag,
            cancel_at=sub["current_period_end"] if flag else None,
            canceled_at=state.now() if flag else None,
        )
    sub["metadata"] = merge_metadata(sub["metadata"], params.get("metadata"))
    state.emit("customer.subscription.updated", sub, previous)
    return sub


@route("/v1/subscriptions/<sub_id>", ["DELETE"], {"invoice_now": "bool", "prorate": "bool"})
def cancel_subscription(state, params, sub_id):
    """DELETE /v1/subscriptions/:id: cancel at once."""
    return cancel(state, state.get("subscription", sub_id))


@route("/v1/invoices/<invoice_id>")
def retrieve_invoice(state, params, invoice_id):
    """GET /v1/invoices/:id."""
    return state.get("invoice", invoice_id)
