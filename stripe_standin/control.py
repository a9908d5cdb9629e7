"""/_standin/: test controls in the spirit of `stripe trigger` (JSON, loopback only)."""

from flask import Blueprint, current_app, jsonify, request

from . import billing, paying, refunds
from .checkout import expire, get_session
from .errors import StripeError
from .util import json_response

bp = Blueprint("stripe_standin_control", __name__, url_prefix="/_standin")
LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


def state():
    """The app's State."""
    return current_app.extensions["stripe_standin"]


def body() -> dict:
    """The JSON request body, or {}."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@bp.before_request
def loopback_only():
    """Refuse callers that are not on this machine."""
    if request.remote_addr not in LOOPBACK:
        return jsonify(error={"message": "The stand-in controls answer loopback only."}), 403
    return None


@bp.errorhandler(StripeError)
def stripe_error(error: StripeError):
    """Errors in Stripe's shape, as the API gives them."""
    return error.response()


def locked(action):
    """Run `action(state)` under the lock and answer with its result as JSON."""
    current = state()
    with current.lock:
        return json_response(action(current))


@bp.post("/payment_intents/<pi_id>/refund")
def refund(pi_id):
    """Refund a paid PaymentIntent (all that is left, or {"amount": cents})."""
    amount = body().get("amount")
    return locked(lambda s: refunds.refund(s, refunds.charge_of(s, pi_id, "id"), amount))


@bp.post("/payment_intents/<pi_id>/dispute")
def dispute(pi_id):
    """The cardholder disputes the PaymentIntent's charge."""
    reason = body().get("reason")
    return locked(lambda s: refunds.open_dispute(s, refunds.charge_of(s, pi_id, "id"), reason))


@bp.post("/disputes/<dispute_id>/close")
def close_dispute(dispute_id):
    """Decide a dispute: {"status": "won" | "lost"}."""
    outcome = body().get("status")
    return locked(lambda s: refunds.close_dispute(s, s.get("dispute", dispute_id), outcome))


@bp.post("/checkout/sessions/<session_id>/settle")
def settle(session_id):
    """Decide a delayed payment: {"succeeded": true | false}."""
    succeeded = bool(body().get("succeeded", True))
    return locked(lambda s: paying.settle(s, get_session(s, session_id), succeeded))


@bp.post("/checkout/sessions/<session_id>/expire")
def expire_session(session_id):
    """Expire an open session now."""
    return locked(lambda s: expire(s, get_session(s, session_id)))


@bp.post("/subscriptions/<sub_id>/<action>")
def subscription_action(sub_id, action):
    """renew, fail_payment or cancel a subscription."""
    actions = {"renew": billing.renew, "fail_payment": billing.fail_payment, "cancel": billing.cancel}
    if action not in actions:
        raise StripeError(f"Unknown subscription action: {action}", status=404)
    return locked(lambda s: actions[action](s, s.get("subscription", sub_id)))


@bp.post("/events/<event_id>/resend")
def resend(event_id):
    """Deliver an event again: same id and body, signed afresh."""
    return locked(lambda s: s.resend(event_id))


@bp.get("/events")
def events():
    """Every event, oldest first."""
    return locked(lambda s: s.all("event"))


@bp.get("/requests")
def requests_made():
    """How many times each API path was requested: {"data": [{"method", "path", "count"}]}."""
    return locked(
        lambda s: {
            "object": "list",
            "data": [{"method": method, "path": path, "count": count} for (method, path), count in s.requests.items()],
        }
    )


@bp.get("/deliveries")
def deliveries():
    """The webhook delivery log, oldest first."""
    return json_response(state().dispatcher.deliveries())


@bp.post("/wait_idle")
def wait_idle():
    """Return once no webhook is queued or in flight; 504 after {"timeout": s} (default 10)."""
    # not under the state lock: the receiver may call the API while we wait
    idle = state().dispatcher.wait_idle(float(body().get("timeout", 10)))
    return json_response({"idle": idle}, 200 if idle else 504)
