"""What is in the database, for before/after comparisons."""

from sqlalchemy import func, select

from tokenapp.extensions import db


def database_state(app, tables: set[str] | None = None) -> dict:
    """Row counts of `tables` (default: all) and every balance, for before/after comparisons."""
    from tokenapp.models import TokenAccount

    counted = [table for table in db.metadata.sorted_tables if tables is None or table.name in tables]
    with app.app_context():
        # One statement counting every table (one round trip, where a statement per table took one each).
        row = db.session.execute(
            select(*(select(func.count()).select_from(table).scalar_subquery() for table in counted))
        ).one()
        counts = {table.name: count for table, count in zip(counted, row, strict=True)}
        balances = sorted(db.session.execute(select(TokenAccount.user_id, TokenAccount.balance)).all())
        db.session.remove()
    return {"rows": counts, "balances": balances}


def history(user_id: int) -> list:
    """(type, amount, balance_after) of the user's ledger rows, oldest first; inside an app context."""
    from tokenapp.models import TokenTransaction

    return db.session.execute(
        select(TokenTransaction.type, TokenTransaction.amount, TokenTransaction.balance_after)
        .where(TokenTransaction.user_id == user_id)
        .order_by(TokenTransaction.id)
    ).all()
