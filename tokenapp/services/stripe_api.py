"""The one place that builds the official Stripe client from settings."""

import json

import stripe
from flask import current_app

from .errors import PaymentProviderError, PaymentProviderUnavailable, StripeObjectMissing

PROVIDER_DOWN = "We could not reach the payment provider. Nothing was charged; please try again."
PROVIDER_BUSY = "The payment provider did not answer just now. Nothing changed; please try again in a moment."
TRANSIENT = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)


def client() -> stripe.StripeClient:
    """The app's StripeClient, pointed at STRIPE_API_BASE when one is set."""
    config = current_app.config
    identity = (config["STRIPE_SECRET_KEY"], config["STRIPE_API_BASE"])
    cached = current_app.extensions.get("tokenapp_stripe")
    if cached is None or cached[0] != identity:
        base = {"api": config["STRIPE_API_BASE"]} if config["STRIPE_API_BASE"] else None
        built = stripe.StripeClient(config["STRIPE_SECRET_KEY"], base_addresses=base, max_network_retries=2)
        cached = current_app.extensions["tokenapp_stripe"] = (identity, built)
    return cached[1]


def field(obj, name: str, default=None):
    """Read a field from a Stripe object or a plain dict (webhook payloads)."""
    try:
        value = obj[name]
    except (KeyError, TypeError, AttributeError):
        return default
    return default if value is None else value


def object_id(value) -> str | None:
    """The id of a Stripe reference that may be expanded (an object) or not (a string)."""
    if value is None or isinstance(value, str):
        return value
    return field(value, "id")


def call(description: str, fn, *args, **kwargs):
    """Run one Stripe call, turning its failures into PaymentProviderError."""
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as error:
        current_app.logger.warning("stripe %s failed: %s", description, error)
        raise PaymentProviderError(PROVIDER_DOWN) from error


def retrieve(description: str, fn, object_id: str):
    """Read one object from Stripe: 404 is StripeObjectMissing, no answer is PaymentProviderUnavailable."""
    try:
        return fn(object_id)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            raise StripeObjectMissing(f"Stripe has no {description} {object_id!r}.") from error
        current_app.logger.warning("stripe %s retrieve refused: %s", description, error)
        raise PaymentProviderError(PROVIDER_DOWN) from error
    except TRANSIENT as error:
        current_app.logger.warning("stripe %s retrieve failed: %s", description, error)
        raise PaymentProviderUnavailable(PROVIDER_BUSY) from error
    except stripe.StripeError as error:
        current_app.logger.warning("stripe %s retrieve failed: %s", description, error)
        raise PaymentProviderError(PROVIDER_DOWN) from error


def as_dict(obj) -> dict:
    """A Stripe object as plain JSON-safe data (what the cache stores and the services read)."""
    return json.loads(str(obj)) if isinstance(obj, stripe.StripeObject) else dict(obj)
