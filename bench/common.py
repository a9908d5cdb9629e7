"""Shared pieces of the benchmark: databases, apps, users and the result table."""

import os
import re
import statistics
import time
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "bench-password-123"
FAST_HASH = "pbkdf2:sha256:1000"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_DB_NAME = re.compile(r"^tokenapp_[a-z0-9_]*bench[a-z0-9_]*$")
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


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
        raise SystemExit(f"bench: refusing to use database {name!r}: its name must be tokenapp_...bench...")
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

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_METHOD": FAST_HASH,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": pool_size, "max_overflow": 8, "pool_timeout": 60},
        }
    )


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
class Cpu:
    """CPU milliseconds per operation: the app's side (bench process or gunicorn) and PostgreSQL's backends."""

    app_ms: float | None = None
    pg_ms: float | None = None

    def text(self) -> str:
        """`app/PG`, or `app` alone without PostgreSQL; - when unknown."""
        if self.app_ms is None:
            return "-"
        return f"{self.app_ms:.2f}" + ("" if self.pg_ms is None else f"/{self.pg_ms:.2f}")


def median_cpu(samples: list[Cpu]) -> Cpu:
    """The median of each side over several rounds."""
    apps = [s.app_ms for s in samples if s.app_ms is not None]
    pgs = [s.pg_ms for s in samples if s.pg_ms is not None]
    return Cpu(statistics.median(apps) if apps else None, statistics.median(pgs) if pgs else None)


class CpuMeter:
    """CPU spent by the app side (a /proc process set, or this process when None) and PostgreSQL, between marks."""

    def __init__(self, app=None, pg=None):
        self.app, self.pg = app, pg

    def start(self):
        """A mark to measure from."""
        app = self.app.snapshot() if self.app else time.process_time()
        return app, self.pg.snapshot() if self.pg else None

    def per_op(self, mark, ops: int) -> Cpu:
        """CPU ms per operation since `mark`, over `ops` operations."""
        app_mark, pg_mark = mark
        app = self.app.since(app_mark) if self.app else time.process_time() - app_mark
        pg = self.pg.since(pg_mark) if self.pg else None
        ops = max(1, ops)
        return Cpu(app * 1e3 / ops, None if pg is None else pg * 1e3 / ops)


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
    rates: list[float] = field(default_factory=list)
    cpu: Cpu = field(default_factory=Cpu)
    ref_cpu: Cpu = field(default_factory=Cpu)
    fixed_ratio: float | None = None

    @property
    def spread(self) -> str:
        """min..max of the rounds' rates."""
        return f"{min(self.rates):.0f}..{max(self.rates):.0f}" if self.rates else "-"

    @property
    def ratio(self) -> float | None:
        """rate / ref when both are known (or a ratio the row states itself)."""
        if self.fixed_ratio is not None:
            return self.fixed_ratio
        return self.rate / self.ref if self.rate and self.ref else None
