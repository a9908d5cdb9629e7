"""Every statement that writes `token_accounts`, `token_transactions`, `token_lots` or `token_draws`.

No other module may write these tables (tests/test_one_writer.py checks).
Each function runs inside its caller's write transaction, the `tx` it is
handed, and never commits. After each ledger row, `signals.balance_changed`
is sent (after the expiry rows of a user, once for them all).

Locks: the user's fixed `token_accounts` row is the one serialisation point.
Every function here locks that row (an UPDATE of it; the sweep's SELECT ...
FOR UPDATE) before it touches the user's lots, so the order is always charge
row (the caller's), then account row, then lots; a transfer locks its two
accounts lower user id first, and the sweep its batch of accounts in user id
order. The hot spend is one
conditional UPDATE of the account (`balance >= cost`, no debt, nothing due
to expire), one UPDATE of the lot that comes first in `consumption_order`
when that lot covers the cost, and one INSERT of the ledger row. Everything
else locks the account with `_lock`, which also expires the lots that are
due, so at every commit the balance equals the remaining tokens of the
user's unexpired lots.

On PostgreSQL a new charge that the hot spend covers is written in one round
trip instead of six (BEGIN, four statements, COMMIT): `charge_in_one_call`
runs the stored function `tokenapp_charge` (migration 0009), which runs the
charge's INSERT (`charges._INSERT_CHARGE`), `_SPEND`, `_SPEND_ONE_LOT` and
the spend row as one transaction, in the same lock order, and hands every
other case back to the path above. It is the one place outside
`tokenapp.services.charges` that writes `token_charges`.
"""

import weakref
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import Boolean, Integer, String, and_, bindparam, case, func, insert, literal, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ...database import HotStatement, on_its_own
from ...models import Counterparty, LotKind, LotSource, TokenAccount, TokenDraw, TokenLot, TokenTransaction
from ...models import TransactionType as T
from ...models._types import UTCDateTime, utcnow
from ...signals import balance_changed
from ..errors import InsufficientTokens
from ..sql import insert_ignoring_conflicts

NO_SYNC = {"synchronize_session": False}
LIFETIME_COLUMN = {T.PURCHASE: "purchased", T.BONUS: "bonus"}  # the `_change` argument counting them
_ACCOUNTS = TokenAccount.__table__
_ROWS = TokenTransaction.__table__
_LOTS = TokenLot.__table__
_DRAWS = TokenDraw.__table__
_ROW_DEFAULTS = {
    "feature_key": None,
    "charge_id": None,
    "dedupe_key": None,
    "note": None,
    "actor_id": None,
    "lot_id": None,
    "cents": 0,
    "debt_change": 0,
}
_INSERT_ROW = insert(_ROWS)
_ROW_COLUMNS = ("user_id", "type", "amount", "balance_after", "counterparty", "created_at", *_ROW_DEFAULTS)
# A ledger row with exactly these columns (every row but one naming a column of its own), run as a HotStatement.
_INSERT_FULL_ROW = HotStatement(
    insert(_ROWS).values({name: bindparam(name, type_=_ROWS.c[name].type) for name in _ROW_COLUMNS})
)
_INSERT_ROW_ID = insert(_ROWS).returning(_ROWS.c.id)
_INSERT_DRAWS = insert(_DRAWS)
_INSERT_LOT = insert(_LOTS).returning(_LOTS.c.id)
_BALANCE = _ACCOUNTS.c.balance
_NEXT_EXPIRY = _ACCOUNTS.c.next_expiry_at
_MOMENT = bindparam("moment", type_=UTCDateTime)
_ACCOUNT = bindparam("account", type_=Integer)
_LOT = bindparam("lot", type_=Integer)
_DELTA = bindparam("delta", type_=Integer)
_EXPIRES = bindparam("expires", type_=UTCDateTime)


class LedgerOutOfBalance(RuntimeError):
    """The account row and its lots disagree; the transaction is rolled back (the auditor reports why)."""


@dataclass(frozen=True)
class Part:
    """One lot's share of a ledger row: tokens and cents signed like the row's amount."""

    lot_id: int
    tokens: int
    cents: int
    expires_at: datetime | None = None


