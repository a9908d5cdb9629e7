"""The one place that builds the official Stripe client from settings, and says what its failures mean.

Call the SDK directly inside one of the two blocks below, so that mypy checks every `params` dict against
the TypedDicts stripe-python generates from Stripe's OpenAPI spec:

    with stripe_api.errors("creating a checkout session"):
        session = stripe_api.client().v1.checkout.sessions.create(params={...})

    with stripe_api.reading("subscription", subscription_id):
        subscription = stripe_api.client().v1.subscriptions.retrieve(subscription_id)
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager

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
        base = config["STRIPE_API_BASE"]
        built = stripe.StripeClient(
            config["STRIPE_SECRET_KEY"], base_addresses={"api": base} if base else None, max_network_retries=2
        )
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


@contextmanager
def errors(description: str) -> Iterator[None]:
    """Stripe calls made inside: any failure becomes PaymentProviderError (logged with `description`)."""
    try:
        yield
    except stripe.StripeError as error:
        current_app.logger.warning("stripe %s failed: %s", description, error)
        raise PaymentProviderError(PROVIDER_DOWN) from error


@contextmanager
def reading(description: str, object_id: str) -> Iterator[None]:
    """A read of one Stripe object made inside: 404 is StripeObjectMissing, no answer PaymentProviderUnavailable."""
    try:
        yield
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
