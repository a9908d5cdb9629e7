"""The token ledger: the only code that changes a balance.

Lots. Every credit is a lot (`token_lots`): its source (purchase, welcome,
daily_bonus, referral, gift, adjustment, subscription, migration), its kind
(paid or bonus), tokens granted and remaining, its cost in cents for all its
tokens (zero for bonus), and an optional expiry: bonus lots expire after
BONUS_TOKEN_EXPIRY_DAYS, paid lots only when PAID_TOKEN_EXPIRY_DAYS is set
(0 means never). A token pack's tokens, its bonus tokens included, are one
paid lot: they were bought at one price. A debit draws lots in
`consumption_order` (soonest-expiring, then bonus before paid, then oldest).
A ledger row names the one lot it touched in `lot_id`, or lists several in
`token_draws`; a refund puts a charge's tokens back in the lots its spend
took them from, and a part whose lot has expired meanwhile expires at once.

Balance. Each user has one fixed `token_accounts` row, the cache every
debit locks: a spend is one conditional UPDATE (`balance >= cost`, no debt,
`next_expiry_at` in the future), one UPDATE of the first lot in consumption
order when it covers the cost (else a walk over the lots), and one INSERT of
the ledger row, in one transaction; see `ledger.writer`, the only module
that writes these tables (tests/test_one_writer.py checks). A lot that is
due is expired, under the account's lock, before anything else changes the
account, and a balance read expires it too, so at every commit
balance = sum of the ledger amounts = newest balance_after = tokens remaining
in unexpired lots, and an expired lot is never spent even before the sweep
(`expire_lots`, a periodic job and `flask tokens expire`) reaches it.

Double entry. Every ledger row is one transfer between the user and the
system account named in `counterparty` (stripe, promotions, revenue, expiry,
receivable, transfers, adjustments): the wallet moves by `amount`, the
user's debt by `debt_change`, the system account by `debt_change - amount`.
System balances are sums over rows (no hot row), and all accounts sum to
zero. Debt is tokens already spent from a purchase that was refunded or
disputed: a reversal records it in `debt_change`, `token_accounts.debt`
caches the sum (the auditor checks), an account in debt cannot spend, and
every later credit repays it first. `cents` carries the paid tokens' value at
cost basis, so `figures()` reads the money straight off the ledger.

Transfers (`transfer`) move only paid tokens, keeping their cost basis and
expiry, and lock both accounts lower user id first.

Functions whose first parameter is `tx` run inside their caller's write
transaction and never commit; the others open their own. Each balance change
is announced on `tokenapp.signals.balance_changed`.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Integer, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...database import HotStatement, is_unique_violation, read_one, write_transaction
from ...extensions import db
from ...models import Counterparty, LotKind, LotSource, TokenAccount, TokenLot, TransactionType
from ...models._types import UTCDateTime, utcnow
from ..errors import InvalidAmount, InvalidRecipient
from . import writer
from .figures import LedgerFigures, figures
from .writer import consumption_order

MAX_AMOUNT = 1_000_000_000
NO_SYNC = writer.NO_SYNC
# Accounts a sweep expires per transaction, holding all their locks till it commits (bench/README.md).
EXPIRY_BATCH = 100
# What a credit of each type is, when the caller does not say: (lot source, lot kind, counterparty).
CREDIT_DEFAULTS = {
    TransactionType.PURCHASE: (LotSource.PURCHASE, LotKind.PAID, Counterparty.STRIPE),
    TransactionType.BONUS: (LotSource.WELCOME, LotKind.BONUS, Counterparty.PROMOTIONS),
    TransactionType.GIFT_IN: (LotSource.GIFT, LotKind.PAID, Counterparty.TRANSFERS),
    TransactionType.ADJUSTMENT: (LotSource.ADJUSTMENT, LotKind.BONUS, Counterparty.ADJUSTMENTS),
    TransactionType.REVERSAL: (LotSource.PURCHASE, LotKind.PAID, Counterparty.STRIPE),
}
EXPIRY_SETTING = {LotKind.BONUS: "BONUS_TOKEN_EXPIRY_DAYS", LotKind.PAID: "PAID_TOKEN_EXPIRY_DAYS"}

__all__ = ["BalanceView", "LedgerFigures", "consumption_order", "figures", "writer"]


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


def lot_expiry(kind: LotKind, moment: datetime | None = None) -> datetime | None:
    """When a lot of `kind` credited at `moment` expires under the settings; None for never."""
    days = current_app.config[EXPIRY_SETTING[kind]]
    return (moment or utcnow()) + timedelta(days=days) if days else None


def current_balance(user_id: int) -> int:
    """The balance as stored."""
    balance = db.session.execute(select(TokenAccount.balance).where(TokenAccount.user_id == user_id)).scalar()
    return balance or 0


_BALANCE = HotStatement(
    select(
        TokenAccount.balance,
        TokenAccount.is_unlimited,
        TokenAccount.debt,
        TokenAccount.lifetime_spent,
        TokenAccount.next_expiry_at,
    ).where(TokenAccount.user_id == bindparam("user_id"))
)


def balance_of(user_id: int) -> BalanceView:
    """The owner's balance: one indexed read, outside any transaction when none is open (`database.read_one`),
    plus the expiry of any lot that is due (rare). The sweep job, not a read, refunds stale charges.

    "Has spent" means `lifetime_spent > 0`: tokens spent and not refunded.
    """
    row = read_one(db.session.connection(), _BALANCE, {"user_id": user_id})
    if row is None:
        return BalanceView(0, False)
    if row["next_expiry_at"] is not None and row["next_expiry_at"] <= utcnow():
        with write_transaction() as tx:
            writer.lock(tx, user_id)
        row = read_one(db.session.connection(), _BALANCE, {"user_id": user_id})
        assert row is not None  # the account row is never deleted while its user exists
    return BalanceView(row["balance"], row["is_unlimited"], row["debt"], has_spent=row["lifetime_spent"] > 0)


@dataclass(frozen=True)
class Holdings:
    """What a balance is made of: the paid and bonus tokens left in unexpired lots, and the soonest expiry
    among them (`expiring` tokens at `expires_at`; None when nothing held will expire)."""

    paid: int = 0
    bonus: int = 0
    expires_at: datetime | None = None
    expiring: int = 0


_OPEN_LOT_PARTS = select(TokenLot.kind, TokenLot.remaining, TokenLot.expires_at).where(writer.open_lots())


def holdings(user_id: int) -> Holdings:
    """The owner's paid and bonus tokens and what expires first, read from the lots (for the dashboard)."""
    lots = db.session.execute(_OPEN_LOT_PARTS, {"account": user_id, "moment": utcnow()}).all()
    paid = sum(lot.remaining for lot in lots if lot.kind == LotKind.PAID.value)
    bonus = sum(lot.remaining for lot in lots) - paid
    soonest = min((lot.expires_at for lot in lots if lot.expires_at is not None), default=None)
    expiring = sum(lot.remaining for lot in lots if soonest is not None and lot.expires_at == soonest)
    return Holdings(paid, bonus, soonest, expiring)


