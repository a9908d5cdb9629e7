"""Strict parsing of API input: anything unexpected is a 400 with a code."""

import base64
import re

from flask import request

from ..digits import INT64_MAX, whole_number
from ..services.charges import IDEMPOTENCY_PATTERN
from ..services.errors import DomainError

KEY_PATTERN = re.compile(r"^[a-z0-9_]{1,40}\Z")


class BadRequest(DomainError):
    code = "invalid_request"


def json_object() -> dict:
    """The request body as a JSON object."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def catalog_key(body: dict, field: str) -> str:
    """A required catalog key such as a feature_key."""
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{field} is required and must be a string.")
    return value


def idempotency_key(body: dict) -> str | None:
    """The key from the body or the Idempotency-Key header; both must agree."""
    from_body = body.get("idempotency_key")
    from_header = request.headers.get("Idempotency-Key")
    if from_body is not None and not isinstance(from_body, str):
        raise BadRequest("idempotency_key must be a string.")
    if from_body is not None and from_header is not None and from_body != from_header:
        raise BadRequest("The Idempotency-Key header and idempotency_key differ.")
    key = from_body if from_body is not None else from_header
    if key is not None and not IDEMPOTENCY_PATTERN.match(key):
        raise BadRequest("idempotency_key must be 1 to 255 visible ASCII characters.")
    return key


def bounded_int(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]."""
    raw = request.args.get(name)
    if raw is None:
        return default
    value = whole_number(raw, low, high)
    if value is None:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}.")
    return value


def encode_cursor(last_id: int) -> str:
    """An opaque cursor for the row after `last_id`."""
    return base64.urlsafe_b64encode(f"t:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(name: str = "cursor") -> int | None:
    """The row id a cursor points past, or None for the first page."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        prefix, value = text.split(":", 1)
        row = whole_number(value, low=1, high=INT64_MAX)
        if prefix != "t" or row is None:
            raise ValueError
        return row
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("cursor is not one this API gave out.") from None
