"""The token ledger: the only code that changes a balance.

Every change is one conditional UPDATE of the user's fixed `token_accounts`
row plus one inserted `token_transactions` row, in one database transaction.
A debit's UPDATE carries `balance >= n` in its WHERE clause, so it cannot take
a balance below zero whatever runs beside it; nothing reads a balance, does
arithmetic in Python and writes it back.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from ..database import is_unique_violation, write_transaction
from ..extensions import db
from ..models import AIFeature, TokenAccount, TokenCharge, TokenTransaction, TransactionType
from ..models._types import utcnow
from ..models.ledger import ChargeStatus
from .errors import ChargeNotUsable, IdempotencyConflict, InsufficientTokens, InvalidAmount, UnknownFeature
from .sql import insert_ignoring_conflicts

MAX_AMOUNT = 1_000_000_000
LIFETIME_COLUMN = {
    TransactionType.PURCHASE: "lifetime_purchased",
    TransactionType.BONUS: "lifetime_bonus",
}
_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class ChargeResult:
    """A charge as the deduct endpoint reports it."""

    charge_id: str
    feature_key: str
    cost: int
    balance: int
    replayed: bool = False


@dataclass(frozen=True)
class BalanceView:
    """A user's balance as the balance endpoint reports it."""

    balance: int
    is_unlimited: bool


def _check_amount(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount("The amount must be a whole number of tokens.")
    if amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidAmount(f"The amount must be between 1 and {MAX_AMOUNT}.")
    return amount


def _write_row(user_id: int, tx_type: TransactionType, amount: int, balance_after: int, **fields) -> None:
    db.session.execute(
        insert(TokenTransaction).values(
            user_id=user_id,
            type=tx_type.value,
            amount=amount,
            balance_after=balance_after,
            created_at=utcnow(),
            **fields,
        )
    )


def _move(user_id: int, delta: int, tx_type: TransactionType, **fields) -> int:
    """Apply `delta` to the balance and write its ledger row; return the new balance.

    Must run inside `write_transaction`. A debit that would go below zero
    raises InsufficientTokens and the caller's transaction rolls back.
    """
    values = {"balance": TokenAccount.balance + delta, "updated_at": utcnow()}
    column = LIFETIME_COLUMN.get(tx_type)
    if column and delta > 0:
        values[column] = getattr(TokenAccount, column) + delta
    stmt = update(TokenAccount).where(TokenAccount.user_id == user_id)
    if delta < 0:
        stmt = stmt.where(TokenAccount.balance >= -delta)
    new_balance = db.session.execute(
        stmt.values(**values).returning(TokenAccount.balance), execution_options=_NO_SYNC
    ).scalar()
    if new_balance is None:
        raise InsufficientTokens(balance=_current_balance(user_id), cost=-delta)
    _write_row(user_id, tx_type, delta, new_balance, **fields)
    return new_balance


def _current_balance(user_id: int) -> int:
    balance = db.session.execute(
        select(TokenAccount.balance).where(TokenAccount.user_id == user_id)
    ).scalar()
    return balance or 0


def open_account(user_id: int) -> None:
    """Create the user's token account and grant the welcome bonus once."""
    with write_transaction():
        db.session.execute(insert_ignoring_conflicts(TokenAccount, {"user_id": user_id, "updated_at": utcnow()}))
    bonus = current_app.config["WELCOME_BONUS_TOKENS"]
    if bonus > 0:
        credit(user_id, bonus, TransactionType.BONUS, dedupe_key="welcome", note="Welcome bonus")


def credit(user_id: int, amount: int, tx_type: TransactionType, *, dedupe_key: str | None = None, **fields) -> bool:
    """Add tokens; with a `dedupe_key`, at most once per user. True when credited."""
    _check_amount(amount)
    try:
        with write_transaction():
            _move(user_id, amount, tx_type, dedupe_key=dedupe_key, **fields)
    except IntegrityError as error:
        if dedupe_key is None or not is_unique_violation(error):
            raise
        return False
    return True


def adjust(user_id: int, delta: int, *, reason: str, actor_id: int | None = None) -> int:
    """An audited admin adjustment in either direction; return the new balance."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_AMOUNT:
        raise InvalidAmount(f"The adjustment must be a non-zero whole number up to {MAX_AMOUNT}.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidAmount("An adjustment needs a reason.")
    with write_transaction():
        return _move(user_id, delta, TransactionType.ADJUSTMENT, note=reason[:255], actor_id=actor_id)


def charge(user_id: int, feature_key: str, idempotency_key: str | None = None) -> ChargeResult:
    """Hold a feature's cost for one run; a repeated idempotency key returns the first charge."""
    now = utcnow()
    charge_id = "chg_" + secrets.token_hex(12)
    ttl = timedelta(seconds=current_app.config["CHARGE_TTL_SECONDS"])
    with write_transaction():
        cost = _insert_charge(charge_id, user_id, feature_key, idempotency_key, now, now + ttl)
        if cost is None:
            return _replay(user_id, feature_key, idempotency_key)
        row = db.session.execute(
            update(TokenAccount)
            .where(TokenAccount.user_id == user_id)
            .where(TokenAccount.is_unlimited | (TokenAccount.balance >= cost))
            .values(
                balance=TokenAccount.balance - case((TokenAccount.is_unlimited, 0), else_=cost),
                lifetime_spent=TokenAccount.lifetime_spent + case((TokenAccount.is_unlimited, 0), else_=cost),
                updated_at=now,
            )
            .returning(TokenAccount.balance, TokenAccount.is_unlimited),
            execution_options=_NO_SYNC,
        ).first()
        if row is None:
            raise InsufficientTokens(balance=_current_balance(user_id), cost=cost)
        balance, unlimited = row
        amount = 0 if unlimited else cost
        if unlimited:
            db.session.execute(
                update(TokenCharge).where(TokenCharge.id == charge_id).values(amount=0),
                execution_options=_NO_SYNC,
            )
        _write_row(user_id, TransactionType.SPEND, -amount, balance, feature_key=feature_key, charge_id=charge_id)
    return ChargeResult(charge_id, feature_key, amount, balance)


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
    return ChargeResult(existing.id, existing.feature_key, existing.amount, _current_balance(user_id), replayed=True)


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
            execution_options=_NO_SYNC,
        ).rowcount
    if done != 1:
        raise ChargeNotUsable("This charge cannot be used: it is settled, expired, or not yours.")


