"""Reading a user's own ledger."""

from sqlalchemy import case, func, select

from ..extensions import db
from ..models import TokenTransaction


def transactions_page(user_id: int, limit: int, before_id: int | None = None) -> tuple[list[TokenTransaction], bool]:
    """Up to `limit` of the user's rows older than `before_id`, newest first, and whether more exist."""
    stmt = select(TokenTransaction).where(TokenTransaction.user_id == user_id)
    if before_id is not None:
        stmt = stmt.where(TokenTransaction.id < before_id)
    rows = list(db.session.execute(stmt.order_by(TokenTransaction.id.desc()).limit(limit + 1)).scalars())
    return rows[:limit], len(rows) > limit


def feature_usage(user_id: int, limit: int = 5) -> list[tuple[str, int, int]]:
    """The user's most-used features: (feature key, runs, tokens spent net of refunds)."""
    net = func.sum(TokenTransaction.amount)
    runs = func.sum(case((TokenTransaction.type == "spend", 1), else_=0))
    rows = db.session.execute(
        select(TokenTransaction.feature_key, runs, -net)
        .where(
            TokenTransaction.user_id == user_id,
            TokenTransaction.feature_key.is_not(None),
            TokenTransaction.type.in_(("spend", "refund")),
        )
        .group_by(TokenTransaction.feature_key)
        .order_by(runs.desc(), TokenTransaction.feature_key)
        .limit(limit)
    ).all()
    return [(key, int(count), int(spent)) for key, count, spent in rows]