def consumption_order(lots=_LOTS) -> tuple:
    """The order a debit draws lots in, the one place it is written (RELIABILITY 38).

    Soonest-expiring first (a lot that never expires comes last), then bonus
    before paid, then the oldest.
    """
    return (
        case((lots.c.expires_at.is_(None), 1), else_=0),
        lots.c.expires_at,
        case((lots.c.kind == LotKind.BONUS.value, 0), else_=1),
        lots.c.id,
    )


def open_lots(moment=_MOMENT, account=_ACCOUNT, lots=_LOTS):
    """The condition for a lot that can be spent at `moment`: the account's, not empty, not expired."""
    return and_(
        lots.c.user_id == account, lots.c.remaining > 0, or_(lots.c.expires_at.is_(None), lots.c.expires_at > moment)
    )


def released_cents(remaining, lots=_LOTS):
    """Cents a lot has released at its cost basis once only `remaining` of its tokens are left (see TokenLot)."""
    return lots.c.cost_cents * (lots.c.granted - remaining) // lots.c.granted


def _earlier_expiry(candidate):
    """The account's next_expiry_at moved back to `candidate` when that is earlier (NULL means never)."""
    return case(
        (candidate.is_(None), _NEXT_EXPIRY),
        (_NEXT_EXPIRY.is_(None), candidate),
        (candidate < _NEXT_EXPIRY, candidate),
        else_=_NEXT_EXPIRY,
    )


