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

import time
from urllib.parse import urlsplit

from flask import Flask, Request, current_app, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadData, BadSignature, URLSafeTimedSerializer

CSRF_FIELD = "csrf_token"
CSRF_SALT = "wtf-csrf-token"
UNBOUND_TOKEN_MAX_AGE = 24 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


_PLAIN = (str, int, float, bool, type(None))


class QuietSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with two changes.

    It never sends a cookie for an empty session the client never had. And it
    remembers the cookies whose signature it has checked, with the time they
    were signed, so a client that sends the same cookie again (every API
    call of a signed-in user) skips the HMAC and the decoding. The
    expiry is still checked on every request, exactly as itsdangerous checks
    it, and the memory is per secret key, so a rotated key verifies again.
    Only sessions of plain values are remembered: each request gets its own
    copy, which a change to a nested value (a list of flashed messages) could
    otherwise reach through.
    """

    REMEMBERED_COOKIES = 4096

    def __init__(self) -> None:
        self._verified: dict[tuple, tuple[dict, int]] = {}

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        value = request.cookies.get(self.get_cookie_name(app))
        if not value or not app.secret_key:
            return super().open_session(app, request)
        memory_key = (value, app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        max_age = int(app.permanent_session_lifetime.total_seconds())
        verified = self._verified.get(memory_key)
        if verified is not None and 0 <= int(time.time()) - verified[1] <= max_age:
            return self.session_class(verified[0])
        serializer = self.get_signing_serializer(app)
        assert serializer is not None  # the app has a secret key
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(isinstance(item, _PLAIN) for item in data.values()):
            if len(self._verified) >= self.REMEMBERED_COOKIES:
                self._verified.clear()
            self._verified[memory_key] = (data, int(signed_at.timestamp()))
        return self.session_class(data)

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
    token = (
        request.form.get(CSRF_FIELD)
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
        else None
    )
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
    noise_only = all(
        key in _ANONYMOUS_NOISE and _ANONYMOUS_NOISE[key] in (None, value) for key, value in session.items()
    )
    if noise_only:
        session.clear()
    return response


def register(app: Flask) -> None:
    """Install the quiet session interface; call before CSRFProtect so the binding runs first."""
    app.session_interface = QuietSessionInterface()
    app.before_request(bind_unbound_token)
    app.after_request(drop_unbound_token)
