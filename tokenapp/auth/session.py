"""How Flask-Login finds the user and answers when there is none."""

from flask import jsonify, redirect, request, session, url_for
from flask_login import LoginManager, login_user, logout_user

from ..models import User
from ..services import sessions

SESSION_ID_KEY = "sid"


def _load_user(user_id: str) -> User | None:
    """The user, only while the server-side record named in the cookie lives (one query)."""
    return sessions.user_for(user_id, session.get(SESSION_ID_KEY))


def sign_in(user: User) -> None:
    """Start a fresh session for the user: a new cookie and a new server-side record."""
    session.clear()
    session[SESSION_ID_KEY] = sessions.start(user.id)
    login_user(user)


def sign_out() -> None:
    """End this session on the server too, so a copy of the cookie stops working."""
    sessions.end(session.get(SESSION_ID_KEY))
    logout_user()
    session.clear()


def current_session_id() -> str | None:
    """The id of this browser's server-side session record."""
    return session.get(SESSION_ID_KEY)


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
