"""The auditor: checks the ledger invariant for every account at once."""

from sqlalchemy import func, select

from ..extensions import db
from ..models import TokenAccount, TokenTransaction


def find_problems() -> list[str]:
    """One line per account whose balance, ledger sum and last balance_after disagree."""
    sums = (
        select(TokenTransaction.user_id, func.sum(TokenTransaction.amount).label("total"),
               func.max(TokenTransaction.id).label("last_id"))
        .group_by(TokenTransaction.user_id)
        .subquery()
    )
    rows = db.session.execute(
        select(TokenAccount.user_id, TokenAccount.balance, sums.c.total, TokenTransaction.balance_after)
        .outerjoin(sums, sums.c.user_id == TokenAccount.user_id)
        .outerjoin(TokenTransaction, TokenTransaction.id == sums.c.last_id)
    ).all()
    problems = []
    for user_id, balance, total, last_after in rows:
        total = total or 0
        last_after = 0 if last_after is None else last_after
        if balance < 0 or balance != total or balance != last_after:
            problems.append(f"user {user_id}: balance {balance}, ledger sum {total}, last balance_after {last_after}")
    negative = db.session.execute(
        select(func.count()).select_from(TokenTransaction).where(TokenTransaction.balance_after < 0)
    ).scalar()
    if negative:
        problems.append(f"{negative} ledger row(s) with a negative balance_after")
    return problems
