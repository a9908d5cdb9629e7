"""PaymentIntents and Charges: succeed, decline, process asynchronously."""

from .api import route
from .util import new_id

DECLINES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}


def new_payment_intent(state, amount: int, currency: str, customer, metadata: dict) -> dict:
    """Store a PaymentIntent awaiting a payment method."""
    pi_id = new_id("pi")
    return state.add(
        {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "automatic_payment_methods": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{pi_id}_secret_{new_id('x', 25)[2:]}",
            "confirmation_method": "automatic",
            "created": state.now(),
            "currency": currency,
            "customer": customer,
            "description": None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": dict(metadata),
            "next_action": None,
            "payment_method": None,
            "payment_method_types": ["card"],
            "receipt_email": None,
            "status": "requires_payment_method",
        }
    )


def card_method(last4: str) -> dict:
    """The `payment_method_details` of a Visa test card."""
    return {
        "type": "card",
        "card": {
            "brand": "visa",
            "country": "US",
            "exp_month": 12,
            "exp_year": 2034,
            "funding": "credit",
            "last4": last4,
            "network": "visa",
        },
    }


def new_charge(state, pi: dict, last4: str, status: str, decline: str | None = None) -> dict:
    """Store a Charge for the PaymentIntent (succeeded, pending or failed)."""
    paid = status == "succeeded"
    return state.add(
        {
            "id": new_id("ch"),
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if paid else 0,
            "amount_refunded": 0,
            "balance_transaction": new_id("txn") if paid else None,
            "billing_details": {"address": None, "email": None, "name": None, "phone": None},
            "captured": paid,
            "created": state.now(),
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": None,
            "disputed": False,
            "failure_code": "card_declined" if decline else None,
            "failure_message": DECLINES.get(decline),
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "outcome": outcome(decline),
            "paid": paid,
            "payment_intent": pi["id"],
            "payment_method": pi["payment_method"],
            "payment_method_details": card_method(last4),
            "receipt_email": None,
            "receipt_url": None,
            "refunded": False,
            "status": status,
        }
    )


def outcome(decline: str | None) -> dict:
    """A charge's `outcome` hash."""
    if decline:
        return {
            "network_status": "declined_by_network",
            "reason": decline,
            "risk_level": "normal",
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        }
    return {
        "network_status": "approved_by_network",
        "reason": None,
        "risk_level": "normal",
        "seller_message": "Payment complete.",
        "type": "authorized",
    }


def attach_card(pi: dict) -> None:
    """The customer entered a card: a new PaymentMethod id on the PaymentIntent."""
    pi["payment_method"] = new_id("pm")


def succeed(state, pi: dict, last4: str) -> dict:
    """Capture the payment: a succeeded Charge, then payment_intent.succeeded, charge.succeeded."""
    charge = new_charge(state, pi, last4, "succeeded")
    pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge["id"], last_payment_error=None)
    state.emit("payment_intent.succeeded", pi)
    state.emit("charge.succeeded", charge)
    return charge


def decline(state, pi: dict, last4: str, code: str) -> None:
    """A declined card: a failed Charge, then charge.failed, payment_intent.payment_failed."""
    charge = new_charge(state, pi, last4, "failed", code)
    pi.update(
        status="requires_payment_method", latest_charge=charge["id"], last_payment_error=payment_error(charge, code)
    )
    state.emit("charge.failed", charge)
    state.emit("payment_intent.payment_failed", pi)


def payment_error(charge: dict, code: str) -> dict:
    """A PaymentIntent's `last_payment_error` for a card decline."""
    return {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": code,
        "message": DECLINES[code],
        "charge": charge["id"],
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "payment_method": {
            "id": charge["payment_method"],
            "object": "payment_method",
            "type": "card",
            "card": dict(charge["payment_method_details"]["card"]),
        },
    }


def start_processing(state, pi: dict) -> None:
    """A delayed payment method: the PaymentIntent waits in `processing`."""
    pi["status"] = "processing"
    state.emit("payment_intent.processing", pi)


def settle(state, pi: dict, succeeded: bool, last4: str) -> None:
    """Finish a `processing` PaymentIntent one way or the other."""
    if succeeded:
        succeed(state, pi, last4)
    else:
        decline(state, pi, last4, "generic_decline")


@route("/v1/payment_intents/<pi_id>")
def retrieve_payment_intent(state, params, pi_id):
    """GET /v1/payment_intents/:id."""
    return state.get("payment_intent", pi_id)


@route("/v1/charges/<charge_id>")
def retrieve_charge(state, params, charge_id):
    """GET /v1/charges/:id."""
    return state.get("charge", charge_id)
