"""How the app talks to its database: SQLite tuning and write transactions.

SQLite allows one writer. A transaction that reads first and writes later can
fail at once with SQLITE_BUSY when another writer got in between, so every
write transaction here starts with BEGIN IMMEDIATE and waits its turn instead.
PostgreSQL needs none of this: its conditional UPDATEs re-check their
condition against the committed row under READ COMMITTED.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg.pq import TransactionStatus
from sqlalchemy import Executable, event
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

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


def read_one(connection: Connection, statement: Executable, params: dict) -> RowMapping | None:
    """The first row of a one-statement read on `connection`, with no transaction opened for it
    when none is open yet on PostgreSQL.

    Under READ COMMITTED a statement run on its own (autocommit) sees exactly
    what the first statement of a transaction would, so a read that starts a
    request (loading the signed-in user, a balance) need not pay psycopg's
    `BEGIN` now and a `ROLLBACK` when the connection goes back to the pool (a
    rollback also makes psycopg drop its prepared statements). A later
    statement on the connection opens its transaction as before. Inside an
    open transaction, or on SQLite, the read runs in that transaction as usual
    (it must see the transaction's own writes).
    """
    dbapi_connection = connection.connection.dbapi_connection
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None or pgconn.transaction_status != TransactionStatus.IDLE:
        return connection.execute(statement, params).mappings().first()
    dbapi_connection.autocommit = True  # type: ignore[union-attr]  # a psycopg connection: it has pgconn
    try:
        return connection.execute(statement, params).mappings().first()
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
