"""Shared pieces of the benchmark: databases, apps, users and the result table."""

import os
import re
import time
from dataclasses import dataclass

from sqlalchemy import create_engine, text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "bench-password-123"
FAST_HASH = "pbkdf2:sha256:1000"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_DB_NAME = re.compile(r"^tokenapp_bench[a-z0-9_]*$")


def clean_environment() -> None:
    """Run the in-process app as development, whatever the shell exported."""
    os.environ["TOKENAPP_ENV"] = "development"
    for name in ("DATABASE_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "AI_PROVIDER"):
        os.environ.pop(name, None)


def _admin_engine():
    """An autocommit engine on the maintenance database, for CREATE/DROP DATABASE."""
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def create_pg_database(name: str) -> str:
    """(Re)create our own PostgreSQL database `name`; return its SQLAlchemy URL."""
    if not PG_DB_NAME.match(name):
        raise SystemExit(f"bench: refusing to use database {name!r}: its name must start with tokenapp_bench")
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(name: str) -> None:
    """Drop our own PostgreSQL database, closing whatever is still connected."""
    if not PG_DB_NAME.match(name):
        return
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def check_postgres() -> str | None:
    """None when the PostgreSQL admin URL answers, else why not."""
    try:
        engine = _admin_engine()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure means "not usable"
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return None


def cpu_idle_percent(seconds: float = 1.0) -> float | None:
    """How idle the CPUs were over the next `seconds` (from /proc/stat), or None off Linux."""
    def sample():
        """(all ticks, idle + iowait ticks) since boot."""
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:9]]
        return sum(ticks), ticks[3] + ticks[4]

    try:
        total, idle = sample()
        time.sleep(seconds)
        total2, idle2 = sample()
    except OSError:
        return None
    return 100.0 * (idle2 - idle) / max(1, total2 - total)


def pg_version() -> str:
    """The PostgreSQL server's version string."""
    engine = _admin_engine()
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    return version.split()[0]


def make_app(url: str, pool_size: int = 24):
    """An app on `url` with a pool big enough for every bench thread."""
    from tokenapp import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": url,
        "PASSWORD_HASH_METHOD": FAST_HASH,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": pool_size, "max_overflow": 8, "pool_timeout": 60},
    })


def migrate_and_seed(app) -> None:
    """Build the schema from the migrations only, then load the catalog."""
    from flask_migrate import upgrade

    from tokenapp import MIGRATIONS_DIR
    from tokenapp.extensions import db
    from tokenapp.services import catalog

    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        catalog.seed()
        db.session.remove()


def make_users(app, prefix: str, count: int, balance: int) -> list[int]:
    """Register `count` users through the service and top each up to about `balance`."""
    from tokenapp.extensions import db
    from tokenapp.services import accounts, ledger

    ids = []
    with app.app_context():
        for i in range(count):
            user = accounts.register(f"{prefix}{i}@bench.example", PASSWORD)
            ledger.adjust(user.id, balance, reason="bench")
            ids.append(user.id)
        db.session.remove()
    return ids


def ledger_problems(app) -> list[str]:
    """The auditor's complaints about the ledger after a run (should be none)."""
    from tokenapp.extensions import db
    from tokenapp.services.audit import find_problems

    with app.app_context():
        problems = find_problems()
        db.session.remove()
    return problems


def dispose(app) -> None:
    """Close the app's pooled connections (before gunicorn or a DROP DATABASE)."""
    from tokenapp.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def percentile_ms(seconds: list[float], pct: float) -> float | None:
    """The `pct` percentile (nearest rank) of durations in seconds, in ms; None when empty."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[rank] * 1e3


@dataclass
class Row:
    """One line of the result table."""

    backend: str
    scenario: str
    conc: str
    rate: float | None
    ref: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    target: str = ""
    result: str = "-"

    @property
    def ratio(self) -> float | None:
        """rate / ref when both are known."""
        return self.rate / self.ref if self.rate and self.ref else None
