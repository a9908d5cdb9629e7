"""One guard over every request's input, before any view or query sees it.

Each class of hostile input is refused here once, rather than field by field:

- text no column can store: PostgreSQL refuses NUL, psycopg refuses unpaired
  surrogates (JSON's "\\ud800" decodes to one), anywhere in a path, query
  argument, form field, file name, JSON string or header the app reads;
  query arguments, paths and headers carry no control characters at all;
- a query string that is not UTF-8 (Werkzeug raises while decoding it);
- JSON nested too deeply (the parser overflows the stack thousands deep),
  too big, or holding integers no BIGINT column can hold or non-finite floats;
- ids in URLs past an INTEGER column's range or in non-ASCII digits: the
  `int` converter simply does not match them, so they are a 404.

A refusal is a 400 `invalid_request` (413 `too_large` for size), answered as
JSON under /api, as a page or an htmx fragment elsewhere; nothing is changed.
"""

import math
import re

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from .digits import INT32_MAX, INT64_MAX
from .services.errors import DomainError

MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
HEADERS_READ = ("Idempotency-Key", "Referer", "HX-Request", "HX-Current-URL", "X-CSRFToken")
# Each header's key in the WSGI environ, read directly: the header map's lookups cost more than the check.
_HEADER_KEYS = tuple((name, "HTTP_" + name.upper().replace("-", "_")) for name in HEADERS_READ)
# Views that read their raw body themselves: the Stripe webhook verifies the signed
# bytes and its service decides what a malformed but signed event gets.
RAW_BODY_ENDPOINTS = frozenset({"api.stripe_webhooks"})


class UnusableInput(DomainError):
    """Input the app cannot store or parse safely."""

    code = "invalid_request"


class InputTooLarge(DomainError):
    """A JSON body over MAX_JSON_BYTES."""

    code = "too_large"
    status = 413


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in a route: ASCII digits within an INTEGER column's range, else the route does not match."""

    regex = r"[0-9]{1,19}"

    def __init__(
        self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = INT32_MAX, signed: bool = False
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register(app: Flask) -> None:
    """Install the bounded `int` converter (before any route is added) and the request guard."""
    app.url_map.converters["int"] = DatabaseIdConverter
    app.before_request(check_request)


def check_request() -> None:
    """Refuse a request whose input the database or the parsers cannot take."""
    _refuse_controls("The address", request.path)
    try:
        args = request.args
    except UnicodeDecodeError:
        raise UnusableInput("The query string is not valid UTF-8.") from None
    for key, value in args.items(multi=True):
        _refuse_controls("A query parameter", key, value)
    environ = request.environ
    for name, key in _HEADER_KEYS:
        value = environ.get(key) or ""
        if value and CONTROL.search(value):
            _refuse_controls(f"The {name} header", value)
    if request.endpoint in RAW_BODY_ENDPOINTS:
        return
    if request.is_json:
        _check_json_body()
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _check_form()


def _refuse_controls(where: str, *texts: str) -> None:
    if any(CONTROL.search(text) for text in texts):
        raise UnusableInput(f"{where} contains control characters or invalid Unicode.")


def _refuse_unstorable(where: str, *texts: str) -> None:
    if any(UNSTORABLE.search(text) for text in texts):
        raise UnusableInput(f"{where} contains a NUL character or invalid Unicode.")


def _check_form() -> None:
    for key, value in request.form.items(multi=True):
        _refuse_unstorable(f"The field {key[:40]!r}", key, value)
    for key, upload in request.files.items(multi=True):
        _refuse_controls("A file name", key, upload.filename or "")


def _check_json_body() -> None:
    if (request.content_length or 0) > MAX_JSON_BYTES or len(request.get_data(cache=True)) > MAX_JSON_BYTES:
        raise InputTooLarge(f"The JSON body is larger than {MAX_JSON_BYTES // 1024} KB.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise UnusableInput(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.") from None
    check_json_value(body)


def check_json_value(body) -> None:
    """Refuse JSON too deep, with unstorable text, integers past BIGINT or non-finite numbers."""
    pending = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise UnusableInput(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
        if isinstance(value, str):
            _refuse_unstorable("A JSON string", value)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not -INT64_MAX - 1 <= value <= INT64_MAX:
                raise UnusableInput("A JSON number is out of range.")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise UnusableInput("A JSON number is not finite.")
        elif isinstance(value, dict):
            pending.extend((key, depth + 1) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
