"""Charges for feature runs: held, then consumed by the run or refunded once.

Part of the ledger: the same one-conditional-UPDATE-plus-one-row rule holds.
Lock order is always the charge row first, then the account row.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, literal, select, update

from ..database import write_transaction
from ..extensions import db
from ..models import AIFeature, TokenAccount, TokenCharge, TransactionType
from ..models._types import utcnow
from ..models.ledger import ChargeStatus
from .errors import ChargeNotUsable, IdempotencyConflict, InsufficientTokens, UnknownFeature
from .ledger import NO_SYNC, current_balance, repay_debt, write_row
from .sql import insert_ignoring_conflicts


@dataclass(frozen=True)
class ChargeResult:
    """A charge as the deduct endpoint reports it."""

    charge_id: str
    feature_key: str
    cost: int
    balance: int
    replayed: bool = False


def charge(user_id: int, feature_key: str, idempotency_key: str | None = None) -> ChargeResult:
    """Hold a feature's cost for one run; a repeated idempotency key returns the first charge."""
    now = utcnow()
    charge_id = "chg_" + secrets.token_hex(12)
    ttl = timedelta(seconds=current_app.config["CHARGE_TTL_SECONDS"])
    with write_transaction():
        cost = _insert_charge(charge_id, user_id, feature_key, idempotency_key, now, now + ttl)
        if cost is None:
            return _replay(user_id, feature_key, idempotency_key)
        spent = case((TokenAccount.is_unlimited, 0), else_=cost)
        row = db.session.execute(
            update(TokenAccount)
            .where(TokenAccount.user_id == user_id, TokenAccount.debt == 0)
            .where(TokenAccount.is_unlimited | (TokenAccount.balance >= cost))
            .values(balance=TokenAccount.balance - spent, lifetime_spent=TokenAccount.lifetime_spent + spent,
                    updated_at=now)
            .returning(TokenAccount.balance, TokenAccount.is_unlimited),
            execution_options=NO_SYNC,
        ).first()
        if row is None:
            raise _refusal(user_id, cost)
        balance, unlimited = row
        amount = 0 if unlimited else cost
        if unlimited:
            db.session.execute(update(TokenCharge).where(TokenCharge.id == charge_id).values(amount=0),
                               execution_options=NO_SYNC)
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


def _insert_charge(charge_id, user_id, feature_key, idempotency_key, now, expires_at) -> int | None:
    """Insert the held charge, priced from the feature table in the same statement.

    Returns the cost, or None when the idempotency key is already taken. An
    unknown or inactive feature raises UnknownFeature.
    """
    priced = select(
        literal(charge_id), literal(user_id), AIFeature.key, AIFeature.cost, AIFeature.cost,
        literal(idempotency_key), literal(ChargeStatus.HELD.value), literal(now), literal(expires_at),
    ).where(AIFeature.key == feature_key, AIFeature.is_active.is_(True))
    columns = ["id", "user_id", "feature_key", "cost", "amount", "idempotency_key", "status", "created_at", "expires_at"]
    stmt = insert_ignoring_conflicts(TokenCharge, select_from=(columns, priced)).returning(TokenCharge.cost)
    cost = db.session.execute(stmt).scalar()
    if cost is None and (idempotency_key is None or not _feature_exists(feature_key)):
        raise UnknownFeature(f"No feature called {feature_key!r}.")
    return cost


def _feature_exists(feature_key: str) -> bool:
    return db.session.execute(
        select(AIFeature.id).where(AIFeature.key == feature_key, AIFeature.is_active.is_(True))
    ).first() is not None


def _replay(user_id: int, feature_key: str, idempotency_key: str) -> ChargeResult:
    existing = db.session.execute(
        select(TokenCharge).where(TokenCharge.user_id == user_id, TokenCharge.idempotency_key == idempotency_key)
    ).scalar_one()
    if existing.feature_key != feature_key:
        raise IdempotencyConflict("This idempotency key was already used for another feature.")
    return ChargeResult(existing.id, existing.feature_key, existing.amount, current_balance(user_id), replayed=True)


def consume_charge(charge_id: str, user_id: int, feature_key: str) -> None:
    """Mark a held charge as used by a run of its feature, by its owner, once."""
    with write_transaction():
        done = db.session.execute(
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
        ).rowcount
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
