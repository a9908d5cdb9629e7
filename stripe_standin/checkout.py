"""Checkout Sessions over the API: create, retrieve (line_items), list, expire."""

from flask import request

from .api import includable, route
from .errors import StripeError, invalid, missing
from .listing import LIST_SPEC, list_object, paginate
from .util import format_amount, new_id

LINE_ITEM = {"price": "str", "quantity": "int", "adjustable_quantity": "any"}
SESSION_SPEC = {
    "mode": "str",
    "line_items": [LINE_ITEM],
    "success_url": "str",
    "cancel_url": "str",
    "client_reference_id": "str",
    "customer_email": "str",
    "customer": "str",
    "metadata": "meta",
    "expires_at": "int",
    "payment_method_types": "strs",
    "locale": "str",
    "payment_intent_data": {"metadata": "meta", "description": "str", "receipt_email": "str"},
    "subscription_data": {"metadata": "meta", "description": "str"},
    "allow_promotion_codes": "bool",
    "customer_creation": "str",
    "ui_mode": "str",
    "submit_type": "str",
    "billing_address_collection": "str",
}


@route("/v1/checkout/sessions", ["POST"], SESSION_SPEC)
def create_session(state, params):
    """POST /v1/checkout/sessions (hosted mode; payment or subscription)."""
    mode = params.get("mode")
    if mode not in ("payment", "subscription"):
        raise missing("mode") if not mode else invalid("mode", f"Invalid mode: {mode}")
    items = line_items(state, params.get("line_items") or [], mode)
    check_session(state, params, items)
    session = state.add(new_session(state, params, items))
    state.private[session["id"]] = {
        "line_items": items,
        "pi_data": params.get("payment_intent_data", {}),
        "sub_data": params.get("subscription_data", {}),
    }
    return session


def line_items(state, entries: list, mode: str) -> list:
    """Checkout `item` objects for `line_items[]`, each price checked."""
    if not entries:
        raise missing("line_items")
    items = []
    for i, entry in enumerate(entries):
        name = f"line_items[{i}]"
        if not entry.get("price"):
            raise missing(f"{name}[price]")
        price = state.get("price", entry["price"], f"{name}[price]")
        if not price["active"]:
            raise invalid(f"{name}[price]", "The price specified is inactive. This field only accepts active prices.")
        if entry.get("quantity") is None:
            raise invalid(name, f"Quantity is required. Add `quantity` to `{name}`")
        if entry["quantity"] < 1:
            raise invalid(f"{name}[quantity]", "This value must be greater than or equal to 1.")
        items.append(new_item(state, price, entry["quantity"]))
    check_prices(mode, [item["price"] for item in items])
    return items


def new_item(state, price: dict, quantity: int) -> dict:
    """One Checkout line item."""
    product = state.find(price["product"]) or {}
    amount = price["unit_amount"] * quantity
    return {
        "id": new_id("li"),
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": price["currency"],
        "description": product.get("name", ""),
        "price": dict(price),
        "quantity": quantity,
    }


def check_prices(mode: str, prices: list) -> None:
    """Prices must share a currency, and be recurring exactly where the mode needs it."""
    if len({price["currency"] for price in prices}) > 1:
        raise invalid("line_items", "Checkout does not support multiple currencies.")
    recurring = [price for price in prices if price["type"] == "recurring"]
    if mode == "payment" and recurring:
        raise invalid(
            "mode",
            "You specified `payment` mode but passed a recurring price. "
            "Either switch to `subscription` mode or use only one-time prices.",
        )
    if mode == "subscription" and not recurring:
        raise invalid("mode", "You must provide at least one recurring price in `subscription` mode when using prices.")


def check_session(state, params: dict, items: list) -> None:
    """The remaining checks on a new session's parameters."""
    if params.get("customer") and params.get("customer_email"):
        raise StripeError(
            "You may only specify one of these parameters: customer, customer_email.", param="customer_email"
        )
    if params.get("customer"):
        state.get("customer", params["customer"], "customer")
    for name in ("success_url", "cancel_url"):
        if params.get(name) is not None and not params[name].startswith(("http://", "https://")):
            raise invalid(name, "Not a valid URL")
    total, currency = sum(i["amount_total"] for i in items), items[0]["currency"]
    if params["mode"] == "payment" and currency == "usd" and total < 50:
        raise invalid(
            "line_items",
            f"The Checkout Session's total amount due must add up to at least {format_amount(50, currency)} usd",
        )
    check_expiry(state, params.get("expires_at"))


