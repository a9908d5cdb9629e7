"""Charges for feature runs: held, then consumed by the run or refunded once.

The charge row (`token_charges`) is written here; the balance it moves is
written by the ledger (`ledger.writer`), in the same transaction. Lock order
is always the charge row first, then the account row. On PostgreSQL a new
charge that the hot spend covers is written, charge row included, by the
ledger's `charge_in_one_call`: one round trip, one transaction, same order.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, Integer, String, bindparam, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..database import WRITE_OPTION, HotStatement, write_transaction
from ..extensions import db
from ..models import AIFeature, TokenCharge
from ..models._types import UTCDateTime, utcnow
from ..models.ledger import ChargeStatus
from . import ledger
from .errors import ChargeNotUsable, IdempotencyConflict, UnknownFeature
from .ledger import NO_SYNC, writer


@dataclass(frozen=True)
class ChargeResult:
    """A charge as the deduct endpoint reports it."""

    charge_id: str
    feature_key: str
    cost: int
    balance: int
    replayed: bool = False


IDEMPOTENCY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}\Z")
_CHARGES = TokenCharge.__table__
_FEATURES = AIFeature.__table__

# Built once: charge() is the hottest path in the app, and building statements
# costs more than running them (and would happen while the write lock is held).
# The debit it makes is built once too, in `ledger.writer`.
_ZERO_AMOUNT = update(_CHARGES).where(_CHARGES.c.id == bindparam("charge")).values(amount=0)


def _priced_insert(dialect_insert):
    """INSERT the held charge priced from ai_features, skipping a taken idempotency key."""
    priced = select(
        bindparam("new_id", type_=String),
        bindparam("owner", type_=Integer),
        _FEATURES.c.key,
        _FEATURES.c.cost,
        _FEATURES.c.cost,
        bindparam("request_key", type_=String),
        literal(ChargeStatus.HELD.value),
        bindparam("moment", type_=UTCDateTime),
        bindparam("deadline", type_=UTCDateTime),
    ).where(_FEATURES.c.key == bindparam("feature", type_=String), _FEATURES.c.is_active.is_(True))
    columns = [
        "id",
        "user_id",
        "feature_key",
        "cost",
        "amount",
        "idempotency_key",
        "status",
        "created_at",
        "expires_at",
    ]
    return dialect_insert(_CHARGES).from_select(columns, priced).on_conflict_do_nothing().returning(_CHARGES.c.cost)


_INSERT_CHARGE = HotStatement(
    {"postgresql": _priced_insert(postgresql.insert), "sqlite": _priced_insert(sqlite.insert)}
)


def charge(user_id: int, feature_key: str, idempotency_key: str | None = None) -> ChargeResult:
    """Hold a feature's cost for one run; a repeated idempotency key returns the first charge."""
    now = utcnow()
    charge_id = "chg_" + secrets.token_hex(12)
    expires_at = now + timedelta(seconds=current_app.config["CHARGE_TTL_SECONDS"])
    if _may_commit_on_its_own():
        done = writer.charge_in_one_call(
            db.session(), charge_id, user_id, feature_key, idempotency_key, moment=now, deadline=expires_at
        )
        if done is not None:
            price, balance, unlimited = done
            return ChargeResult(charge_id, feature_key, 0 if unlimited else price, balance)
    with write_transaction() as tx:
        cost = _insert_charge(tx, charge_id, user_id, feature_key, idempotency_key, now, expires_at)
        if cost is None:
            return _replay(tx, user_id, feature_key, idempotency_key)
        balance, unlimited = writer.spend(tx, user_id, cost, now, feature_key=feature_key, charge_id=charge_id)
        if unlimited:
            tx.execute(_ZERO_AMOUNT, {"charge": charge_id})
    return ChargeResult(charge_id, feature_key, 0 if unlimited else cost, balance)


