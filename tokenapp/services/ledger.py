"""The token ledger: the only code that changes a balance.

Every change is one conditional UPDATE of the user's fixed `token_accounts`
row plus one inserted `token_transactions` row, in one database transaction.
A debit's UPDATE carries `balance >= n` in its WHERE clause, so it cannot take
a balance below zero whatever runs beside it; nothing reads a balance, does
arithmetic in Python and writes it back. The charge lifecycle lives beside
this module, in `charges`.

Debt: when a refunded or disputed purchase takes back tokens that were
already spent, the balance goes to zero and the rest is recorded as `debt`.
An account in debt cannot spend, and every later credit repays it first.
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..database import is_unique_violation, write_transaction
from ..extensions import db
from ..htmx import note_balance_changed
from ..models import TokenAccount, TokenTransaction, TransactionType
from ..models._types import utcnow
from .errors import InsufficientTokens, InvalidAmount
from .sql import insert_ignoring_conflicts

MAX_AMOUNT = 1_000_000_000
LIFETIME_COLUMN = {
    TransactionType.PURCHASE: "lifetime_purchased",
    TransactionType.BONUS: "lifetime_bonus",
}
NO_SYNC = {"synchronize_session": False}
_INSERT_ROW = insert(TokenTransaction.__table__)
_ROW_FIELDS = ("feature_key", "charge_id", "dedupe_key", "note", "actor_id")


@dataclass(frozen=True)
class BalanceView:
    """A user's balance as the balance endpoint reports it."""

    balance: int
    is_unlimited: bool
    debt: int = 0


def check_amount(amount: object) -> int:
    """A positive whole number of tokens, or InvalidAmount."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount("The amount must be a whole number of tokens.")
    if amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidAmount(f"The amount must be between 1 and {MAX_AMOUNT}.")
    return amount


def write_row(user_id: int, tx_type: TransactionType, amount: int, balance_after: int, **fields) -> None:
    """Insert one ledger row; callers are inside the balance change's transaction."""
    note_balance_changed()
    db.session.execute(_INSERT_ROW, {
        "user_id": user_id, "type": tx_type.value, "amount": amount, "balance_after": balance_after,
        "created_at": utcnow(), **dict.fromkeys(_ROW_FIELDS), **fields,
    })


def _update_account(user_id: int, **values):
    stmt = update(TokenAccount).where(TokenAccount.user_id == user_id).values(updated_at=utcnow(), **values)
    return db.session.execute(stmt.returning(TokenAccount.balance, TokenAccount.debt), execution_options=NO_SYNC).one()


def _move(user_id: int, delta: int, tx_type: TransactionType, **fields) -> int:
    """Apply `delta` to the balance and write its ledger row; return the new balance.

    Must run inside `write_transaction`. A debit that would go below zero
    raises InsufficientTokens and the caller's transaction rolls back. A
    credit to an account in debt repays the debt in a second row.
    """
    values = {"balance": TokenAccount.balance + delta, "updated_at": utcnow()}
    column = LIFETIME_COLUMN.get(tx_type)
    if column and delta > 0:
        values[column] = getattr(TokenAccount, column) + delta
    stmt = update(TokenAccount).where(TokenAccount.user_id == user_id)
    if delta < 0:
        stmt = stmt.where(TokenAccount.balance >= -delta)
    row = db.session.execute(
        stmt.values(**values).returning(TokenAccount.balance, TokenAccount.debt), execution_options=NO_SYNC
    ).first()
    if row is None:
        raise InsufficientTokens(balance=current_balance(user_id), cost=-delta)
    write_row(user_id, tx_type, delta, row.balance, **fields)
    if delta > 0 and row.debt > 0:
        return repay_debt(user_id, row.balance, row.debt)
    return row.balance


def repay_debt(user_id: int, balance: int, debt: int) -> int:
    """Use what the balance can spare to pay down debt; return the new balance.

    Called right after an UPDATE of the same account row in this transaction,
    which holds the row lock, so `balance` and `debt` are current.
    """
    repaid = min(balance, debt)
    new_balance, _debt = _update_account(
        user_id, balance=TokenAccount.balance - repaid, debt=TokenAccount.debt - repaid
    )
    write_row(user_id, TransactionType.REVERSAL, -repaid, new_balance,
              note=f"Repaid {repaid} tokens owed from a refunded purchase")
    return new_balance


def current_balance(user_id: int) -> int:
    """The balance as stored."""
    balance = db.session.execute(select(TokenAccount.balance).where(TokenAccount.user_id == user_id)).scalar()
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
    check_amount(amount)
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


def grant_purchase(user_id: int, tokens: int, *, dedupe_key: str, note: str) -> int:
    """Credit a paid purchase inside the caller's transaction, once per dedupe key."""
    check_amount(tokens)
    return _move(user_id, tokens, TransactionType.PURCHASE, dedupe_key=dedupe_key, note=note[:255])


def take_back(user_id: int, tokens: int, note: str) -> int:
    """Reverse `tokens` of a purchase: from the balance, and as debt for what was spent.

    Runs inside the caller's transaction (the purchase update). Returns the
    tokens that became debt.
    """
    check_amount(tokens)
    balance = db.session.execute(
        select(TokenAccount.balance).where(TokenAccount.user_id == user_id).with_for_update()
    ).scalar_one()
    taken = min(balance, tokens)
    owed = tokens - taken
    new_balance, _debt = _update_account(
        user_id, balance=TokenAccount.balance - taken, debt=TokenAccount.debt + owed
    )
    suffix = f"; {owed} already spent, now owed" if owed else ""
    write_row(user_id, TransactionType.REVERSAL, -taken, new_balance, note=f"{note}{suffix}"[:255])
    return owed


def give_back(user_id: int, tokens: int, note: str) -> None:
    """Restore tokens an earlier reversal took (a dispute won), repaying debt first."""
    check_amount(tokens)
    _move(user_id, tokens, TransactionType.REVERSAL, note=note[:255])


def balance_of(user_id: int) -> BalanceView:
    """The owner's balance: one indexed read (the sweep job, not a read, refunds stale charges)."""
    row = db.session.execute(
        select(TokenAccount.balance, TokenAccount.is_unlimited, TokenAccount.debt).where(TokenAccount.user_id == user_id)
    ).first()
    return BalanceView(0, False) if row is None else BalanceView(row.balance, row.is_unlimited, row.debt)


def set_unlimited(user_id: int, unlimited: bool) -> None:
    """Switch a user's Unlimited plan on or off."""
    with write_transaction():
        _update_account(user_id, is_unlimited=unlimited)
