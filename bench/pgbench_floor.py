"""The PostgreSQL floor for a deduct: pgbench running a deduct's UPDATE + INSERT, nothing else.

pgbench (C, one prepared transaction per round trip's worth of work) debits a
random user out of `FLOOR_USERS` and appends one ledger row, in one
transaction, at the same number of clients as wrk. Nothing can charge faster
on this server, so HTTP deduct/s ÷ this rate says how much of a deduct is
framing. The floor's users are made by SQL in bulk (they exist only for this
row and have no ledger history; the ledger audit runs before them).
"""

import os
import re
import shutil
import subprocess
import tempfile
import time

from sqlalchemy import create_engine, text

import proc_cpu
from common import Cpu

FLOOR_USERS = 10_000
FLOOR_BALANCE = 1_000_000_000
SCRIPT = """\\set u random({low}, {high})
BEGIN;
UPDATE token_accounts SET balance = balance - 10 WHERE user_id = :u AND balance >= 10 RETURNING balance AS b \\gset
INSERT INTO token_transactions (user_id, type, amount, balance_after, counterparty, created_at) VALUES (:u, 'spend', -10, :b, 'revenue', now());
END;
"""
TPS = re.compile(r"^tps = ([0-9.]+)", re.MULTILINE)
PROCESSED = re.compile(r"number of transactions actually processed: (\d+)")
FAILED = re.compile(r"number of failed transactions: (\d+)")


def pgbench_path() -> str | None:
    """Where pgbench is, or None."""
    return shutil.which("pgbench")


def make_floor_users(url: str, count: int = FLOOR_USERS) -> tuple[int, int]:
    """Insert `count` users with funded accounts in bulk; (lowest id, highest id)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        low, high = conn.execute(
            text(
                "WITH made AS (INSERT INTO users (email, password_hash, is_admin, referral_code, created_at) "
                "SELECT 'floor' || g || '@bench.example', 'no-login', false, 'FLOOR' || g, now() "
                "FROM generate_series(1, :n) AS g RETURNING id) SELECT min(id), max(id) FROM made"
            ),
            {"n": count},
        ).one()
        conn.execute(
            text(
                "INSERT INTO token_accounts (user_id, balance, debt, lifetime_purchased, lifetime_spent, lifetime_bonus, "
                "is_unlimited, updated_at) SELECT id, :b, 0, 0, 0, 0, false, now() FROM users "
                "WHERE id BETWEEN :low AND :high"
            ),
            {"b": FLOOR_BALANCE, "low": low, "high": high},
        )
    engine.dispose()
    return low, high


def _libpq_args(url: str) -> tuple[list[str], str]:
    """pgbench's -h/-p/-U arguments and the database name, from a SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    args = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]
    return args, parsed.database


def run(url: str, users: tuple[int, int], clients: int, duration: float) -> dict:
    """One pgbench run: {'rate': transactions/s, 'errors': n, 'cpu': Cpu} (client CPU as the app side)."""
    args, database = _libpq_args(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(SCRIPT.format(low=users[0], high=users[1]))
    pg = proc_cpu.postgres_backends(database)
    try:
        command = [
            pgbench_path(),
            *args,
            "-n",
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            str(min(2, clients)),
            "-T",
            str(max(1, round(duration))),
            "-f",
            script.name,
            database,
        ]
        before_children = os.times()
        started = time.perf_counter()
        with proc_cpu.Watch(pg) as watch:
            done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
        elapsed = time.perf_counter() - started
        pg_cpu = watch.seconds
        after_children = os.times()
    finally:
        os.unlink(script.name)
    match = TPS.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"pgbench failed (exit {done.returncode}):\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
    rate = float(match.group(1))
    failed = FAILED.search(done.stdout)
    processed = PROCESSED.search(done.stdout)
    transactions = max(1, int(processed.group(1)) if processed else round(rate * elapsed))
    client_cpu = (
        after_children.children_user
        + after_children.children_system
        - before_children.children_user
        - before_children.children_system
    )
    return {
        "rate": rate,
        "errors": int(failed.group(1)) if failed else 0,
        "cpu": Cpu(client_cpu * 1e3 / transactions, pg_cpu * 1e3 / transactions),
    }
