"""Whole numbers from user text: ASCII digits only, within a database column's range.

`str.isdigit()` is true for "²" and "١٢", which `int()` refuses or reads as
another number, and `int()` itself takes "+1", " 1", "1_000" and Unicode
digits; a number past a column's range overflows the database driver. These
helpers accept exactly what a form or URL should carry, and nothing else.
"""

import re

INT32_MAX = 2**31 - 1  # an INTEGER column (most ids)
INT64_MAX = 2**63 - 1  # a BIGINT column (ledger rows)
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def whole_number(raw, low: int = 0, high: int = INT64_MAX) -> int | None:
    """`raw` (text of ASCII digits, or an int) as an int within [low, high], else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        if not _ASCII_DIGITS.fullmatch(raw):
            return None
        raw = int(raw)
    if not isinstance(raw, int) or not low <= raw <= high:
        return None
    return raw


def id_or_none(raw) -> int | None:
    """An INTEGER id (text of ASCII digits, or an int) within the column's range, else None."""
    return whole_number(raw, low=1, high=INT32_MAX)


def row_id(raw) -> int:
    """An INTEGER id from text, for `request.args.get(..., type=row_id)`; ValueError when it is not one."""
    value = id_or_none(raw)
    if value is None:
        raise ValueError("not an id")
    return value
