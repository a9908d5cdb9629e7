"""How the app talks to its database: SQLite tuning and write transactions.

SQLite allows one writer. A transaction that reads first and writes later can
fail at once with SQLITE_BUSY when another writer got in between, so every
write transaction here starts with BEGIN IMMEDIATE and waits its turn instead.
PostgreSQL needs none of this: its conditional UPDATEs re-check their
condition against the committed row under READ COMMITTED.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
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


def engine_options(config: dict) -> dict:
    """The pool's options: every pooled connection is checked before use (`pool_pre_ping`),
    so a database restart costs no request; PostgreSQL connects with a timeout."""
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
