"""Response headers that keep pages from being framed, sniffed, scripted or cached when private."""

from flask import Flask, Response, request, session

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)


def _add_missing(response: Response, headers) -> None:
    """Add each (name, value) the response does not already carry, in one pass over its headers."""
    present = {name.lower() for name in response.headers.keys()}  # noqa: SIM118 - Headers iterates (name, value) pairs
    for name, value in headers:
        if name.lower() not in present:
            response.headers.add(name, value)


def add_security_headers(response: Response) -> Response:
    """Set the CSP and friends on every response that does not set its own."""
    _add_missing(response, SECURITY_HEADERS)
    return response


def _is_private(response: Response) -> bool:
    """A signed-in session's page, or any JSON: neither may be kept by a browser or a proxy.

    Reads the session, not `current_user`: this runs after error pages too,
    when the database that would load the user may be the fault.
    """
    if request.endpoint == "static":
        return False
    return response.mimetype == "application/json" or "_user_id" in session


def add_cache_policy(response: Response) -> Response:
    """`Cache-Control: no-store` on private answers."""
    if _is_private(response):
        response.headers["Cache-Control"] = "no-store"
    return response


def add_hsts(response: Response) -> Response:
    """Tell browsers to use HTTPS only (production, where TLS ends at the proxy)."""
    response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def register(app: Flask) -> None:
    """Install the headers on the app: one after-request hook, in the order the three used to run."""
    steps = [add_hsts] if app.config.get("TOKENAPP_ENV") == "production" else []
    steps += [add_cache_policy, add_security_headers]

    def add_headers(response: Response) -> Response:
        for step in steps:
            response = step(response)
        return response

    app.after_request(add_headers)
