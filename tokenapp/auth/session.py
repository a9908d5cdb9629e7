"""How Flask-Login finds the user and answers when there is none."""

from flask import jsonify, redirect, request, url_for
from flask_login import LoginManager

from ..digits import INT32_MAX, whole_number
from ..extensions import db
from ..models import User


def _load_user(user_id: str) -> User | None:
    number = whole_number(user_id, low=1, high=INT32_MAX)
    return db.session.get(User, number) if number is not None else None


def _unauthorized():
    """401 JSON for the API, HX-Redirect for htmx, a redirect to login otherwise."""
    login_url = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.path.startswith("/api/"):
        return jsonify(error="unauthenticated", message="Log in to use this."), 401
    if request.headers.get("HX-Request") == "true":
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


def configure_login(manager: LoginManager) -> None:
    """Wire the user loader and the unauthorized answer into Flask-Login."""
    manager.user_loader(_load_user)
    manager.unauthorized_handler(_unauthorized)
    manager.session_protection = "basic"
