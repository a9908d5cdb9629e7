"""POST /api/stripe/webhooks: the one CSRF-exempt endpoint; it verifies Stripe's signature instead."""

from flask import jsonify, request

from ..extensions import csrf
from ..services import webhooks
from . import bp


@bp.post("/stripe/webhooks")
@csrf.exempt
def stripe_webhooks():
    """Verify, store and act on a Stripe event; 200 for duplicates too, 500 so Stripe retries a failure."""
    event = webhooks.verify(request.get_data(), request.headers.get("Stripe-Signature"))
    processed = webhooks.process(event)
    return jsonify(received=True, duplicate=not processed)
