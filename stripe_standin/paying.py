"""What happens when a card is entered on the hosted page, and delayed settlement.

Test cards (spaces allowed): 4242 4242 4242 4242 pays; 4000 0000 0000 0002 is
declined (generic_decline); 4000 0000 0000 9995 is declined (insufficient_funds);
4000 0000 0000 0101 is a delayed payment that completes the session unpaid
until /_standin/checkout/sessions/<id>/settle decides it.
"""

from . import billing, payments
from .customers import new_customer
from .errors import state_error

CARDS = {
    "4242424242424242": "success",
    "4000000000000002": "generic_decline",
    "4000000000009995": "insufficient_funds",
    "4000000000000101": "delayed",
}


def pay(state, session: dict, number: str, email: str | None) -> str | None:
    """Try to pay the open session with a test card; the decline message, or None."""
    outcome = CARDS[number]
    state.private[session["id"]]["last4"] = number[-4:]
    if session["mode"] == "payment":
        return pay_once(state, session, outcome, number[-4:], email)
    return subscribe(state, session, outcome, email)


def session_email(state, session: dict) -> str | None:
    """The email Checkout already knows: customer_email, or the customer's."""
    customer = state.find(session["customer"]) or {}
    return session["customer_email"] or customer.get("email")


def pay_once(state, session: dict, outcome: str, last4: str, email) -> str | None:
    """Payment mode: the session's PaymentIntent succeeds, fails, or starts processing."""
    pi = payment_intent_for(state, session)
    payments.attach_card(pi)
    if outcome in payments.DECLINES:
        payments.decline(state, pi, last4, outcome)
        return payments.DECLINES[outcome]
    if outcome == "delayed":
        payments.start_processing(state, pi)
    else:
        payments.succeed(state, pi, last4)
    complete(state, session, email, paid=outcome != "delayed")
    return None


def payment_intent_for(state, session: dict) -> dict:
    """The session's PaymentIntent, made at the first attempt as Checkout does."""
    if session["payment_intent"]:
        return state.get("payment_intent", session["payment_intent"])
    pi_data = state.private[session["id"]]["pi_data"]
    pi = payments.new_payment_intent(
        state, session["amount_total"], session["currency"], session["customer"], pi_data.get("metadata", {})
    )
    pi["description"] = pi_data.get("description")
    session["payment_intent"] = pi["id"]
    return pi


def subscribe(state, session: dict, outcome: str, email) -> str | None:
    """Subscription mode: a Customer, a Subscription and its first Invoice."""
    if outcome in payments.DECLINES:
        return payments.DECLINES[outcome]
    paid = outcome != "delayed"
    customer_id = session["customer"] or new_customer(state, email=email)["id"]
    items = [
        (item["price"], item["quantity"])
        for item in state.private[session["id"]]["line_items"]
        if item["price"]["type"] == "recurring"
    ]
    metadata = dict(state.private[session["id"]]["sub_data"].get("metadata", {}))
    sub = billing.new_subscription(state, customer_id, items, metadata, "active" if paid else "incomplete")
    invoice = billing.new_invoice(state, sub, "subscription_create", paid=paid)
    state.emit("customer.subscription.created", sub)
    if paid:
        state.emit("invoice.paid", invoice)
    session.update(customer=customer_id, subscription=sub["id"], invoice=invoice["id"])
    complete(state, session, email, paid=paid)
    return None


def complete(state, session: dict, email, paid: bool) -> None:
    """The session is done: complete, paid or unpaid, and checkout.session.completed."""
    session.update(
        status="complete",
        payment_status="paid" if paid else "unpaid",
        customer_details={
            "address": None,
            "email": email,
            "name": None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
    )
    state.emit("checkout.session.completed", session)


def settle(state, session: dict, succeeded: bool) -> dict:
    """Decide a delayed payment: async_payment_succeeded or async_payment_failed."""
    if session["status"] != "complete" or session["payment_status"] != "unpaid":
        raise state_error(f"Checkout Session {session['id']} is not awaiting a delayed payment.")
    if session["mode"] == "payment":
        settle_payment(state, session, succeeded)
    else:
        settle_subscription(state, session, succeeded)
    if succeeded:
        session["payment_status"] = "paid"
    outcome = "succeeded" if succeeded else "failed"
    state.emit(f"checkout.session.async_payment_{outcome}", session)
    return session


def settle_payment(state, session: dict, succeeded: bool) -> None:
    """The processing PaymentIntent succeeds (with a Charge) or fails."""
    pi = state.get("payment_intent", session["payment_intent"])
    if pi["status"] != "processing":
        raise state_error(f"PaymentIntent {pi['id']} is not processing.")
    payments.settle(state, pi, succeeded, state.private[session["id"]]["last4"])


def settle_subscription(state, session: dict, succeeded: bool) -> None:
    """The first invoice is paid (subscription active) or its payment fails."""
    sub = state.get("subscription", session["subscription"])
    invoice = state.get("invoice", session["invoice"])
    if invoice["status"] != "open":
        raise state_error(f"Invoice {invoice['id']} is not open.")
    if not succeeded:
        state.emit("invoice.payment_failed", invoice)
        return
    billing.pay_invoice(state, invoice)
    sub["status"] = "active"
    state.emit("customer.subscription.updated", sub, {"status": "incomplete"})
