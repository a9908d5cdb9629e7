"""Reading a user's own ledger."""

from sqlalchemy import select

from ..extensions import db
from ..models import TokenTransaction


def transactions_page(user_id: int, limit: int, before_id: int | None = None) -> tuple[list[TokenTransaction], bool]:
    """Up to `limit` of the user's rows older than `before_id`, newest first, and whether more exist."""
    stmt = select(TokenTransaction).where(TokenTransaction.user_id == user_id)
    if before_id is not None:
        stmt = stmt.where(TokenTransaction.id < before_id)
    rows = list(db.session.execute(stmt.order_by(TokenTransaction.id.desc()).limit(limit + 1)).scalars())
    return rows[:limit], len(rows) > limit