# Built once: the spend is the hottest statement in the app, and building it
# costs more than running it (and would happen while the write lock is held).
_COST = bindparam("cost", type_=Integer)
_SPENT = case((_ACCOUNTS.c.is_unlimited, 0), else_=_COST)
_SPEND = (
    update(_ACCOUNTS)
    .where(
        _ACCOUNTS.c.user_id == _ACCOUNT,
        _ACCOUNTS.c.debt == 0,
        or_(_NEXT_EXPIRY.is_(None), _NEXT_EXPIRY > _MOMENT),
        or_(_ACCOUNTS.c.is_unlimited, _BALANCE >= _COST),
    )
    .values(balance=_BALANCE - _SPENT, lifetime_spent=_ACCOUNTS.c.lifetime_spent + _SPENT, updated_at=_MOMENT)
    .returning(_BALANCE, _ACCOUNTS.c.is_unlimited)
)
# The lot first in consumption order, debited when it alone covers the cost; RETURNING the cents released.
_FIRST_LOT = select(_LOTS.c.id).where(open_lots()).order_by(*consumption_order()).limit(1).scalar_subquery()
_SPEND_ONE_LOT = (
    update(_LOTS)
    .where(_LOTS.c.id == _FIRST_LOT, _LOTS.c.remaining >= _COST)
    .values(remaining=_LOTS.c.remaining - _COST)
    .returning(_LOTS.c.id, released_cents(_LOTS.c.remaining + _COST) - released_cents(_LOTS.c.remaining))
)
# The two on the spend's path, run on the DBAPI cursor (see `HotStatement`): the same SQL and type processing.
_HOT_SPEND = HotStatement(_SPEND)
_HOT_SPEND_ONE_LOT = HotStatement(_SPEND_ONE_LOT)
# Any lot by `delta` tokens (signed); RETURNING the cents that came back (+) or were released (-).
_MOVE_LOT = (
    update(_LOTS)
    .where(_LOTS.c.id == _LOT)
    .values(remaining=_LOTS.c.remaining + _DELTA)
    .returning(released_cents(_LOTS.c.remaining - _DELTA) - released_cents(_LOTS.c.remaining))
)
_LOCK = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.user_id == _ACCOUNT)
    .values(updated_at=_MOMENT)
    .returning(_BALANCE, _ACCOUNTS.c.debt, _NEXT_EXPIRY, _ACCOUNTS.c.is_unlimited)
)
_OPEN_LOTS = (
    select(_LOTS.c.id, _LOTS.c.remaining, _LOTS.c.kind, _LOTS.c.expires_at)
    .where(open_lots())
    .order_by(*consumption_order())
)
_REFUND = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.user_id == _ACCOUNT)
    .values(
        balance=_BALANCE + _DELTA,
        lifetime_spent=_ACCOUNTS.c.lifetime_spent - _DELTA,
        next_expiry_at=_earlier_expiry(_EXPIRES),
        updated_at=_MOMENT,
    )
    .returning(_BALANCE, _ACCOUNTS.c.debt, _NEXT_EXPIRY)
)
# Every other change of a locked account's balance: `delta` tokens, `owed` more debt, `purchased` and
# `bonus` more lifetime tokens, next_expiry_at moved back to `expires` (NULL leaves it); (balance, debt) after.
_CHANGE = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.user_id == _ACCOUNT)
    .values(
        balance=_BALANCE + _DELTA,
        debt=_ACCOUNTS.c.debt + bindparam("owed", type_=Integer),
        lifetime_purchased=_ACCOUNTS.c.lifetime_purchased + bindparam("purchased", type_=Integer),
        lifetime_bonus=_ACCOUNTS.c.lifetime_bonus + bindparam("bonus", type_=Integer),
        next_expiry_at=_earlier_expiry(_EXPIRES),
        updated_at=_MOMENT,
    )
    .returning(_BALANCE, _ACCOUNTS.c.debt)
)
# The expiry of a batch of accounts (`expire_accounts`), or of one the caller has locked (`expire_due`).
# Lock those of `accounts` that still have a lot due, in user id order (SQLite ignores FOR UPDATE: its
# write transaction is BEGIN IMMEDIATE, one writer at a time); (user_id, balance) of each.
_ACCOUNTS_IN = bindparam("accounts", expanding=True, type_=Integer)
_LOCK_DUE = (
    select(_ACCOUNTS.c.user_id, _BALANCE)
    .where(_ACCOUNTS.c.user_id.in_(_ACCOUNTS_IN), _NEXT_EXPIRY <= _MOMENT)
    .order_by(_ACCOUNTS.c.user_id)
    .with_for_update()
)
_DUE = and_(_LOTS.c.user_id.in_(_ACCOUNTS_IN), _LOTS.c.remaining > 0, _LOTS.c.expires_at <= _MOMENT)
# The locked accounts' due lots in the order they expire, with the cents each releases by expiring
# (as `_MOVE_LOT` by -remaining would return them).
_DUE_LOTS = (
    select(
        _LOTS.c.user_id,
        _LOTS.c.id,
        _LOTS.c.remaining,
        _LOTS.c.kind,
        released_cents(_LOTS.c.remaining) - released_cents(literal(0)),
    )
    .where(_DUE)
    .order_by(_LOTS.c.user_id, _LOTS.c.expires_at, _LOTS.c.id)
)
_EMPTY_DUE_LOTS = update(_LOTS).where(_DUE).values(remaining=0)
# The locked accounts as they are once their due lots are empty (run just before): balance less those
# lots' tokens, next_expiry_at the soonest of the lots that will still hold tokens. One statement per batch.
_OWN_LOT = _LOTS.c.user_id == _ACCOUNTS.c.user_id
_AFTER_EXPIRY = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.user_id.in_(_ACCOUNTS_IN))
    .values(
        balance=_BALANCE
        - select(func.coalesce(func.sum(_LOTS.c.remaining), 0))
        .where(_OWN_LOT, _LOTS.c.remaining > 0, _LOTS.c.expires_at <= _MOMENT)
        .scalar_subquery(),
        next_expiry_at=select(func.min(_LOTS.c.expires_at))
        .where(_OWN_LOT, _LOTS.c.remaining > 0, _LOTS.c.expires_at > _MOMENT)
        .scalar_subquery(),
        updated_at=_MOMENT,
    )
)
# The paid tokens an account could transfer at `moment`: its open paid lots' total.
PAID_LEFT = select(func.coalesce(func.sum(_LOTS.c.remaining), 0)).where(open_lots(), _LOTS.c.kind == LotKind.PAID.value)
_SPEND_ROW = select(_ROWS.c.id, _ROWS.c.lot_id, _ROWS.c.amount).where(
    _ROWS.c.charge_id == bindparam("charge", type_=String), _ROWS.c.type == T.SPEND.value
)


