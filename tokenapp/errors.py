"""Error answers: JSON `{error, message}` under /api, a friendly page elsewhere."""

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .htmx import is_htmx
from .ratelimits import RateLimited
from .services.errors import DomainError

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _answer(status: int, code: str, message: str, **extra):
    if _wants_json():
        return jsonify(error=code, message=message, **extra), status
    if is_htmx():
        return render_template_fragment(status, message), status
    if status >= 500:
        # Rendered without context processors: the database may be the fault.
        page = current_app.jinja_env.get_template("error_bare.html").render(status=status, message=message)
        return page, status
    return render_template("error.html", status=status, message=message), status


def render_template_fragment(status: int, message: str) -> str:
    """A readable error to swap in place of an htmx target, never a whole page."""
    page = current_app.jinja_env.get_template("_fragment_error.html")
    return page.render(status=status, message=message)


def register(app: Flask) -> None:
    """Install the handlers on the app."""

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return _answer(error.status, error.code, error.message, **error.details)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _answer(400, "csrf_failed", "The form expired or the CSRF token is missing. Reload and try again.")

    @app.errorhandler(RateLimited)
    def rate_limited(error: RateLimited):
        response = make_response(_answer(429, "rate_limited", error.description))
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        return _answer(status, _HTTP_CODES.get(status, "http_error"), error.description or error.name)

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        app.logger.error("database unavailable: %s", error.orig)
        return _answer(
            503, "service_unavailable", "The service is busy or briefly unavailable. Nothing was charged; try again."
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return _answer(500, "internal_error", "Something went wrong on our side. Nothing was charged.")