def check_expiry(state, expires_at: int | None) -> None:
    """`expires_at` must fall 30 minutes to 24 hours after creation."""
    if expires_at is None:
        return
    if expires_at < state.now() + 30 * 60:
        raise invalid(
            "expires_at", "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation."
        )
    if expires_at > state.now() + 24 * 3600:
        raise invalid(
            "expires_at", "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation."
        )


def new_session(state, params: dict, items: list) -> dict:
    """A Checkout Session object with Stripe's fields, open and unpaid."""
    session_id, now, mode = new_id("cs_test", 58), state.now(), params["mode"]
    total = sum(item["amount_total"] for item in items)
    return {
        "id": session_id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": params.get("allow_promotion_codes"),
        "amount_subtotal": total,
        "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "client_secret": None,
        "created": now,
        "currency": items[0]["currency"],
        "custom_fields": [],
        "customer": params.get("customer"),
        "customer_creation": "if_required" if mode == "payment" and not params.get("customer") else None,
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "expires_at": params.get("expires_at") or now + 24 * 3600,
        "invoice": None,
        "livemode": False,
        "locale": params.get("locale"),
        "metadata": params.get("metadata", {}),
        "mode": mode,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always" if mode == "subscription" else None,
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": params.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": f"{request.host_url}checkout/pay/{session_id}",
    }


@includable("checkout.session", "line_items")
def session_line_items(state, session: dict) -> dict:
    """A session's line items, present only when expanded."""
    items = state.private[session["id"]]["line_items"]
    return list_object(items, f"/v1/checkout/sessions/{session['id']}/line_items")


def get_session(state, session_id: str) -> dict:
    """The session, expired first if its time has passed."""
    session = state.get("checkout.session", session_id)
    expire_if_due(state, session)
    return session


@route("/v1/checkout/sessions/<session_id>")
def retrieve_session(state, params, session_id):
    """GET /v1/checkout/sessions/:id."""
    return get_session(state, session_id)


@route("/v1/checkout/sessions/<session_id>/line_items", spec=LIST_SPEC)
def list_session_line_items(state, params, session_id):
    """GET /v1/checkout/sessions/:id/line_items."""
    items = list(reversed(state.private[get_session(state, session_id)["id"]]["line_items"]))
    return paginate(items, params, f"/v1/checkout/sessions/{session_id}/line_items")


@route(
    "/v1/checkout/sessions",
    spec={**LIST_SPEC, "payment_intent": "str", "customer": "str", "subscription": "str", "status": "str"},
)
def list_sessions(state, params):
    """GET /v1/checkout/sessions, filtered by payment_intent, customer, subscription, status."""
    fields = ("payment_intent", "customer", "subscription", "status")
    sessions = [s for s in state.all("checkout.session") if all(params.get(f) in (None, s[f]) for f in fields)]
    return paginate(sessions, params, "/v1/checkout/sessions")


@route("/v1/checkout/sessions/<session_id>/expire", ["POST"])
def expire_session(state, params, session_id):
    """POST /v1/checkout/sessions/:id/expire."""
    return expire(state, get_session(state, session_id))


def expire(state, session: dict) -> dict:
    """Close an open session: status expired, any pending PaymentIntent canceled."""
    if session["status"] != "open":
        raise StripeError(
            'Only Checkout Sessions with a status in ["open"] can be expired. '
            f'This Checkout Session has a status of "{session["status"]}".'
        )
    session["status"] = "expired"
    pi = state.find(session["payment_intent"])
    if pi and pi["status"] == "requires_payment_method":
        pi.update(status="canceled", canceled_at=state.now(), cancellation_reason="abandoned")
        state.emit("payment_intent.canceled", pi)
    state.emit("checkout.session.expired", session)
    return session


def expire_if_due(state, session: dict) -> None:
    """Expire an open session whose `expires_at` has passed."""
    if session["status"] == "open" and session["expires_at"] <= state.now():
        expire(state, session)


def sweep(state) -> None:
    """Expire every overdue open session (run by the background thread)."""
    with state.lock:
        for session in state.all("checkout.session"):
            expire_if_due(state, session)
