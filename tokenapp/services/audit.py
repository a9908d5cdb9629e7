"""The auditor: checks the ledger's invariants for every account, lot and row at once.

- per user: balance = sum of amounts = newest balance_after = tokens remaining in lots ≥ 0;
  debt = sum of debt_change ≥ 0; no open lot expires before the account's next_expiry_at;
- per lot: 0 ≤ remaining ≤ granted, and remaining (and its value at cost basis) equals what
  its rows and draws put in and took out;
- per row with draws: the draws add up to the row's tokens and cents;
- globally: wallets, debts and system accounts sum to zero, and the money figures balance.
"""

from sqlalchemy import func, select, union_all

from ..extensions import db
from ..models import LotSource, TokenAccount, TokenDraw, TokenLot, TokenTransaction
from .ledger import figures


def find_problems() -> list[str]:
    """One line per broken invariant; empty when the ledger adds up."""
    return [*_account_problems(), *_lot_problems(), *_draw_problems(), *_global_problems()]


def _account_problems() -> list[str]:
    rows_ = TokenTransaction
    sums = (
        select(
            rows_.user_id,
            func.sum(rows_.amount).label("total"),
            func.sum(rows_.debt_change).label("owed"),
            func.max(rows_.id).label("last_id"),
        )
        .group_by(rows_.user_id)
        .subquery()
    )
    lots = (
        select(
            TokenLot.user_id,
            func.sum(TokenLot.remaining).label("held"),
            func.min(TokenLot.expires_at).filter(TokenLot.remaining > 0).label("first_expiry"),
        )
        .group_by(TokenLot.user_id)
        .subquery()
    )
    accounts = db.session.execute(
        select(
            TokenAccount.user_id,
            TokenAccount.balance,
            TokenAccount.debt,
            TokenAccount.next_expiry_at,
            sums.c.total,
            sums.c.owed,
            TokenTransaction.balance_after,
            lots.c.held,
            lots.c.first_expiry,
        )
        .outerjoin(sums, sums.c.user_id == TokenAccount.user_id)
        .outerjoin(TokenTransaction, TokenTransaction.id == sums.c.last_id)
        .outerjoin(lots, lots.c.user_id == TokenAccount.user_id)
    ).all()
    problems = []
    for user_id, balance, debt, next_expiry, total, owed, last_after, held, first_expiry in accounts:
        total, owed, held = total or 0, owed or 0, held or 0
        last_after = 0 if last_after is None else last_after
        if balance < 0 or balance != total or balance != last_after or balance != held:
            problems.append(
                f"user {user_id}: balance {balance}, ledger sum {total}, last balance_after {last_after}, "
                f"lots hold {held}"
            )
        if debt < 0 or debt != owed:
            problems.append(f"user {user_id}: debt {debt}, ledger debt {owed}")
        if first_expiry is not None and (next_expiry is None or next_expiry > first_expiry):
            problems.append(f"user {user_id}: a lot expires at {first_expiry}, before next_expiry_at {next_expiry}")
    negative = db.session.execute(
        select(func.count()).select_from(TokenTransaction).where(TokenTransaction.balance_after < 0)
    ).scalar()
    if negative:
        problems.append(f"{negative} ledger row(s) with a negative balance_after")
    return problems


def _lot_problems() -> list[str]:
    """Each lot's remaining tokens and value against the sum of the row and draw parts that name it."""
    rows_ = TokenTransaction
    parts = union_all(
        select(rows_.lot_id.label("lot_id"), rows_.amount.label("tokens"), rows_.cents.label("cents")).where(
            rows_.lot_id.is_not(None)
        ),
        select(TokenDraw.lot_id, TokenDraw.tokens, TokenDraw.cents),
    ).subquery()
    moved = (
        select(parts.c.lot_id, func.sum(parts.c.tokens).label("tokens"), func.sum(parts.c.cents).label("cents"))
        .group_by(parts.c.lot_id)
        .subquery()
    )
    lots = db.session.execute(
        select(
            TokenLot.id,
            TokenLot.source,
            TokenLot.granted,
            TokenLot.remaining,
            TokenLot.cost_cents,
            moved.c.tokens,
            moved.c.cents,
        ).outerjoin(moved, moved.c.lot_id == TokenLot.id)
    ).all()
    problems = []
    for lot_id, source, granted, remaining, cost, tokens, cents in lots:
        # A lot carried over by migration 0008 was opened by no row: the rows before it credited the balance.
        opened_tokens, opened_cents = (granted, cost) if source == LotSource.MIGRATION.value else (0, 0)
        value = cost - cost * (granted - remaining) // granted
        if not 0 <= remaining <= granted:
            problems.append(f"lot {lot_id}: remaining {remaining} outside 0..{granted}")
        if remaining != opened_tokens + (tokens or 0) or value != opened_cents + (cents or 0):
            problems.append(
                f"lot {lot_id}: remaining {remaining} (worth {value} cents), its rows and draws "
                f"say {opened_tokens + (tokens or 0)} ({opened_cents + (cents or 0)} cents)"
            )
    return problems


def _draw_problems() -> list[str]:
    drawn = (
        select(
            TokenDraw.transaction_id,
            func.sum(TokenDraw.tokens).label("tokens"),
            func.sum(TokenDraw.cents).label("cents"),
            func.count().label("parts"),
        )
        .group_by(TokenDraw.transaction_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            TokenTransaction.id,
            TokenTransaction.amount,
            TokenTransaction.cents,
            TokenTransaction.lot_id,
            drawn.c.tokens,
            drawn.c.cents,
            drawn.c.parts,
        ).join(drawn, drawn.c.transaction_id == TokenTransaction.id)
    ).all()
    return [
        f"row {row_id}: {amount} tokens ({cents} cents), its {parts} draws {tokens} ({draw_cents} cents)"
        + (", and it names a lot" if lot_id is not None else "")
        for row_id, amount, cents, lot_id, tokens, draw_cents, parts in rows
        if amount != tokens or cents != draw_cents or lot_id is not None or parts < 2
    ]


def _global_problems() -> list[str]:
    wallets, debts = db.session.execute(
        select(func.coalesce(func.sum(TokenAccount.balance), 0), func.coalesce(func.sum(TokenAccount.debt), 0))
    ).one()
    system = db.session.execute(
        select(func.coalesce(func.sum(TokenTransaction.debt_change - TokenTransaction.amount), 0))
    ).scalar_one()
    problems = []
    if wallets - debts + system != 0:
        problems.append(f"accounts do not sum to zero: wallets {wallets}, debts {debts}, system accounts {system}")
    money = figures()
    if not money.balanced:
        problems.append(f"money does not balance: {money}")
    return problems