def paid_balance(user_id: int) -> int:
    """The tokens the user could transfer: paid lots not yet expired."""
    return db.session.execute(writer.PAID_LEFT, {"account": user_id, "moment": utcnow()}).scalar_one()


def open_account(user_id: int) -> None:
    """Create the user's token account and grant the welcome bonus once."""
    with write_transaction() as tx:
        writer.open_account(tx, user_id)
    bonus = current_app.config["WELCOME_BONUS_TOKENS"]
    if bonus > 0:
        credit(user_id, bonus, TransactionType.BONUS, dedupe_key="welcome", note="Welcome bonus")


def credit_in(
    tx: Session,
    user_id: int,
    amount: int,
    tx_type: TransactionType,
    *,
    source: LotSource | None = None,
    kind: LotKind | None = None,
    cost_cents: int = 0,
    **fields,
) -> int:
    """Credit `amount` in `tx` as a new lot (defaults by type, see CREDIT_DEFAULTS); return the new balance."""
    check_amount(amount)
    default_source, default_kind, counterparty = CREDIT_DEFAULTS[tx_type]
    kind = kind or default_kind
    return writer.credit(
        tx,
        user_id,
        amount,
        tx_type,
        counterparty,
        source=source or default_source,
        kind=kind,
        cost_cents=cost_cents if kind == LotKind.PAID else 0,
        expires_at=lot_expiry(kind),
        **fields,
    )