def _may_commit_on_its_own() -> bool:
    """True when the charge may commit without the session: no write transaction is open around it
    and the session holds no change a commit would have written with it."""
    session = db.session()
    return not (session.info.get(WRITE_OPTION) or session.new or session.dirty or session.deleted)


def _insert_charge(tx: Session, charge_id, user_id, feature_key, idempotency_key, now, expires_at) -> int | None:
    """Insert the held charge; its cost, or None when the idempotency key is taken.

    An unknown or inactive feature raises UnknownFeature.
    """
    inserted = _INSERT_CHARGE.first(
        tx.connection(),
        {
            "new_id": charge_id,
            "owner": user_id,
            "request_key": idempotency_key,
            "moment": now,
            "deadline": expires_at,
            "feature": feature_key,
        },
    )
    cost = inserted[0] if inserted else None
    if cost is None and (idempotency_key is None or not _feature_exists(tx, feature_key)):
        raise UnknownFeature(f"No feature called {feature_key!r}.")
    return cost


def _feature_exists(tx: Session, feature_key: str) -> bool:
    return (
        tx.execute(select(AIFeature.id).where(AIFeature.key == feature_key, AIFeature.is_active.is_(True))).first()
        is not None
    )


def _replay(tx: Session, user_id: int, feature_key: str, idempotency_key: str | None) -> ChargeResult:
    existing = tx.execute(
        select(TokenCharge).where(TokenCharge.user_id == user_id, TokenCharge.idempotency_key == idempotency_key)
    ).scalar_one()
    if existing.feature_key != feature_key:
        raise IdempotencyConflict("This idempotency key was already used for another feature.")
    return ChargeResult(
        existing.id, existing.feature_key, existing.amount, ledger.current_balance(user_id), replayed=True
    )


def consume_charge(charge_id: str, user_id: int, feature_key: str) -> None:
    """Mark a held charge as used by a run of its feature, by its owner, once."""
    with write_transaction():
        done = cast(
            CursorResult,
            db.session.execute(
                update(TokenCharge)
                .where(
                    TokenCharge.id == charge_id,
                    TokenCharge.user_id == user_id,
                    TokenCharge.feature_key == feature_key,
                    TokenCharge.status == ChargeStatus.HELD.value,
                    TokenCharge.expires_at > utcnow(),
                )
                .values(status=ChargeStatus.CONSUMED.value, settled_at=utcnow()),
                execution_options=NO_SYNC,
            ),
        ).rowcount
    if done != 1:
        raise ChargeNotUsable("This charge cannot be used: it is settled, expired, or not yours.")


def refund_charge(charge_id: str, user_id: int | None = None, note: str = "Run failed") -> bool:
    """Give a held charge back, exactly once. True when this call refunded it."""
    with write_transaction() as tx:
        stmt = update(TokenCharge).where(TokenCharge.id == charge_id, TokenCharge.status == ChargeStatus.HELD.value)
        if user_id is not None:
            stmt = stmt.where(TokenCharge.user_id == user_id)
        row = tx.execute(
            stmt.values(status=ChargeStatus.REFUNDED.value, settled_at=utcnow()).returning(
                TokenCharge.user_id, TokenCharge.amount, TokenCharge.feature_key
            ),
            execution_options=NO_SYNC,
        ).first()
        if row is None:
            return False
        owner, amount, feature_key = row
        writer.refund(tx, owner, amount, feature_key=feature_key, charge_id=charge_id, note=note)
    return True


def release_stale_charges(user_id: int | None = None, now: datetime | None = None, limit: int = 500) -> int:
    """Refund held charges past their time limit; return how many were refunded."""
    stmt = select(TokenCharge.id).where(
        TokenCharge.status == ChargeStatus.HELD.value, TokenCharge.expires_at <= (now or utcnow())
    )
    if user_id is not None:
        stmt = stmt.where(TokenCharge.user_id == user_id)
    stale = db.session.execute(stmt.limit(limit)).scalars().all()
    return sum(refund_charge(charge_id, note="Not used within its time limit") for charge_id in stale)