def record(
    tx: Session,
    user_id: int,
    tx_type: T,
    amount: int,
    balance_after: int,
    counterparty: Counterparty,
    parts: list[Part] | None = None,
    **fields,
) -> None:
    """Insert one ledger row for a change just made in `tx`, with its lot parts, and announce it.

    One part is named on the row (`lot_id`, `cents`); several go to `token_draws`.
    """
    row = {
        "user_id": user_id,
        "type": tx_type.value,
        "amount": amount,
        "balance_after": balance_after,
        "counterparty": counterparty.value,
        "created_at": utcnow(),
        **_ROW_DEFAULTS,
        **fields,
    }
    connection = tx.connection()
    if parts and len(parts) == 1:
        row["lot_id"], row["cents"] = parts[0].lot_id, parts[0].cents
    if parts and len(parts) > 1:
        row["cents"] = sum(part.cents for part in parts)
        row_id = connection.execute(_INSERT_ROW_ID, row).scalar_one()
        connection.execute(
            _INSERT_DRAWS,
            [
                {"transaction_id": row_id, "lot_id": part.lot_id, "tokens": part.tokens, "cents": part.cents}
                for part in parts
            ],
        )
    elif len(row) == len(_ROW_COLUMNS):
        _INSERT_FULL_ROW.first(connection, row)
    else:
        connection.execute(_INSERT_ROW, row)
    balance_changed.send(user_id=user_id)


def open_account(tx: Session, user_id: int) -> None:
    """Create the user's account row at zero, unless it exists."""
    tx.execute(insert_ignoring_conflicts(TokenAccount, {"user_id": user_id, "updated_at": utcnow()}))


def spend(tx: Session, user_id: int, cost: int, moment: datetime, **fields) -> tuple[int, bool]:
    """Debit a charge's cost (nothing on Unlimited) and write its spend row; (new balance, unlimited).

    An account in debt, or short of `cost`, raises InsufficientTokens. The hot
    statements run on the transaction's DBAPI cursor, as `HotStatement`s: the
    same SQL and type processing, without the cost of an execute.
    """
    params = {"account": user_id, "cost": cost, "moment": moment}
    connection = tx.connection()
    row = _HOT_SPEND.first(connection, params)
    if row is None:
        row = _spend_after_expiry(tx, params)
    balance, unlimited = row
    if unlimited or cost == 0:
        record(tx, user_id, T.SPEND, 0, balance, Counterparty.REVENUE, **fields)
        return balance, unlimited
    drawn = _HOT_SPEND_ONE_LOT.first(connection, params)
    parts = [Part(drawn[0], -cost, drawn[1])] if drawn else _draw(tx, user_id, cost, moment)
    record(tx, user_id, T.SPEND, -cost, balance, Counterparty.REVENUE, parts, **fields)
    return balance, unlimited


