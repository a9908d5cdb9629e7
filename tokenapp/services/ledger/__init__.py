"""The token ledger: the only code that changes a balance.

Every change is one conditional UPDATE of the user's fixed `token_accounts`
row plus one inserted `token_transactions` row, in one database transaction.
Those statements live in `ledger.writer`, and no other module writes either
table (tests/test_one_writer.py checks). A debit's UPDATE carries
`balance >= n` in its WHERE clause, so it cannot take a balance below zero
whatever runs beside it; nothing reads a balance, does arithmetic in Python
and writes it back. Charges, refunds, purchases, reversals and grants all
call this package; each balance change is announced on
`tokenapp.signals.balance_changed`.

Debt: when a refunded or disputed purchase takes back tokens that were
already spent, the balance goes to zero and the rest is recorded as `debt`.
An account in debt cannot spend, and every later credit repays it first.

Functions whose first parameter is `tx` run inside their caller's write
transaction and never commit; the others open their own.
"""

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...database import is_unique_violation, read_one, write_transaction
from ...extensions import db
from ...models import TokenAccount, TransactionType
from ..errors import InvalidAmount
from . import writer

MAX_AMOUNT = 1_000_000_000
NO_SYNC = writer.NO_SYNC


@dataclass(frozen=True)
class BalanceView:
    """A user's balance as the balance endpoint reports it."""

    balance: int
    is_unlimited: bool
    debt: int = 0
    has_spent: bool = field(default=False, compare=False)

    @property
    def low(self) -> bool:
        """Whether the low-balance alert shows for this balance (see `is_low_balance`)."""
        return is_low_balance(self.balance, unlimited=self.is_unlimited, has_spent=self.has_spent)


def is_low_balance(balance: int, *, unlimited: bool, has_spent: bool) -> bool:
    """The low-balance rule (CONTRACT §4 `#low-balance-alert`), the one place it is written.

    Low while a non-unlimited balance is below LOW_BALANCE_THRESHOLD and the
    account has spent at least once: a new account's welcome tokens are a
    welcome state, not a warning.
    """
    return has_spent and not unlimited and balance < current_app.config["LOW_BALANCE_THRESHOLD"]


def check_amount(amount: object) -> int:
    """A positive whole number of tokens, or InvalidAmount."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount("The amount must be a whole number of tokens.")
    if amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidAmount(f"The amount must be between 1 and {MAX_AMOUNT}.")
    return amount


def current_balance(user_id: int) -> int:
    """The balance as stored."""
    balance = db.session.execute(select(TokenAccount.balance).where(TokenAccount.user_id == user_id)).scalar()
    return balance or 0


_BALANCE = (select(TokenAccount.balance, TokenAccount.is_unlimited, TokenAccount.debt, TokenAccount.lifetime_spent)
            .where(TokenAccount.user_id == bindparam("user_id")))


def balance_of(user_id: int) -> BalanceView:
    """The owner's balance: one indexed read, outside any transaction when none is open (`database.read_one`).

    The sweep job, not a read, refunds stale charges.

    "Has spent" means `lifetime_spent > 0`: tokens spent and not refunded.
    """
    row = read_one(db.session.connection(), _BALANCE, {"user_id": user_id})
    if row is None:
        return BalanceView(0, False)
    return BalanceView(row["balance"], row["is_unlimited"], row["debt"], has_spent=row["lifetime_spent"] > 0)


def open_account(user_id: int) -> None:
    """Create the user's token account and grant the welcome bonus once."""
    with write_transaction() as tx:
        writer.open_account(tx, user_id)
    bonus = current_app.config["WELCOME_BONUS_TOKENS"]
    if bonus > 0:
        credit(user_id, bonus, TransactionType.BONUS, dedupe_key="welcome", note="Welcome bonus")


def credit(user_id: int, amount: int, tx_type: TransactionType, *, dedupe_key: str | None = None, **fields) -> bool:
    """Add tokens; with a `dedupe_key`, at most once per user. True when credited."""
    check_amount(amount)
    try:
        with write_transaction() as tx:
            writer.move(tx, user_id, amount, tx_type, dedupe_key=dedupe_key, **fields)
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
    with write_transaction() as tx:
        return writer.move(tx, user_id, delta, TransactionType.ADJUSTMENT, note=reason[:255], actor_id=actor_id)


def grant_purchase(tx: Session, user_id: int, tokens: int, *, dedupe_key: str, note: str) -> int:
    """Credit a paid purchase in `tx`, once per dedupe key; return the new balance."""
    check_amount(tokens)
    return writer.move(tx, user_id, tokens, TransactionType.PURCHASE, dedupe_key=dedupe_key, note=note[:255])


def take_back(tx: Session, user_id: int, tokens: int, note: str) -> int:
    """Reverse `tokens` of a purchase in `tx`: from the balance, and as debt for what was spent.

    Returns the tokens that became debt.
    """
    check_amount(tokens)
    return writer.take_back(tx, user_id, tokens, note)


def give_back(tx: Session, user_id: int, tokens: int, note: str) -> None:
    """Restore in `tx` tokens an earlier reversal took (a dispute won), repaying debt first."""
    check_amount(tokens)
    writer.move(tx, user_id, tokens, TransactionType.REVERSAL, note=note[:255])


def set_unlimited(user_id: int, unlimited: bool) -> None:
    """Switch a user's Unlimited plan on or off."""
    with write_transaction() as tx:
        writer.set_unlimited(tx, user_id, unlimited)
