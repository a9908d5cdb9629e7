"""Every statement that writes `token_accounts` or `token_transactions`.

No other module may write these tables (tests/test_one_writer.py checks).
Each function runs inside its caller's write transaction, the `tx` it is
handed, and never commits. A balance change is one UPDATE of the user's
fixed `token_accounts` row, whose arithmetic (a debit's floor at zero, what a
reversal can take and what it leaves owed, what a credit repays) happens in
SQL, plus one inserted `token_transactions` row carrying the balance that
UPDATE returned. After each row, `signals.balance_changed` is sent.
"""

from datetime import datetime

from sqlalchemy import Integer, String, bindparam, case, cast, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from ...models import TokenAccount, TokenTransaction, TransactionType
from ...models._types import UTCDateTime, utcnow
from ...signals import balance_changed
from ..errors import InsufficientTokens
from ..sql import insert_ignoring_conflicts

NO_SYNC = {"synchronize_session": False}
LIFETIME_COLUMN = {
    TransactionType.PURCHASE: "lifetime_purchased",
    TransactionType.BONUS: "lifetime_bonus",
}
_ACCOUNTS = TokenAccount.__table__
_ROWS = TokenTransaction.__table__
_ROW_FIELDS = ("feature_key", "charge_id", "dedupe_key", "note", "actor_id")
_INSERT_ROW = insert(_ROWS)
_BALANCE = _ACCOUNTS.c.balance
_MOMENT = bindparam("moment", type_=UTCDateTime)
_ACCOUNT = bindparam("account", type_=Integer)


def _least(left, right):
    """LEAST(left, right), written so that SQLite and PostgreSQL both run it."""
    return case((left < right, left), else_=right)


# Built once: the spend is the hottest statement in the app, and building it
# costs more than running it (and would happen while the write lock is held).
_COST = bindparam("cost", type_=Integer)
_SPENT = case((_ACCOUNTS.c.is_unlimited, 0), else_=_COST)
_SPEND = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.user_id == _ACCOUNT, _ACCOUNTS.c.debt == 0,
           or_(_ACCOUNTS.c.is_unlimited, _BALANCE >= _COST))
    .values(balance=_BALANCE - _SPENT, lifetime_spent=_ACCOUNTS.c.lifetime_spent + _SPENT, updated_at=_MOMENT)
    .returning(_BALANCE, _ACCOUNTS.c.is_unlimited)
)

_REFUND = (
    update(_ACCOUNTS).where(_ACCOUNTS.c.user_id == _ACCOUNT)
    .values(balance=_BALANCE + bindparam("amount", type_=Integer),
            lifetime_spent=_ACCOUNTS.c.lifetime_spent - bindparam("amount", type_=Integer), updated_at=_MOMENT)
    .returning(_BALANCE, _ACCOUNTS.c.debt)
)

_REPAID = _least(_BALANCE, _ACCOUNTS.c.debt)
_REPAY = (
    update(_ACCOUNTS).where(_ACCOUNTS.c.user_id == _ACCOUNT)
    .values(balance=_BALANCE - _REPAID, debt=_ACCOUNTS.c.debt - _REPAID, updated_at=_MOMENT)
    .returning(_BALANCE)
)

# Taking back a purchase: what the balance holds goes, the rest becomes debt.
# The ledger row is written first, from the account row locked FOR UPDATE
# (SQLite's BEGIN IMMEDIATE already excludes other writers), so both
# statements compute the same LEAST(balance, tokens) from the same row.
_TOKENS = bindparam("tokens", type_=Integer)
_TAKEN = _least(_BALANCE, _TOKENS)
_OWED_NOTE = case(
    (_BALANCE < _TOKENS,
     literal("; ", String) + cast(_TOKENS - _BALANCE, String) + literal(" already spent, now owed", String)),
    else_=literal("", String),
)
_TAKE_BACK_ROW = insert(_ROWS).from_select(
    ["user_id", "type", "amount", "balance_after", "note", "created_at"],
    select(_ACCOUNTS.c.user_id, literal(TransactionType.REVERSAL.value, String), -_TAKEN, _BALANCE - _TAKEN,
           func.substr(bindparam("note", type_=String) + _OWED_NOTE, 1, 255), _MOMENT)
    .where(_ACCOUNTS.c.user_id == _ACCOUNT).with_for_update(),
).returning(_ROWS.c.amount)
_TAKE_BACK = (
    update(_ACCOUNTS).where(_ACCOUNTS.c.user_id == _ACCOUNT)
    .values(balance=_BALANCE - _TAKEN, debt=_ACCOUNTS.c.debt + _TOKENS - _TAKEN, updated_at=_MOMENT)
)


