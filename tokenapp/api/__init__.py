"""The JSON API: session-cookie auth, CSRF header on every state change."""

from flask import Blueprint, jsonify
from flask_login import current_user

bp = Blueprint("api", __name__)


@bp.before_request
def require_login():
    """Anonymous calls get 401 JSON, never a redirect."""
    if not current_user.is_authenticated:
        return jsonify(error="unauthenticated", message="Log in to use this."), 401
    return None


from . import tokens  # noqa: E402,F401
