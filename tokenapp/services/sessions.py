"""Server-side session records: a signed cookie works only while its record exists.

Signing in makes a record with a random id, kept in the (signed) session
cookie; every request loads the user through that record in one query.
Signing out deletes it, so a copy of the cookie stops working; a password
change deletes all the user's other records. A record older than the app's
PERMANENT_SESSION_LIFETIME no longer signs anyone in.
"""

import secrets
from datetime import timedelta
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, delete, select

from ..database import write_transaction
from ..digits import id_or_none
from ..extensions import db
from ..models import User, UserSession
from ..models._types import utcnow


def _oldest_valid():
    lifetime: timedelta = current_app.config["PERMANENT_SESSION_LIFETIME"]
    return utcnow() - lifetime


def start(user_id: int) -> str:
    """Record a new session for the user (dropping their expired ones); return its id."""
    session_id = secrets.token_urlsafe(32)
    with write_transaction():
        db.session.execute(delete(UserSession).where(UserSession.user_id == user_id,
                                                     UserSession.created_at < _oldest_valid()))
        db.session.add(UserSession(id=session_id, user_id=user_id))
    return session_id


def user_for(user_id: str, session_id: str | None) -> User | None:
    """The user whose live session this is, or None (logged out, revoked, expired or forged)."""
    number = id_or_none(user_id)
    if number is None:
        return None
    query = (select(User).join(UserSession, UserSession.user_id == User.id)
             .where(User.id == number, UserSession.id == (session_id or ""),
                    UserSession.created_at >= _oldest_valid()))
    return db.session.execute(query).scalar()


def end(session_id: str | None) -> None:
    """Revoke one session (signing out); a missing id changes nothing."""
    if not session_id:
        return
    with write_transaction():
        db.session.execute(delete(UserSession).where(UserSession.id == session_id))


def end_others(user_id: int, keep_session_id: str | None) -> int:
    """Revoke every session of the user except `keep_session_id`; return how many ended.

    Runs inside the caller's transaction when there is one (a password change).
    """
    with write_transaction():
        result = cast(CursorResult, db.session.execute(delete(UserSession).where(
            UserSession.user_id == user_id, UserSession.id != (keep_session_id or ""))))
    return result.rowcount