# PostgreSQL's hot charge in one call (migration 0009). A NULL cost: the Python path must take it.
_CHARGE_IN_ONE_CALL = HotStatement(
    text(
        "SELECT cost, balance, unlimited FROM tokenapp_charge("
        ":charge_id, :owner, :feature, :request_key, :moment, :deadline, :recorded_at)"
    )
    .bindparams(
        bindparam("charge_id", type_=String),
        bindparam("owner", type_=Integer),
        bindparam("feature", type_=String),
        bindparam("request_key", type_=String),
        bindparam("moment", type_=UTCDateTime),
        bindparam("deadline", type_=UTCDateTime),
        bindparam("recorded_at", type_=UTCDateTime),
    )
    .columns(cost=Integer, balance=Integer, unlimited=Boolean)
)
# What `tokenapp_charge` raises when a row changed between its look and its writes; it wrote nothing.
TAKE_THE_PYTHON_PATH = "TK001"
UNDEFINED_FUNCTION = "42883"
# Engines whose database has no `tokenapp_charge` yet (code deployed before `flask db upgrade`).
_WITHOUT_THE_FUNCTION: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def charge_in_one_call(
    session: Session, charge_id: str, user_id: int, feature_key: str, idempotency_key: str | None, **times
) -> tuple[int, int, bool] | None:
    """Hold a new charge and spend its cost in one round trip, as its own transaction; (cost, balance, unlimited).

    None, having written nothing, when the Python path must take the charge:
    on SQLite, inside an open transaction, or when `tokenapp_charge` hands it
    back (an unknown feature, a taken idempotency key, an account that
    refuses, a first lot that does not cover the cost), or when the database
    has no `tokenapp_charge` yet (its migration not run: the engine then
    stops asking, with a warning). `times` are the charge's `moment` and
    `deadline`.
    """
    engine = session.get_bind()
    if engine.dialect.name != "postgresql" or engine in _WITHOUT_THE_FUNCTION:
        return None  # asked before the session's connection: on SQLite that would open a transaction
    connection = session.connection()
    params = {
        "charge_id": charge_id,
        "owner": user_id,
        "feature": feature_key,
        "request_key": idempotency_key,
        "recorded_at": utcnow(),
        **times,
    }
    with on_its_own(connection) as alone:
        if not alone:
            return None
        try:
            row = _CHARGE_IN_ONE_CALL.first(connection, params)
        except DBAPIError as error:
            code = getattr(error.orig, "sqlstate", None)
            if code == UNDEFINED_FUNCTION:
                _WITHOUT_THE_FUNCTION.add(connection.engine)
                current_app.logger.warning(
                    "tokenapp_charge is missing: run `flask db upgrade`; charges take the Python path"
                )
            if code in (TAKE_THE_PYTHON_PATH, UNDEFINED_FUNCTION):
                return None
            raise
    if row is None or row[0] is None:
        return None
    balance_changed.send(user_id=user_id)
    return row[0], row[1], row[2]


def _spend_after_expiry(tx: Session, params: dict):
    """The spend's UPDATE was refused: expire what is due, then try once more, else say why."""
    user_id, cost, moment = params["account"], params["cost"], params["moment"]
    balance, debt, next_expiry, _unlimited = _lock(tx, user_id, moment)
    if debt == 0 and next_expiry is not None and next_expiry <= moment:
        expire_due(tx, user_id, moment, balance)
        row = tx.execute(_SPEND, params).first()
        if row is not None:
            return row
        balance, debt, _next, _unlimited = _lock(tx, user_id, moment)
    refusal = InsufficientTokens(balance=balance, cost=cost)
    if debt:
        refusal.message = (
            f"Your account owes {debt} tokens from a refunded purchase. Buy tokens to repay it before spending again."
        )
        refusal.details["debt"] = debt
    raise refusal


def _lock(tx: Session, user_id: int, moment: datetime) -> tuple:
    """Lock the account row; (balance, debt, next_expiry_at, is_unlimited) as of the lock."""
    return tuple(tx.execute(_LOCK, {"account": user_id, "moment": moment}).one())


def lock(tx: Session, user_id: int, moment: datetime | None = None) -> tuple[int, int]:
    """Lock the account row and expire its due lots; (balance, debt) after that."""
    moment = moment or utcnow()
    balance, debt, next_expiry, _unlimited = _lock(tx, user_id, moment)
    if next_expiry is not None and next_expiry <= moment:
        balance = expire_due(tx, user_id, moment, balance)
    return balance, debt


def _draw(
    tx: Session, user_id: int, tokens: int, moment: datetime, kind: LotKind | None = None, first_lot: int | None = None
) -> list[Part]:
    """Take `tokens` from the account's open lots in consumption order (`first_lot` first); the parts.

    The caller holds the account lock and has checked the balance, which equals
    the open lots' total, so falling short means the ledger is out of balance.
    """
    stmt = _OPEN_LOTS if kind is None else _OPEN_LOTS.where(_LOTS.c.kind == kind.value)
    lots = list(tx.execute(stmt, {"account": user_id, "moment": moment}))
    if first_lot is not None:
        lots.sort(key=lambda lot: lot.id != first_lot)
    parts, left = [], tokens
    for lot in lots:
        if not left:
            break
        take = min(left, lot.remaining)
        cents = tx.execute(_MOVE_LOT, {"lot": lot.id, "delta": -take}).scalar_one()
        parts.append(Part(lot.id, -take, cents, lot.expires_at))
        left -= take
    if left:
        raise LedgerOutOfBalance(f"user {user_id}: lots hold {tokens - left} of the {tokens} tokens to draw")
    return parts


