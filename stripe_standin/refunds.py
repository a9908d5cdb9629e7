"""Refunds (cumulative on the Charge) and Disputes."""

from .api import route
from .errors import StripeError, invalid, state_error
from .state import snapshot_fields
from .util import format_amount, new_id

DISPUTE_REASONS = (
    "bank_cannot_process",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
)
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def charge_of(state, pi_id: str, param: str = "payment_intent") -> dict:
    """The successful Charge behind a PaymentIntent."""
    pi = state.get("payment_intent", pi_id, param)
    if pi["status"] != "succeeded":
        raise invalid(param, f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.")
    return state.get("charge", pi["latest_charge"], param)


def refund(state, charge: dict, amount: int | None, metadata=None, reason=None) -> dict:
    """Refund `amount` (default: all that is left), then charge.refunded, refund.created."""
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    check_refund(charge, amount, remaining, reason)
    amount = remaining if amount is None else amount
    created = state.add(
        {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": new_id("txn"),
            "charge": charge["id"],
            "created": state.now(),
            "currency": charge["currency"],
            "destination_details": {
                "type": "card",
                "card": {
                    "reference_status": "pending",
                    "reference_type": "acquirer_reference_number",
                    "type": "refund",
                },
            },
            "metadata": metadata or {},
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
    )
    previous = snapshot_fields(charge, "amount_refunded", "refunded")
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    state.emit("charge.refunded", charge, previous)
    state.emit("refund.created", created)
    return created


def check_refund(charge: dict, amount: int | None, remaining: int, reason) -> None:
    """Refuse what Stripe refuses: nothing left, too much, a charged-back charge."""
    if charge["disputed"]:
        raise state_error(f"Charge {charge['id']} has been charged back; cannot issue a refund.")
    if remaining <= 0:
        raise StripeError(f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
    if amount is not None and amount < 1:
        raise invalid("amount", "This value must be greater than or equal to 1.")
    if amount is not None and amount > remaining:
        raise invalid(
            "amount",
            f"Refund amount ({format_amount(amount, charge['currency'])}) "
            f"is greater than unrefunded amount on charge "
            f"({format_amount(remaining, charge['currency'])})",
        )
    if reason is not None and reason not in REFUND_REASONS:
        raise invalid("reason", f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}")


@route(
    "/v1/refunds",
    ["POST"],
    {
        "payment_intent": "str",
        "charge": "str",
        "amount": "int",
        "metadata": "meta",
        "reason": "str",
        "instructions_email": "str",
    },
)
def create_refund(state, params):
    """POST /v1/refunds for a payment_intent or a charge."""
    if params.get("charge"):
        charge = state.get("charge", params["charge"], "charge")
    elif params.get("payment_intent"):
        charge = charge_of(state, params["payment_intent"])
    else:
        raise StripeError("One of the following params should be provided for this request: payment_intent or charge.")
    return refund(state, charge, params.get("amount"), params.get("metadata"), params.get("reason"))


@route("/v1/refunds/<refund_id>")
def retrieve_refund(state, params, refund_id):
    """GET /v1/refunds/:id."""
    return state.get("refund", refund_id)


def open_dispute(state, charge: dict, reason: str | None) -> dict:
    """The cardholder disputes the charge: a Dispute and charge.dispute.created."""
    reason = reason or "fraudulent"
    if reason not in DISPUTE_REASONS:
        raise invalid("reason", f"Invalid reason: must be one of {', '.join(DISPUTE_REASONS)}")
    if charge["disputed"]:
        raise state_error(f"Charge {charge['id']} is already disputed.")
    now = state.now()
    dispute = state.add(
        {
            "id": new_id("dp"),
            "object": "dispute",
            "amount": charge["amount_captured"] - charge["amount_refunded"],
            "balance_transactions": [],
            "charge": charge["id"],
            "created": now,
            "currency": charge["currency"],
            "evidence": {},
            "evidence_details": {
                "due_by": now + 7 * 86400,
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": charge["payment_intent"],
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "network_reason_code": "10.4"}},
            "reason": reason,
            "status": "needs_response",
        }
    )
    charge["disputed"] = True
    state.emit("charge.dispute.created", dispute)
    return dispute


def close_dispute(state, dispute: dict, outcome: str) -> dict:
    """The dispute is decided, won or lost: charge.dispute.closed."""
    if outcome not in ("won", "lost"):
        raise invalid("status", "status must be won or lost")
    if dispute["status"] in ("won", "lost"):
        raise state_error(f"Dispute {dispute['id']} is already closed ({dispute['status']}).")
    previous = snapshot_fields(dispute, "status")
    dispute["status"] = outcome
    state.emit("charge.dispute.closed", dispute, previous)
    return dispute


@route("/v1/disputes/<dispute_id>")
def retrieve_dispute(state, params, dispute_id):
    """GET /v1/disputes/:id."""
    return state.get("dispute", dispute_id)
