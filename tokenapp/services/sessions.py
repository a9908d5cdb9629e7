"""Server-side session records: a signed cookie works only while its record exists.

Signing in makes a record with a random id, kept in the (signed) session
cookie; every request loads the user through that record in one query,
built once and run on the DBAPI cursor as a `database.HotStatement` (the
ORM's loading machinery cost a third of a millisecond of CPU per request),
outside any transaction on PostgreSQL (`database.read_one`).
Signing out deletes it, so a copy of the cookie stops working; a password
change deletes all the user's other records. A record older than the app's
PERMANENT_SESSION_LIFETIME no longer signs anyone in.
"""

import secrets
from datetime import timedelta
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, bindparam, delete, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.util import identity_key

from ..database import HotStatement, read_one, write_transaction
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
        db.session.execute(
            delete(UserSession).where(UserSession.user_id == user_id, UserSession.created_at < _oldest_valid())
        )
        db.session.add(UserSession(id=session_id, user_id=user_id))
    return session_id


_USERS, _SESSIONS = User.__table__, UserSession.__table__
_LIVE_SESSION_USER = HotStatement(
    select(*(attribute.columns[0].label(attribute.key) for attribute in User.__mapper__.column_attrs))
    .join_from(_USERS, _SESSIONS, _SESSIONS.c.user_id == _USERS.c.id)
    .where(
        _USERS.c.id == bindparam("user_id"),
        _SESSIONS.c.id == bindparam("session_id"),
        _SESSIONS.c.created_at >= bindparam("oldest", type_=_SESSIONS.c.created_at.type),
    )
)


def user_for(user_id: str, session_id: str | None) -> User | None:
    """The user whose live session this is, or None (logged out, revoked, expired or forged)."""
    number = id_or_none(user_id)
    if number is None:
        return None
    row = read_one(
        db.session.connection(),
        _LIVE_SESSION_USER,
        {
            "user_id": number,
            "session_id": session_id or "",
            "oldest": _oldest_valid(),
        },
    )
    return None if row is None else _as_loaded(row)


_NEW_USER = User.__mapper__.class_manager.new_instance  # a User without __init__, as the ORM's loader makes one


def _as_loaded(row) -> User:
    """The session's User for a row of its mapped columns, as if the ORM had loaded it (no second query).

    Clean and persistent in the request's session: a change to it is flushed
    like any loaded object's, and a commit expires it as usual. It is built as
    the ORM's own loader builds an instance, without `User.__init__` and its
    attribute events (a fifth of the cost): the row's values are put in its
    state, and `make_transient_to_detached` marks them all as loaded.
    """
    session = db.session()
    existing = session.identity_map.get(identity_key(User, row["id"]))
    if existing is not None:
        return existing
    user = _NEW_USER()
    instance_state(user).dict.update(row)
    make_transient_to_detached(user)
    session.add(user)
    return user


def end(session_id: str | None) -> None:
    """Revoke one session (signing out); a missing id changes nothing."""
    if not session_id:
        return
    with write_transaction():
        db.session.execute(delete(UserSession).where(UserSession.id == session_id))


def end_others(tx: Session, user_id: int, keep_session_id: str | None) -> int:
    """Revoke in `tx` every session of the user except `keep_session_id`; return how many ended."""
    result = cast(
        CursorResult,
        tx.execute(
            delete(UserSession).where(UserSession.user_id == user_id, UserSession.id != (keep_session_id or ""))
        ),
    )
    return result.rowcount
