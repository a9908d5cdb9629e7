"""POST /api/stripe/webhooks: the one CSRF-exempt endpoint; it verifies Stripe's signature instead."""

from flask import jsonify, request

from ..extensions import csrf
from ..services import webhooks
from . import bp


@bp.post("/stripe/webhooks")
@csrf.exempt
def stripe_webhooks():
    """Verify, store and act on a Stripe event; 200 for duplicates too, 400 for a bad one, 500 so Stripe retries a failure."""
    processed = webhooks.receive(request.get_data(), request.headers.get("Stripe-Signature"))
    return jsonify(received=True, duplicate=not processed)
