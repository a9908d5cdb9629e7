"""SQL that differs between SQLite and PostgreSQL, chosen by the session's dialect."""

from collections.abc import Callable

from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db

_INSERTS: dict[str, Callable[..., postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def insert_ignoring_conflicts(model, values: dict | None = None, *, select_from=None):
    """INSERT … ON CONFLICT DO NOTHING for the current database.

    Give `values` for one row, or `select_from=(columns, select)` to insert
    what a SELECT returns. Callers tell a skipped row by RETURNING nothing.
    """
    dialect = db.session.get_bind().dialect.name
    stmt = _INSERTS[dialect](model)
    stmt = stmt.from_select(*select_from) if select_from else stmt.values(**(values or {}))
    return stmt.on_conflict_do_nothing()
