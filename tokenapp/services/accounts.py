"""Signing up and signing in."""

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..database import is_unique_violation, write_transaction
from ..extensions import db
from ..models import Referral, User
from ..models._types import utcnow
from . import ledger, passwords, sessions
from .errors import EmailTaken, WrongPassword

REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def normalize_email(email: str) -> str:
    """The canonical form of an email address: trimmed and lower-cased."""
    return (email or "").strip().lower()


def _new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))


def register(email: str, password: str, referral_code: str | None = None) -> User:
    """Create a user with a token account and the welcome bonus; raise EmailTaken."""
    email = normalize_email(email)
    try:
        with write_transaction():
            user = User(
                email=email, password_hash=passwords.hash_password(password), referral_code=_new_referral_code()
            )
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
    """The user whose email and password match, else None; an unknown email costs the same hash check."""
    user = find_by_email(email)
    matches = passwords.verify(user.password_hash if user is not None else None, password)
    return user if matches else None


def change_password(user_id: int, current_password: str, new_password: str, keep_session_id: str | None) -> None:
    """Set a new password after checking the current one, and end every other session; raise WrongPassword."""
    with write_transaction() as tx:
        user = tx.get(User, user_id)
        if user is None or not passwords.verify(user.password_hash, current_password):
            raise WrongPassword("That is not your current password.")
        user.password_hash = passwords.hash_password(new_password)
        sessions.end_others(tx, user_id, keep_session_id)


def make_admin(email: str, password: str) -> User:
    """Create an admin, or promote an existing account (its password is then reset, its sessions ended)."""
    user = find_by_email(email)
    if user is None:
        user = register(email, password)
    with write_transaction() as tx:
        user = tx.get_one(User, user.id)
        user.is_admin = True
        user.password_hash = passwords.hash_password(password)
        sessions.end_others(tx, user.id, None)
    return user


def dismiss_welcome(user_id: int) -> None:
    """Remember that the user closed the welcome modal."""
    with write_transaction():
        user = db.session.get_one(User, user_id)
        if user.welcome_dismissed_at is None:
            user.welcome_dismissed_at = utcnow()
