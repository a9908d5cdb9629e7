"""CSRF protection: Flask-WTF's check, with the tokens whose signature held remembered.

A signed-in client sends the same token with every unsafe request (the API's
`X-CSRFToken` header). Flask-WTF checks its signature each time, a key
derivation and an HMAC; `RememberingCSRFProtect` remembers, per secret key,
each token whose signature held and the raw value it carries, so a repeat
costs a dictionary lookup. Everything else is checked on every request as
Flask-WTF checks it: the raw value against this session's (a token of another
session is refused), the exemptions, the methods, and over HTTPS the Referer.
With `WTF_CSRF_TIME_LIMIT` set, tokens expire and nothing is remembered.
"""

import hmac

from flask import current_app, g, request, session
from flask_wtf.csrf import CSRFProtect, ValidationError, logger, same_origin, validate_csrf
from itsdangerous import BadData, URLSafeTimedSerializer

from .cookies import CSRF_SALT

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RememberingCSRFProtect(CSRFProtect):
    """CSRFProtect whose signature check runs once per token and secret key (see the module docstring)."""

    REMEMBERED_TOKENS = 4096

    def __init__(self, app=None) -> None:
        self._verified: dict[tuple[str, str | bytes], str] = {}
        super().__init__(app)

    def protect(self, apply_exemptions: bool = False) -> None:
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        config = current_app.config
        if request.method not in config["WTF_CSRF_METHODS"]:
            return
        try:
            self._validate(self._submitted_token())
        except ValidationError as error:
            logger.info(error.args[0])
            self._error_response(error.args[0])
        if request.is_secure and config["WTF_CSRF_SSL_STRICT"]:
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True

    def _submitted_token(self) -> str | None:
        """Flask-WTF's token lookup, without parsing a body that is not a form for a field it cannot hold."""
        if request.mimetype in FORM_TYPES:
            return self._get_csrf_token()
        for header_name in current_app.config["WTF_CSRF_HEADERS"]:
            token = request.headers.get(header_name)
            if token:
                return token
        return None

    def _validate(self, token: str | None) -> None:
        config = current_app.config
        field_name = config["WTF_CSRF_FIELD_NAME"]
        secret_key = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
        if not token or config["WTF_CSRF_TIME_LIMIT"] or not secret_key or field_name not in session:
            validate_csrf(token)
            return
        memory_key = (token, secret_key)
        raw = self._verified.get(memory_key)
        if raw is None:
            try:
                raw = URLSafeTimedSerializer(secret_key, salt=CSRF_SALT).loads(token)
            except BadData:
                raise ValidationError("The CSRF token is invalid.") from None
            if not isinstance(raw, str):
                raise ValidationError("The CSRF token is invalid.")
            if len(self._verified) >= self.REMEMBERED_TOKENS:
                self._verified.clear()
            self._verified[memory_key] = raw
        if not hmac.compare_digest(session[field_name], raw):
            raise ValidationError("The CSRF tokens do not match.")
