"""Charges for feature runs: held, then consumed by the run or refunded once.

Part of the ledger: the same one-conditional-UPDATE-plus-one-row rule holds.
Lock order is always the charge row first, then the account row.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, Integer, String, bindparam, case, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..database import write_transaction
from ..extensions import db
from ..models import AIFeature, TokenAccount, TokenCharge, TransactionType
from ..models._types import UTCDateTime, utcnow
from ..models.ledger import ChargeStatus
from .errors import ChargeNotUsable, IdempotencyConflict, InsufficientTokens, UnknownFeature
from .ledger import NO_SYNC, current_balance, repay_debt, write_row


@dataclass(frozen=True)
class ChargeResult:
    """A charge as the deduct endpoint reports it."""

    charge_id: str
    feature_key: str
    cost: int
    balance: int
    replayed: bool = False


_ACCOUNTS = TokenAccount.__table__
_CHARGES = TokenCharge.__table__
_FEATURES = AIFeature.__table__
_SPENT = case((_ACCOUNTS.c.is_unlimited, 0), else_=bindparam("cost", type_=Integer))

# Built once: charge() is the hottest path in the app, and building statements
# costs more than running them (and would happen while the write lock is held).
_DEBIT = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.user_id == bindparam("account"), _ACCOUNTS.c.debt == 0,
           or_(_ACCOUNTS.c.is_unlimited, _ACCOUNTS.c.balance >= bindparam("cost", type_=Integer)))
    .values(balance=_ACCOUNTS.c.balance - _SPENT, lifetime_spent=_ACCOUNTS.c.lifetime_spent + _SPENT,
            updated_at=bindparam("moment", type_=UTCDateTime))
    .returning(_ACCOUNTS.c.balance, _ACCOUNTS.c.is_unlimited)
)
_ZERO_AMOUNT = update(_CHARGES).where(_CHARGES.c.id == bindparam("charge")).values(amount=0)


def _priced_insert(dialect_insert):
    """INSERT the held charge priced from ai_features, skipping a taken idempotency key."""
    priced = select(
        bindparam("new_id", type_=String), bindparam("owner", type_=Integer), _FEATURES.c.key, _FEATURES.c.cost,
        _FEATURES.c.cost, bindparam("request_key", type_=String), literal(ChargeStatus.HELD.value),
        bindparam("moment", type_=UTCDateTime), bindparam("deadline", type_=UTCDateTime),
    ).where(_FEATURES.c.key == bindparam("feature", type_=String), _FEATURES.c.is_active.is_(True))
    columns = ["id", "user_id", "feature_key", "cost", "amount", "idempotency_key", "status", "created_at", "expires_at"]
    return dialect_insert(_CHARGES).from_select(columns, priced).on_conflict_do_nothing().returning(_CHARGES.c.cost)


_INSERT_CHARGE = {"postgresql": _priced_insert(postgresql.insert), "sqlite": _priced_insert(sqlite.insert)}


def charge(user_id: int, feature_key: str, idempotency_key: str | None = None) -> ChargeResult:
    """Hold a feature's cost for one run; a repeated idempotency key returns the first charge."""
    now = utcnow()
    charge_id = "chg_" + secrets.token_hex(12)
    expires_at = now + timedelta(seconds=current_app.config["CHARGE_TTL_SECONDS"])
    with write_transaction() as session:
        cost = _insert_charge(session, charge_id, user_id, feature_key, idempotency_key, now, expires_at)
        if cost is None:
            return _replay(user_id, feature_key, idempotency_key)
        row = session.execute(_DEBIT, {"account": user_id, "cost": cost, "moment": now}).first()
        if row is None:
            raise _refusal(user_id, cost)
        balance, unlimited = row
        amount = 0 if unlimited else cost
        if unlimited:
            session.execute(_ZERO_AMOUNT, {"charge": charge_id})
        write_row(user_id, TransactionType.SPEND, -amount, balance, feature_key=feature_key, charge_id=charge_id)
    return ChargeResult(charge_id, feature_key, amount, balance)


def _refusal(user_id: int, cost: int) -> InsufficientTokens:
    balance, debt = db.session.execute(
        select(TokenAccount.balance, TokenAccount.debt).where(TokenAccount.user_id == user_id)
    ).one()
    refusal = InsufficientTokens(balance=balance, cost=cost)
    if debt:
        refusal.message = (f"Your account owes {debt} tokens from a refunded purchase. "
                           "Buy tokens to repay it before spending again.")
        refusal.details["debt"] = debt
    return refusal


def _insert_charge(session, charge_id, user_id, feature_key, idempotency_key, now, expires_at) -> int | None:
    """Insert the held charge; its cost, or None when the idempotency key is taken.

    An unknown or inactive feature raises UnknownFeature.
    """
    stmt = _INSERT_CHARGE[session.get_bind().dialect.name]
    cost = session.execute(stmt, {"new_id": charge_id, "owner": user_id, "request_key": idempotency_key,
                                  "moment": now, "deadline": expires_at, "feature": feature_key}).scalar()
    if cost is None and (idempotency_key is None or not _feature_exists(feature_key)):
        raise UnknownFeature(f"No feature called {feature_key!r}.")
    return cost


def _feature_exists(feature_key: str) -> bool:
    return db.session.execute(
        select(AIFeature.id).where(AIFeature.key == feature_key, AIFeature.is_active.is_(True))
    ).first() is not None


def _replay(user_id: int, feature_key: str, idempotency_key: str | None) -> ChargeResult:
    existing = db.session.execute(
        select(TokenCharge).where(TokenCharge.user_id == user_id, TokenCharge.idempotency_key == idempotency_key)
    ).scalar_one()
    if existing.feature_key != feature_key:
        raise IdempotencyConflict("This idempotency key was already used for another feature.")
    return ChargeResult(existing.id, existing.feature_key, existing.amount, current_balance(user_id), replayed=True)


def consume_charge(charge_id: str, user_id: int, feature_key: str) -> None:
    """Mark a held charge as used by a run of its feature, by its owner, once."""
    with write_transaction():
        done = cast(CursorResult, db.session.execute(
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
        )).rowcount
    if done != 1:
        raise ChargeNotUsable("This charge cannot be used: it is settled, expired, or not yours.")


def refund_charge(charge_id: str, user_id: int | None = None, note: str = "Run failed") -> bool:
    """Give a held charge back, exactly once. True when this call refunded it."""
    with write_transaction():
        stmt = update(TokenCharge).where(TokenCharge.id == charge_id, TokenCharge.status == ChargeStatus.HELD.value)
        if user_id is not None:
            stmt = stmt.where(TokenCharge.user_id == user_id)
        row = db.session.execute(
            stmt.values(status=ChargeStatus.REFUNDED.value, settled_at=utcnow()).returning(
                TokenCharge.user_id, TokenCharge.amount, TokenCharge.feature_key
            ),
            execution_options=NO_SYNC,
        ).first()
        if row is None:
            return False
        owner, amount, feature_key = row
        balance, debt = db.session.execute(
            update(TokenAccount).where(TokenAccount.user_id == owner)
            .values(balance=TokenAccount.balance + amount, lifetime_spent=TokenAccount.lifetime_spent - amount,
                    updated_at=utcnow())
            .returning(TokenAccount.balance, TokenAccount.debt),
            execution_options=NO_SYNC,
        ).one()
        write_row(owner, TransactionType.REFUND, amount, balance, feature_key=feature_key, charge_id=charge_id, note=note)
        if debt and amount:
            repay_debt(owner, balance, debt)
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