def _change(
    tx: Session,
    user_id: int,
    delta: int,
    moment: datetime,
    *,
    owed: int = 0,
    purchased: int = 0,
    bonus: int = 0,
    expires: datetime | None = None,
) -> tuple[int, int]:
    """Add `delta` to the locked account's balance and `owed` to its debt, count `purchased` and `bonus`
    lifetime tokens, and move its next expiry back to `expires` when that is earlier; (balance, debt) after.
    """
    params = {
        "account": user_id,
        "delta": delta,
        "owed": owed,
        "purchased": purchased,
        "bonus": bonus,
        "expires": expires,
        "moment": moment,
    }
    balance, debt = tx.connection().execute(_CHANGE, params).one()
    return balance, debt


def _new_lot(
    tx: Session,
    user_id: int,
    tokens: int,
    moment: datetime,
    *,
    source: LotSource,
    kind: LotKind,
    cost_cents: int = 0,
    expires_at: datetime | None = None,
) -> int:
    """Insert a full lot of `tokens` for the user; its id."""
    values = {
        "user_id": user_id,
        "source": source.value,
        "kind": kind.value,
        "granted": tokens,
        "remaining": tokens,
        "cost_cents": cost_cents,
        "expires_at": expires_at,
        "created_at": moment,
    }
    return tx.execute(_INSERT_LOT, values).scalar_one()


def credit(
    tx: Session,
    user_id: int,
    amount: int,
    tx_type: T,
    counterparty: Counterparty,
    *,
    source: LotSource,
    kind: LotKind,
    cost_cents: int = 0,
    expires_at: datetime | None = None,
    **fields,
) -> int:
    """Add `amount` tokens as a new lot and write its row (repaying debt first); return the new balance."""
    moment = utcnow()
    lock(tx, user_id, moment)
    lifetime = {LIFETIME_COLUMN[tx_type]: amount} if tx_type in LIFETIME_COLUMN else {}
    balance, debt = _change(tx, user_id, amount, moment, expires=expires_at, **lifetime)
    lot_id = _new_lot(
        tx, user_id, amount, moment, source=source, kind=kind, cost_cents=cost_cents, expires_at=expires_at
    )
    record(tx, user_id, tx_type, amount, balance, counterparty, [Part(lot_id, amount, cost_cents)], **fields)
    return _repay_debt(tx, user_id, balance, debt, moment)


def debit(tx: Session, user_id: int, amount: int, tx_type: T, counterparty: Counterparty, **fields) -> int:
    """Take `amount` tokens from the lots in consumption order and write its row; return the new balance.

    Short of `amount`, raises InsufficientTokens (the caller's transaction rolls back).
    """
    moment = utcnow()
    balance, _debt = lock(tx, user_id, moment)
    if balance < amount:
        raise InsufficientTokens(balance=balance, cost=amount)
    parts = _draw(tx, user_id, amount, moment)
    balance, _debt = _change(tx, user_id, -amount, moment)
    record(tx, user_id, tx_type, -amount, balance, counterparty, parts, **fields)
    return balance


def _spend_parts(tx: Session, charge_id: str, amount: int) -> list[Part]:
    """The lots a charge's spend drew from, as credits of the same size (lot expiry is read, never locked)."""
    spent = tx.execute(_SPEND_ROW, {"charge": charge_id}).first()
    if spent is not None and spent.lot_id is not None:
        parts = [(spent.lot_id, -spent.amount)]
    elif spent is not None:
        parts = [
            (lot, -tokens)
            for lot, tokens in tx.execute(
                select(_DRAWS.c.lot_id, _DRAWS.c.tokens).where(_DRAWS.c.transaction_id == spent.id)
            )
        ]
    else:
        parts = []
    if sum(tokens for _lot, tokens in parts) != amount:
        return []  # a spend from before lots (migration 0008): its tokens come back as a bonus lot that never expires
    expiry = (
        dict(
            tx.execute(
                select(_LOTS.c.id, _LOTS.c.expires_at).where(_LOTS.c.id.in_([lot for lot, _tokens in parts]))
            ).all()
        )
        if parts
        else {}
    )
    return [Part(lot, tokens, 0, expiry[lot]) for lot, tokens in parts]


