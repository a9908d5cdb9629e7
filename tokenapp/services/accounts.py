"""Signing up and signing in."""

import secrets

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import is_unique_violation, write_transaction
from ..extensions import db
from ..models import Referral, User
from ..models._types import utcnow
from . import ledger
from .errors import EmailTaken

REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Checked against when the email is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="pbkdf2:sha256:1000")


def normalize_email(email: str) -> str:
    """The canonical form of an email address: trimmed and lower-cased."""
    return (email or "").strip().lower()


def _new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))


def register(email: str, password: str, referral_code: str | None = None) -> User:
    """Create a user with a token account and the welcome bonus; raise EmailTaken."""
    email = normalize_email(email)
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    try:
        with write_transaction():
            user = User(email=email, password_hash=generate_password_hash(password, method=method),
                        referral_code=_new_referral_code())
            db.session.add(user)
            db.session.flush()
            ledger.open_account(user.id)
            _record_referral(user, referral_code)
    except IntegrityError as error:
        if is_unique_violation(error) and find_by_email(email) is not None:
            raise EmailTaken("An account with this email already exists.") from None
        raise
    return user


def _record_referral(user: User, referral_code: str | None) -> None:
    code = (referral_code or "").strip().upper()
    if not code:
        return
    referrer_id = db.session.execute(select(User.id).where(User.referral_code == code)).scalar()
    if referrer_id is not None and referrer_id != user.id:
        db.session.add(Referral(referrer_id=referrer_id, referred_id=user.id))


def find_by_email(email: str) -> User | None:
    """The user with this email, if any."""
    return db.session.execute(select(User).where(User.email == normalize_email(email))).scalar()


def authenticate(email: str, password: str) -> User | None:
    """The user whose email and password match, else None (in constant-ish time)."""
    user = find_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def make_admin(email: str, password: str) -> User:
    """Create an admin, or promote an existing account (its password is then reset)."""
    user = find_by_email(email)
    if user is None:
        user = register(email, password)
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    with write_transaction():
        user = db.session.get(User, user.id)
        user.is_admin = True
        user.password_hash = generate_password_hash(password, method=method)
    return user


def dismiss_welcome(user_id: int) -> None:
    """Remember that the user closed the welcome modal."""
    with write_transaction():
        user = db.session.get(User, user_id)
        if user.welcome_dismissed_at is None:
            user.welcome_dismissed_at = utcnow()
