"""Small helpers: Stripe-style ids, JSON responses, calendar months, money."""

import calendar
import json
import secrets
import string
from datetime import UTC, datetime

from flask import Response

_ALPHABET = string.ascii_letters + string.digits
ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}


def new_id(prefix: str, length: int = 24) -> str:
    """A random id shaped like Stripe's, e.g. `price_1Nf...`."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    """Pretty-printed JSON, as Stripe's API answers."""
    text = json.dumps(body, indent=2, ensure_ascii=False)
    return Response(text + "\n", status=status, headers=headers or {}, content_type="application/json")


def add_month(timestamp: int) -> int:
    """The same moment one calendar month later, the day clamped to the month's end."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def add_interval(timestamp: int, interval: str, count: int = 1) -> int:
    """Advance `timestamp` by `count` recurring-price intervals."""
    for _ in range(count):
        if interval == "month":
            timestamp = add_month(timestamp)
        elif interval == "year":
            for _ in range(12):
                timestamp = add_month(timestamp)
        else:
            timestamp += {"day": 86400, "week": 7 * 86400}[interval]
    return timestamp


def format_amount(amount: int, currency: str) -> str:
    """`1999, "usd"` → `$19.99`; zero-decimal currencies are not divided."""
    currency = currency.lower()
    symbol = SYMBOLS.get(currency, currency.upper() + " ")
    if currency in ZERO_DECIMAL:
        return f"{symbol}{amount:,}"
    return f"{symbol}{amount / 100:,.2f}"