def refund(tx: Session, user_id: int, amount: int, **fields) -> int:
    """Give back a charge's `amount` to the lots it came from (no longer counted as spent); the new balance.

    A part whose lot has expired meanwhile expires again at once; debt is repaid first.
    """
    moment = utcnow()
    parts = _spend_parts(tx, fields["charge_id"], amount) if amount else []
    expiries = [part.expires_at for part in parts if part.expires_at is not None]
    balance, debt, next_expiry = tx.execute(
        _REFUND, {"account": user_id, "delta": amount, "moment": moment, "expires": min(expiries, default=None)}
    ).one()
    if amount and not parts:
        lot_id = _new_lot(tx, user_id, amount, moment, source=LotSource.ADJUSTMENT, kind=LotKind.BONUS)
        parts = [Part(lot_id, amount, 0)]
    else:
        parts = [
            Part(
                part.lot_id, part.tokens, tx.execute(_MOVE_LOT, {"lot": part.lot_id, "delta": part.tokens}).scalar_one()
            )
            for part in parts
        ]
    record(tx, user_id, T.REFUND, amount, balance, Counterparty.REVENUE, parts, **fields)
    if next_expiry is not None and next_expiry <= moment:
        balance = expire_due(tx, user_id, moment, balance)
    return _repay_debt(tx, user_id, balance, debt, moment)


def _repay_debt(tx: Session, user_id: int, balance: int, debt: int, moment: datetime) -> int:
    """Pay down debt with what the balance holds (the account is locked); return the new balance."""
    repaid = min(balance, debt)
    if repaid <= 0:
        return balance
    parts = _draw(tx, user_id, repaid, moment)
    balance, _debt = _change(tx, user_id, -repaid, moment, owed=-repaid)
    record(
        tx,
        user_id,
        T.REVERSAL,
        -repaid,
        balance,
        Counterparty.RECEIVABLE,
        parts,
        debt_change=-repaid,
        note=f"Repaid {repaid} tokens owed from a refunded purchase",
    )
    return balance


def take_back(tx: Session, user_id: int, tokens: int, note: str, first_lot: int | None = None) -> int:
    """Reverse `tokens` of a purchase: from its lot first, then the others, the rest as debt; the tokens now owed."""
    moment = utcnow()
    balance, _debt = lock(tx, user_id, moment)
    taken = min(balance, tokens)
    owed = tokens - taken
    parts = _draw(tx, user_id, taken, moment, first_lot=first_lot) if taken else []
    balance, _debt = _change(tx, user_id, -taken, moment, owed=owed)
    suffix = f"; {owed} already spent, now owed" if owed else ""
    record(
        tx,
        user_id,
        T.REVERSAL,
        -taken,
        balance,
        Counterparty.STRIPE,
        parts,
        debt_change=owed,
        note=(note + suffix)[:255],
    )
    return owed


def lot_credited_by(tx: Session, user_id: int, dedupe_key: str) -> int | None:
    """The lot the user's row with `dedupe_key` credited (a purchase's, say), if one."""
    return tx.execute(
        select(_ROWS.c.lot_id).where(_ROWS.c.user_id == user_id, _ROWS.c.dedupe_key == dedupe_key)
    ).scalar()


def expire_accounts(tx: Session, user_ids: list[int], moment: datetime) -> int:
    """Lock those of the accounts that still have a lot due by `moment`, in user id order, and expire
    their due lots (the sweep, a batch of accounts per transaction); the tokens expired.

    Locking in user id order, as `transfer` does, lets two sweeps, or a sweep
    and transfers, wait for each other instead of deadlocking.
    """
    if not user_ids:
        return 0
    params = {"accounts": sorted(user_ids), "moment": moment}
    locked = dict(tx.connection().execute(_LOCK_DUE, params).all())
    after = _expire(tx, locked, moment)
    return sum(locked[user_id] - after[user_id] for user_id in locked)