def credit(user_id: int, amount: int, tx_type: TransactionType, *, dedupe_key: str | None = None, **fields) -> bool:
    """Add tokens as a new lot; with a `dedupe_key`, at most once per user. True when credited."""
    check_amount(amount)
    try:
        with write_transaction() as tx:
            credit_in(tx, user_id, amount, tx_type, dedupe_key=dedupe_key, **fields)
    except IntegrityError as error:
        if dedupe_key is None or not is_unique_violation(error):
            raise
        return False
    return True


def adjust(user_id: int, delta: int, *, reason: str, actor_id: int | None = None) -> int:
    """An audited admin adjustment in either direction (a bonus lot, or a debit in consumption order); the new balance."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_AMOUNT:
        raise InvalidAmount(f"The adjustment must be a non-zero whole number up to {MAX_AMOUNT}.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidAmount("An adjustment needs a reason.")
    with write_transaction() as tx:
        if delta > 0:
            return credit_in(tx, user_id, delta, TransactionType.ADJUSTMENT, note=reason[:255], actor_id=actor_id)
        return writer.debit(
            tx,
            user_id,
            -delta,
            TransactionType.ADJUSTMENT,
            Counterparty.ADJUSTMENTS,
            note=reason[:255],
            actor_id=actor_id,
        )


def grant_purchase(tx: Session, user_id: int, tokens: int, *, dedupe_key: str, note: str, cost_cents: int = 0) -> int:
    """Credit a paid purchase in `tx` as one paid lot costing `cost_cents`, once per dedupe key; the new balance."""
    return credit_in(
        tx, user_id, tokens, TransactionType.PURCHASE, cost_cents=cost_cents, dedupe_key=dedupe_key, note=note[:255]
    )


def take_back(tx: Session, user_id: int, tokens: int, note: str, purchase_key: str | None = None) -> int:
    """Reverse `tokens` of a purchase in `tx`: from its lot first (the row credited under `purchase_key`),
    then the other lots, and as debt for what was spent. Returns the tokens that became debt.
    """
    check_amount(tokens)
    first_lot = writer.lot_credited_by(tx, user_id, purchase_key) if purchase_key else None
    return writer.take_back(tx, user_id, tokens, note, first_lot=first_lot)


def give_back(tx: Session, user_id: int, tokens: int, note: str, cost_cents: int = 0) -> None:
    """Restore in `tx` tokens an earlier reversal took (a dispute won) as a paid lot, repaying debt first."""
    credit_in(tx, user_id, tokens, TransactionType.REVERSAL, cost_cents=cost_cents, note=note[:255])


def transfer(sender: int, receiver: int, tokens: int, *, note: str | None = None) -> int:
    """Move `tokens` paid tokens between two users (gift_out, gift_in rows); the sender's new balance.

    Raises InvalidAmount, InvalidRecipient (oneself) or InsufficientTokens (paid tokens only count).
    """
    check_amount(tokens)
    if sender == receiver:
        raise InvalidRecipient("You cannot send tokens to yourself.")
    with write_transaction() as tx:
        return writer.transfer(tx, sender, receiver, tokens, note=(note or "")[:255] or None)


_DUE_ACCOUNTS = (
    select(TokenAccount.user_id)
    .where(TokenAccount.next_expiry_at <= bindparam("moment", type_=UTCDateTime))
    .order_by(TokenAccount.next_expiry_at)
    .limit(bindparam("batch", type_=Integer))
)


@dataclass(frozen=True)
class ExpiryReport:
    """What a sweep did."""

    accounts: int
    tokens: int


def expire_lots(now: datetime | None = None, batch: int = EXPIRY_BATCH) -> ExpiryReport:
    """Expire every lot due by `now`: the due accounts, found by index `batch` at a time, each batch
    in one short transaction that locks them in user id order (`writer.expire_accounts`).

    `accounts` counts the accounts found due, whether or not a spend or a balance
    read expired their lots first.
    """
    now = now or utcnow()
    accounts = tokens = 0
    while True:
        due = db.session.execute(_DUE_ACCOUNTS, {"moment": now, "batch": batch}).scalars().all()
        db.session.commit()
        if due:
            with write_transaction() as tx:
                tokens += writer.expire_accounts(tx, list(due), now)
        accounts += len(due)
        if len(due) < batch:
            return ExpiryReport(accounts, tokens)


def set_unlimited(user_id: int, unlimited: bool) -> None:
    """Switch a user's Unlimited plan on or off."""
    with write_transaction() as tx:
        writer.set_unlimited(tx, user_id, unlimited)
