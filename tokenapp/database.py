"""How the app talks to its database: SQLite tuning and write transactions.

SQLite allows one writer. A transaction that reads first and writes later can
fail at once with SQLITE_BUSY when another writer got in between, so every
write transaction here starts with BEGIN IMMEDIATE and waits its turn instead.
PostgreSQL needs none of this: its conditional UPDATEs re-check their
condition against the committed row under READ COMMITTED.
"""

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from psycopg.pq import TransactionStatus
from sqlalchemy import ClauseElement, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from .extensions import db

WRITE_OPTION = "tokenapp_write"
SQLITE_BUSY_TIMEOUT_MS = 10_000


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, connection_record) -> None:
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    ):
        cursor.execute(pragma)
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite(connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction() -> Iterator[Session]:
    """Run the block in one write transaction, committed at the end.

    Nested use becomes a SAVEPOINT inside the outer transaction, so an inner
    failure that is caught leaves the outer one usable. On SQLite a read-only
    transaction already open (loading the current user, say) is ended first, so
    the write starts with BEGIN IMMEDIATE on a fresh snapshot. On PostgreSQL,
    under READ COMMITTED, the open transaction simply carries on as the write:
    every statement sees the latest committed rows anyway.
    """
    session = db.session()
    if session.info.get(WRITE_OPTION):
        with session.begin_nested():
            yield session
        return
    if session.get_bind().dialect.name == "sqlite":
        if session.in_transaction():
            session.commit()
        session.connection(execution_options={WRITE_OPTION: True})
    session.info[WRITE_OPTION] = True
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(WRITE_OPTION, None)


_REQUIRED = object()


@dataclass(frozen=True)
class _Form:
    """A statement compiled for one dialect: its SQL, its parameters in order, its result columns."""

    sql: str
    positional: bool
    binds: tuple[tuple[str, str, Any, Callable[[Any], Any] | None], ...]  # (key, name in the SQL, default, processor)
    results: tuple[Callable[[Any], Any] | None, ...]
    names: tuple[str, ...]  # the result columns' names


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
        return self._run(connection, params)[1]

    def first_mapping(self, connection: Connection, params: dict) -> dict[str, Any] | None:
        """`first`, as a dict by result column name."""
        form, row = self._run(connection, params)
        return None if row is None else dict(zip(form.names, row, strict=True))

    def _run(self, connection: Connection, params: dict) -> tuple[_Form, tuple | None]:
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
            return form, None
        return form, tuple(
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
        names = tuple(entry.keyname for entry in compiled._result_columns)
        form = self._forms[dialect] = _Form(compiled.string, compiled.positional, binds, results, names)
        return form


def read_one(connection: Connection, statement: HotStatement, params: dict) -> dict[str, Any] | None:
    """The first row of a one-statement read on `connection` (by column name), with no transaction
    opened for it when none is open yet on PostgreSQL.

    Under READ COMMITTED a statement run on its own (autocommit) sees exactly
    what the first statement of a transaction would, so a read that starts a
    request (loading the signed-in user, a balance) need not pay psycopg's
    `BEGIN` now and a `ROLLBACK` when the connection goes back to the pool (a
    rollback also makes psycopg drop its prepared statements). A later
    statement on the connection opens its transaction as before. Inside an
    open transaction, or on SQLite, the read runs in that transaction as usual
    (it must see the transaction's own writes). The statement is a
    `HotStatement`: these reads start nearly every request.
    """
    with on_its_own(connection):
        return statement.first_mapping(connection, params)


@contextmanager
def on_its_own(connection: Connection) -> Iterator[bool]:
    """Run the block's statements each as its own transaction (autocommit) when `connection` is a
    PostgreSQL connection with no transaction open; True when they do, False when they run in the
    open transaction as usual (on SQLite, or inside one). See `read_one` for why.
    """
    dbapi_connection = connection.connection.dbapi_connection
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None or pgconn.transaction_status != TransactionStatus.IDLE:
        yield False
        return
    dbapi_connection.autocommit = True  # type: ignore[union-attr]  # a psycopg connection: it has pgconn
    try:
        yield True
    finally:
        if pgconn.transaction_status == TransactionStatus.IDLE:  # a broken connection is discarded, not reused
            dbapi_connection.autocommit = False  # type: ignore[union-attr]  # as above: it has pgconn


def engine_options(config: dict) -> dict:
    """The pool's options: every pooled connection is checked before use (`pool_pre_ping`),
    so a database restart costs no request; PostgreSQL connects with a timeout.

    A poll of the socket instead of the ping was tried and dropped: `pg_terminate_backend`
    returns before the server closes the socket, so the poll could pass a dead connection
    (tests/test_jobs.py::test_a_database_restart_costs_no_request failed 1 run in 3).
    """
    options = {"pool_pre_ping": True, **config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": 5, **options.get("connect_args", {})}
    return options


def is_unique_violation(error: IntegrityError) -> bool:
    """True when an IntegrityError came from a UNIQUE constraint."""
    code = getattr(error.orig, "sqlstate", None)
    if code is not None:
        return code == "23505"
    return "UNIQUE constraint failed" in str(error.orig)
