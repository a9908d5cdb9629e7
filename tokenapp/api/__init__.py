"""The JSON API: session-cookie auth, CSRF header on every state change."""

from flask import Blueprint, jsonify, request
from flask_login import current_user

bp = Blueprint("api", __name__)
PUBLIC_PREFIXES = ("/api/stripe/", "/api/openapi.json")


def reject_anonymous():
    """Anonymous API calls get 401 JSON, never a redirect, before any CSRF check.

    Registered on the app ahead of CSRFProtect so that a caller without a
    session learns it must log in rather than that its token is missing.
    """
    if (
        request.path.startswith("/api/")
        and not request.path.startswith(PUBLIC_PREFIXES)
        and not current_user.is_authenticated
    ):
        return jsonify(error="unauthenticated", message="Log in to use this."), 401
    return None


from . import features, openapi, stripe_webhooks, tokens  # noqa: E402,F401 - the routes register on `bp` above
