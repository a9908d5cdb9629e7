"""Password hashing and the common-password list (NIST SP 800-63B: refuse known-compromised choices).

The list is `tokenapp/data/common-passwords.txt.gz`: 20,000 common passwords
(lower-cased) compiled by Royce Williams, as shipped by Django
(django/contrib/auth/common-passwords.txt.gz, BSD licence: data/LICENSE.django).
"""

import gzip
import secrets
from functools import cache
from pathlib import Path

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"
DEFAULT_METHOD = "scrypt"


@cache
def _common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def is_common(password: str) -> bool:
    """True when the password (ignoring case and surrounding spaces) is on the common list."""
    return (password or "").strip().lower() in _common_passwords()


def hash_method() -> str:
    """The configured werkzeug hashing method (PASSWORD_HASH_METHOD, scrypt by default)."""
    return current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_METHOD)


def hash_password(password: str) -> str:
    """A salted hash of the password with the configured method."""
    return generate_password_hash(password, method=hash_method())


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(24), method=method)


def verify(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash, spend the same work on a dummy one and say no."""
    if stored_hash is None:
        check_password_hash(_dummy_hash(hash_method()), password or "")
        return False
    return check_password_hash(stored_hash, password or "")
