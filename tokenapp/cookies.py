"""Anonymous pages set no cookie, so a shared cache may keep them.

Every page carries a CSRF token (CONTRACT §3), and Flask-WTF binds a token to
the session, which would give every anonymous visitor a cookie. Instead an
anonymous page's token is left unbound: the session holding it is not saved.
The first unsafe request that sends such a token binds it, if Flask-WTF's
signature on it holds and the request does not come from another site
(its Origin, or else its Referer, names this site when present; browsers
always send one on a cross-site form post). From then on the ordinary
session-bound check applies.
"""

from urllib.parse import urlsplit

from flask import Flask, Request, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadData, URLSafeTimedSerializer

CSRF_FIELD = "csrf_token"
CSRF_SALT = "wtf-csrf-token"
UNBOUND_TOKEN_MAX_AGE = 24 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class QuietSessionInterface(SecureCookieSessionInterface):
    """Saves sessions as Flask does, but never sends a cookie for an empty session the client never had."""

    def save_session(self, app: Flask, session, response) -> None:
        if not session and self.get_cookie_name(app) not in request.cookies:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def _came_in_without_session() -> bool:
    return current_app.config["SESSION_COOKIE_NAME"] not in request.cookies


def _same_site(req: Request) -> bool:
    """False when Origin or Referer names another site; absent headers say nothing."""
    source = req.headers.get("Origin") or req.headers.get("Referer")
    if not source:
        return True
    parts = urlsplit(source)
    return (parts.scheme, parts.netloc) == (req.scheme, req.host)


def _submitted_token() -> str | None:
    token = request.form.get(CSRF_FIELD) if request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data") else None
    return token or request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")


def bind_unbound_token() -> None:
    """Before Flask-WTF's check: adopt a signed token from an anonymous page into a session that has none."""
    if request.method in SAFE_METHODS or CSRF_FIELD in session:
        return
    token = _submitted_token()
    if not token or not _same_site(request):
        return
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CSRF_SALT)
    try:
        raw = serializer.loads(token, max_age=UNBOUND_TOKEN_MAX_AGE)
    except BadData:
        return
    if isinstance(raw, str):
        session[CSRF_FIELD] = raw


# What an anonymous read leaves in a new session: the minted token, and Flask-Login's "not fresh" mark.
_ANONYMOUS_NOISE = {CSRF_FIELD: None, "_fresh": False}


def drop_unbound_token(response):
    """After an anonymous read that only minted a CSRF token: keep the token unbound, send no cookie."""
    if request.method not in SAFE_METHODS or not _came_in_without_session():
        return response
    noise_only = all(key in _ANONYMOUS_NOISE and _ANONYMOUS_NOISE[key] in (None, value)
                     for key, value in session.items())
    if noise_only:
        session.clear()
    return response


def register(app: Flask) -> None:
    """Install the quiet session interface; call before CSRFProtect so the binding runs first."""
    app.session_interface = QuietSessionInterface()
    app.before_request(bind_unbound_token)
    app.after_request(drop_unbound_token)
