"""SQL that differs between SQLite and PostgreSQL, chosen by the session's dialect."""

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ClauseElement
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler

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


_REQUIRED = object()


@dataclass(frozen=True)
class _Form:
    """A statement compiled for one dialect: its SQL, its parameters in order, its result columns."""

    sql: str
    positional: bool
    binds: tuple[tuple[str, str, Any, Callable[[Any], Any] | None], ...]  # (key, name in the SQL, default, processor)
    results: tuple[Callable[[Any], Any] | None, ...]


class HotStatement:
    """A Core statement of the hot path, compiled once per dialect and run on the DBAPI cursor.

    Each `Connection.execute` costs 50 to 250 µs of Python on top of the
    driver (execution context, parameter processing, result set-up, events),
    more than the SQLite statement itself or psycopg's round trip. A hot
    statement keeps exactly what SQLAlchemy would send: the SQL its compiler
    renders for the dialect (PostgreSQL's casts included), the parameters
    through the same bind processors (`UTCDateTime` included) and the first
    row through the same result processors (SQLite's booleans). It runs in
    the connection's open transaction; a driver error is handed to
    SQLAlchemy's own handling, so it is wrapped (`IntegrityError`, ...) and a
    lost connection is invalidated as with `execute`. Engine events of the
    `*_execute` kind do not fire for it. `statement` is one Core statement,
    or one per dialect name.
    """

    def __init__(self, statement: ClauseElement | dict[str, ClauseElement]):
        self._statements = statement if isinstance(statement, dict) else {"": statement}
        self._forms: weakref.WeakKeyDictionary[Dialect, _Form] = weakref.WeakKeyDictionary()

    def statement(self, dialect: Dialect) -> ClauseElement:
        """The Core statement this stands for on `dialect`."""
        return self._statements[dialect.name if dialect.name in self._statements else ""]

    def first(self, connection: Connection, params: dict) -> tuple | None:
        """Run the statement with `params` on `connection`; its first row (None when it returns none)."""
        form = self._forms.get(connection.dialect) or self._compile(connection.dialect)
        values = []
        for key, _name, default, processor in form.binds:
            value = params.get(key, default)
            if value is _REQUIRED:
                raise KeyError(f"no value for the bind parameter {key!r}")
            values.append(processor(value) if processor else value)
        args: Any = (
            values if form.positional else {bind[1]: value for bind, value in zip(form.binds, values, strict=True)}
        )
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # an open connection
        try:
            cursor.execute(form.sql, args)
            row = cursor.fetchone() if form.results else None
        except Exception as error:  # noqa: BLE001 - re-raised by SQLAlchemy's handling, wrapped as execute would
            connection._handle_dbapi_exception(error, form.sql, args, cursor, None)
        finally:
            cursor.close()
        if row is None:
            return None
        return tuple(
            processor(value) if processor else value for processor, value in zip(form.results, row, strict=True)
        )

    def _compile(self, dialect: Dialect) -> _Form:
        compiled = cast(
            SQLCompiler, self.statement(dialect).compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        )
        by_name = {compiled.bind_names[param]: param for param in compiled.binds.values()}
        order = compiled.positiontup if compiled.positional else list(by_name)
        processors = cast(dict[str, Callable[[Any], Any]], compiled._bind_processors)
        binds = tuple(
            (
                by_name[name].key,
                compiled.escaped_bind_names.get(name, name),
                _REQUIRED if by_name[name].required else by_name[name].value,
                processors.get(name),
            )
            for name in order or ()
        )
        results = tuple(entry.type._cached_result_processor(dialect, None) for entry in compiled._result_columns)
        form = self._forms[dialect] = _Form(compiled.string, compiled.positional, binds, results)
        return form