def expire_due(tx: Session, user_id: int, moment: datetime, balance: int) -> int:
    """Expire every lot of the locked account whose time has come, one `expiry` row each; the new balance.

    `balance` is the account's balance as its lock returned it.
    """
    return _expire(tx, {user_id: balance}, moment)[user_id]


def _expire(tx: Session, balances: dict[int, int], moment: datetime) -> dict[int, int]:
    """Expire the due lots of the locked accounts in `balances` (user id: balance as locked); their new balances.

    Each lot expires whole in one `expiry` row, the accounts' lots soonest-expiring
    first: a few statements for the batch, not a few per lot. What a lot has left
    is read here, under the account's lock, so a spend that committed first keeps
    what it took (RELIABILITY 37).
    """
    if not balances:
        return {}
    connection = tx.connection()
    params = {"accounts": list(balances), "moment": moment}
    due = connection.execute(_DUE_LOTS, params).all()
    connection.execute(_AFTER_EXPIRY, params)
    if due and connection.execute(_EMPTY_DUE_LOTS, params).rowcount != len(due):
        raise LedgerOutOfBalance(f"users {sorted(balances)}: the due lots changed under the accounts' locks")
    left = dict(balances)
    created_at = utcnow()
    rows = []
    for user_id, lot_id, remaining, kind, cents in due:
        left[user_id] -= remaining
        rows.append(
            {
                **_ROW_DEFAULTS,
                "user_id": user_id,
                "type": T.EXPIRY.value,
                "amount": -remaining,
                "balance_after": left[user_id],
                "counterparty": Counterparty.EXPIRY.value,
                "created_at": created_at,
                "lot_id": lot_id,
                "cents": cents,
                "note": f"{remaining} {kind} tokens expired",
            }
        )
    if rows:
        connection.execute(_INSERT_ROW, rows)
    for user_id in dict.fromkeys(row["user_id"] for row in rows):
        balance_changed.send(user_id=user_id)
    return left


def transfer(tx: Session, sender: int, receiver: int, tokens: int, note: str | None = None) -> int:
    """Move `tokens` paid tokens from `sender` to `receiver`, keeping their cost basis and expiry; the sender's balance.

    Both accounts are locked lower user id first, so opposite transfers wait
    for each other instead of deadlocking. The receiver gets one gift lot per
    lot drawn. Short of paid tokens, or in debt, raises InsufficientTokens.
    """
    moment = utcnow()
    for user_id in sorted((sender, receiver)):
        lock(tx, user_id, moment)
    paid = tx.execute(PAID_LEFT, {"account": sender, "moment": moment}).scalar_one()
    debt = tx.execute(select(_ACCOUNTS.c.debt).where(_ACCOUNTS.c.user_id == sender)).scalar_one()
    if paid < tokens or debt:
        raise InsufficientTokens(balance=0 if debt else paid, cost=tokens)
    drawn = _draw(tx, sender, tokens, moment, kind=LotKind.PAID)
    balance, _debt = _change(tx, sender, -tokens, moment)
    record(tx, sender, T.GIFT_OUT, -tokens, balance, Counterparty.TRANSFERS, drawn, note=note)
    given = [
        Part(
            _new_lot(
                tx,
                receiver,
                -part.tokens,
                moment,
                source=LotSource.GIFT,
                kind=LotKind.PAID,
                cost_cents=-part.cents,
                expires_at=part.expires_at,
            ),
            -part.tokens,
            -part.cents,
        )
        for part in drawn
    ]
    expiries = [part.expires_at for part in drawn if part.expires_at is not None]
    received, receiver_debt = _change(tx, receiver, tokens, moment, expires=min(expiries, default=None))
    record(tx, receiver, T.GIFT_IN, tokens, received, Counterparty.TRANSFERS, given, note=note)
    _repay_debt(tx, receiver, received, receiver_debt, moment)
    return balance


def set_unlimited(tx: Session, user_id: int, unlimited: bool) -> None:
    """Switch the account's Unlimited flag (no ledger row: the balance does not move)."""
    tx.execute(
        update(_ACCOUNTS).where(_ACCOUNTS.c.user_id == user_id).values(is_unlimited=unlimited, updated_at=utcnow())
    )