def refund_charge(charge_id: str, user_id: int | None = None, note: str = "Run failed") -> bool:
    """Give a held charge back, exactly once. True when this call refunded it."""
    with write_transaction():
        stmt = update(TokenCharge).where(
            TokenCharge.id == charge_id, TokenCharge.status == ChargeStatus.HELD.value
        )
        if user_id is not None:
            stmt = stmt.where(TokenCharge.user_id == user_id)
        row = db.session.execute(
            stmt.values(status=ChargeStatus.REFUNDED.value, settled_at=utcnow()).returning(
                TokenCharge.user_id, TokenCharge.amount, TokenCharge.feature_key
            ),
            execution_options=_NO_SYNC,
        ).first()
        if row is None:
            return False
        owner, amount, feature_key = row
        values = {"balance": TokenAccount.balance + amount, "updated_at": utcnow()}
        values["lifetime_spent"] = TokenAccount.lifetime_spent - amount
        balance = db.session.execute(
            update(TokenAccount).where(TokenAccount.user_id == owner).values(**values).returning(TokenAccount.balance),
            execution_options=_NO_SYNC,
        ).scalar_one()
        _write_row(owner, TransactionType.REFUND, amount, balance, feature_key=feature_key, charge_id=charge_id, note=note)
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


def balance_of(user_id: int) -> BalanceView:
    """The owner's balance, after refunding any of their stale charges."""
    release_stale_charges(user_id)
    row = db.session.execute(
        select(TokenAccount.balance, TokenAccount.is_unlimited).where(TokenAccount.user_id == user_id)
    ).first()
    return BalanceView(0, False) if row is None else BalanceView(row.balance, row.is_unlimited)


def set_unlimited(user_id: int, unlimited: bool) -> None:
    """Switch a user's Unlimited plan on or off."""
    with write_transaction():
        db.session.execute(
            update(TokenAccount).where(TokenAccount.user_id == user_id).values(is_unlimited=unlimited, updated_at=utcnow()),
            execution_options=_NO_SYNC,
        )