def record(tx: Session, user_id: int, tx_type: TransactionType, amount: int, balance_after: int, **fields) -> None:
    """Insert one ledger row for a balance change just made in `tx`, and announce it."""
    tx.execute(_INSERT_ROW, {
        "user_id": user_id, "type": tx_type.value, "amount": amount, "balance_after": balance_after,
        "created_at": utcnow(), **dict.fromkeys(_ROW_FIELDS), **fields,
    })
    balance_changed.send(user_id=user_id)


def open_account(tx: Session, user_id: int) -> None:
    """Create the user's account row at zero, unless it exists."""
    tx.execute(insert_ignoring_conflicts(TokenAccount, {"user_id": user_id, "updated_at": utcnow()}))


def move(tx: Session, user_id: int, delta: int, tx_type: TransactionType, **fields) -> int:
    """Apply `delta` to the balance and write its ledger row; return the new balance.

    A debit that would go below zero raises InsufficientTokens (the caller's
    transaction rolls back). A credit to an account in debt repays the debt
    in a second row.
    """
    values = {"balance": _BALANCE + delta, "updated_at": utcnow()}
    column = LIFETIME_COLUMN.get(tx_type)
    if column and delta > 0:
        values[column] = _ACCOUNTS.c[column] + delta
    stmt = update(_ACCOUNTS).where(_ACCOUNTS.c.user_id == user_id)
    if delta < 0:
        stmt = stmt.where(-delta <= _BALANCE)
    row = tx.execute(stmt.values(**values).returning(_BALANCE, _ACCOUNTS.c.debt)).first()
    if row is None:
        raise InsufficientTokens(balance=_stored_balance(tx, user_id), cost=-delta)
    record(tx, user_id, tx_type, delta, row.balance, **fields)
    if delta > 0 and row.debt > 0:
        return _repay_debt(tx, user_id, row.balance)
    return row.balance


def spend(tx: Session, user_id: int, cost: int, moment: datetime, **fields) -> tuple[int, bool]:
    """Debit a charge's cost (nothing on Unlimited) and write its spend row; (new balance, unlimited).

    An account in debt, or short of `cost`, raises InsufficientTokens.
    """
    row = tx.execute(_SPEND, {"account": user_id, "cost": cost, "moment": moment}).first()
    if row is None:
        raise _refusal(tx, user_id, cost)
    balance, unlimited = row
    record(tx, user_id, TransactionType.SPEND, 0 if unlimited else -cost, balance, **fields)
    return balance, unlimited


def _refusal(tx: Session, user_id: int, cost: int) -> InsufficientTokens:
    balance, debt = tx.execute(select(_BALANCE, _ACCOUNTS.c.debt).where(_ACCOUNTS.c.user_id == user_id)).one()
    refusal = InsufficientTokens(balance=balance, cost=cost)
    if debt:
        refusal.message = (f"Your account owes {debt} tokens from a refunded purchase. "
                           "Buy tokens to repay it before spending again.")
        refusal.details["debt"] = debt
    return refusal


def refund(tx: Session, user_id: int, amount: int, **fields) -> int:
    """Give back a charge's `amount` (no longer counted as spent), repaying debt first; the new balance."""
    balance, debt = tx.execute(_REFUND, {"account": user_id, "amount": amount, "moment": utcnow()}).one()
    record(tx, user_id, TransactionType.REFUND, amount, balance, **fields)
    if debt and amount:
        return _repay_debt(tx, user_id, balance)
    return balance


def _repay_debt(tx: Session, user_id: int, balance: int) -> int:
    """Pay down debt with what the balance holds; return the new balance.

    Runs right after an UPDATE of the same row in `tx` returned `balance`;
    that UPDATE holds the row lock, so `balance` is still current.
    """
    new_balance = tx.execute(_REPAY, {"account": user_id, "moment": utcnow()}).scalar_one()
    repaid = balance - new_balance
    record(tx, user_id, TransactionType.REVERSAL, -repaid, new_balance,
           note=f"Repaid {repaid} tokens owed from a refunded purchase")
    return new_balance


def take_back(tx: Session, user_id: int, tokens: int, note: str) -> int:
    """Reverse `tokens` of a purchase: from the balance, and as debt for what was spent; the tokens now owed."""
    params = {"account": user_id, "tokens": tokens, "note": note, "moment": utcnow()}
    amount = tx.execute(_TAKE_BACK_ROW, params).scalar_one()
    tx.execute(_TAKE_BACK, params)
    balance_changed.send(user_id=user_id)
    return tokens + amount


def set_unlimited(tx: Session, user_id: int, unlimited: bool) -> None:
    """Switch the account's Unlimited flag (no ledger row: the balance does not move)."""
    tx.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.user_id == user_id)
               .values(is_unlimited=unlimited, updated_at=utcnow()))


def _stored_balance(tx: Session, user_id: int) -> int:
    return tx.execute(select(_BALANCE).where(_ACCOUNTS.c.user_id == user_id)).scalar() or 0
