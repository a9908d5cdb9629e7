"""Test apps, and their databases: built by the migrations once, then put back to the seeded state before each test.

Putting back is one DELETE per table (children first) and one INSERT per catalogue table, from rows
read once after the seed, and on PostgreSQL one statement setting every sequence to where it was (there
the DELETEs and that statement go to the server in one round trip).
That leaves the same rows and the same next ids as migrating and seeding afresh, in a few
milliseconds, where TRUNCATE ... RESTART IDENTITY and the seed took a few hundred.

Each test gets a new app, but what the apps of one process compile is shared: one engine per
seeded database and options (so SQLAlchemy's statement cache; a test that adds an engine event
removes it), compiled templates, and Werkzeug's URL builders.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.routing import Rule

from tokenapp import MIGRATIONS_DIR, create_app
from tokenapp.extensions import db
from tokenapp.services import catalog

from .settings import app_environ

FAST_HASH = "pbkdf2:sha256:1000"


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled templates kept in memory for every test app of the process.

    Each app has its own Jinja environment, so each test compiled every template it rendered:
    a fifth of a page test's CPU. Jinja checks a template's source checksum before it reuses
    its code, as with any bytecode cache.
    """

    def __init__(self) -> None:
        self._codes: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._codes.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._codes[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _MemoryBytecodeCache()


def _remembered(compile_builder: Callable[[Rule, bool], Callable]) -> Callable[[Rule, bool], Callable]:
    """Werkzeug's URL builder compiler, remembering what it built for a rule of the same text and parts.

    Each app compiles a Python function per URL rule through `ast` and `compile` (a third of
    `create_app`); the function has no closure and no globals and takes the rule as its first
    argument, so one built for an identical rule in an earlier test app is the same function.
    """
    built: dict[tuple, Callable] = {}

    def compile_once(rule: Rule, append_unknown: bool = True) -> Callable:
        key = (rule.rule, rule.host, rule.subdomain, tuple(rule._trace), repr(rule.defaults), append_unknown)
        if key not in built:
            built[key] = compile_builder(rule, append_unknown)
        return built[key]

    return compile_once


Rule._compile_builder = _remembered(Rule._compile_builder)  # type: ignore[method-assign]  # tests only: see above
_SHARED_ENGINES: dict[str, Engine] = {}


def _plain(url: str | sa.URL) -> str:
    """`url` as a string with its password (str() of a URL masks it, and Flask-SQLAlchemy hands over URLs)."""
    return make_url(url).render_as_string(hide_password=False)


def _engine_for(bind_key: str | None, options: dict[str, Any], app: Flask) -> Engine:
    """Flask-SQLAlchemy's engine maker, handing out one engine per seeded database and options.

    SQLAlchemy caches compiled statements per engine (its dialect is part of the key), so a
    new engine for each test compiled every statement it ran afresh: about a third of a
    simple test's CPU. The pool is still emptied after every test (`engine.dispose()`).
    """
    if _plain(options["url"]) not in SeededDatabase.shared_urls:
        return sa.engine_from_config(options, prefix="")
    key = repr(sorted(options.items()))
    engine = _SHARED_ENGINES.get(key)
    if engine is None:
        engine = _SHARED_ENGINES[key] = sa.engine_from_config(options, prefix="")
    return engine


db._make_engine = _engine_for  # type: ignore[method-assign]  # tests only: see _engine_for


def make_app(url: str, environ: dict[str, str] | None = None, **config) -> Flask:
    """An app on `url`, built from the test settings (or `environ`), with `config` over its Flask config.

    It runs no in-process scheduler unless `config` asks (SCHEDULER_IN_PROCESS=True), whatever its
    environment: a production app's first request would start one that outlives the test, ticks on the
    shared engine and runs periodic jobs in later tests' databases.
    """
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_METHOD": FAST_HASH,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 40, "max_overflow": 20, "pool_timeout": 60},
            "SCHEDULER_IN_PROCESS": False,
            **config,
        },
        environ=app_environ() if environ is None else environ,
    )
    app.jinja_env.bytecode_cache = _TEMPLATES
    return app


def psycopg_url(url: str) -> str:
    """A postgres:// or postgresql:// URL as SQLAlchemy's psycopg 3 URL."""
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)


def create_database(admin_url: str, name: str) -> str:
    """Create (afresh) PostgreSQL database `name` on `admin_url`'s server; its URL."""
    engine = create_engine(psycopg_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        # A test database need not survive a crash of the server: commits return without waiting for the WAL flush.
        connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    engine.dispose()
    return make_url(psycopg_url(admin_url)).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(psycopg_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def empty_schema(url: str) -> None:
    """Drop and recreate PostgreSQL's public schema at `url`."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@dataclass
class SeededDatabase:
    """A database built by the migrations and seeded, with what it takes to put it back to that state."""

    shared_urls: ClassVar[set[str]] = set()
    url: str
    catalogue: dict[str, list[dict]] = field(default_factory=dict)
    sequences: dict[str, int | None] = field(default_factory=dict)

    def build(self) -> None:
        """Migrate, seed, and remember the seeded rows and sequences."""
        SeededDatabase.shared_urls.add(_plain(self.url))
        app = make_app(self.url)
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR)
            catalog.seed()
            db.session.remove()
            with db.engine.connect() as connection:
                self.catalogue = {
                    table.name: [dict(row._mapping) for row in connection.execute(table.select())]
                    for table in db.metadata.sorted_tables
                }
                self.catalogue = {name: rows for name, rows in self.catalogue.items() if rows}
                if connection.dialect.name == "postgresql":
                    self.sequences = dict(
                        connection.execute(
                            text(
                                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()"
                            )
                        ).all()
                    )
            db.engine.dispose()

    def reset(self, connection: Connection) -> None:
        """Put every table back to the seeded state (on `connection`, committed by the caller)."""
        tables = db.metadata.sorted_tables
        if connection.dialect.name == "postgresql":
            # One round trip for every DELETE and the sequences (a string without parameters may hold several
            # statements): a third of the time of one round trip per table.
            deletes = [str(table.delete().compile(dialect=connection.dialect)) for table in reversed(tables)]
            restart = [self._restart_sequences()] if self.sequences else []
            connection.exec_driver_sql("; ".join([*deletes, *restart]))
        else:
            for table in reversed(tables):
                connection.execute(table.delete())
        for table in tables:
            if table.name in self.catalogue:
                connection.execute(table.insert(), self.catalogue[table.name])

    def _restart_sequences(self) -> str:
        """One statement setting every PostgreSQL sequence back to where the seed left it."""
        return "SELECT " + ", ".join(
            f"setval('{name}', {value}, true)" if value is not None else f"setval('{name}', 1, false)"
            for name, value in self.sequences.items()
        )

    def reset_with(self, app: Flask) -> None:
        """Put the database of `app` back to the seeded state."""
        with app.app_context():
            with db.engine.begin() as connection:
                self.reset(connection)
            db.session.remove()
