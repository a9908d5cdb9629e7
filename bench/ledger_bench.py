"""Ledger throughput: ledger.charge() against a bare UPDATE + INSERT floor.

Both sides run on the same app engine and the same thread setup: each thread
enters its own app context (so it gets its own session and pooled
connection), all threads start together, and each runs until the cell's time
is up. The floor is what a charge cannot avoid doing: lock-and-decrement the
balance row and append one ledger row, in one write transaction (BEGIN
IMMEDIATE on SQLite, exactly as the app's write_transaction starts it).
"""

import random
import statistics
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import bindparam, text

import proc_cpu
from common import Cpu, CpuMeter, Row, median_cpu, percentile_ms

FEATURE = "cover_letter"
COST = 10
MAX_OPS_PER_THREAD = 200_000
MAX_ERRORS_PER_THREAD = 50
TARGET_RATIO = 0.5
THREADS = (1, 16)

FLOOR_UPDATE = text(
    "UPDATE token_accounts SET balance = balance - 10 WHERE user_id = :u AND balance >= 10 RETURNING balance"
)


def _floor_insert():
    """The floor's ledger-row INSERT, its timestamp bound through the app's UTC column type."""
    from tokenapp.models._types import UTCDateTime

    return text(
        "INSERT INTO token_transactions (user_id, type, amount, balance_after, created_at) "
        "VALUES (:u, 'spend', -10, :b, :t)"
    ).bindparams(bindparam("t", type_=UTCDateTime()))


@dataclass
class ThreadResult:
    """What one worker thread did."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""


def charge_function():
    """The service's charge(): in `services.charges`, or in `services.ledger` in older trees."""
    try:
        from tokenapp.services.charges import charge
    except ImportError:
        from tokenapp.services.ledger import charge
    return charge


def charge_op(user_ids: list[int]):
    """One committed charge through the service, for a random user of `user_ids`."""
    charge = charge_function()

    def op(rng: random.Random) -> None:
        """Charge one user."""
        charge(rng.choice(user_ids), FEATURE)

    return op


def floor_op(engine, user_ids: list[int]):
    """One bare debit + ledger row on `engine`, for a random user of `user_ids`."""
    from tokenapp.database import WRITE_OPTION
    from tokenapp.models._types import utcnow

    insert = _floor_insert()

    def op(rng: random.Random) -> None:
        """Debit one user and write the row, in one write transaction."""
        user_id = rng.choice(user_ids)
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                balance = conn.execute(FLOOR_UPDATE, {"u": user_id}).scalar()
                if balance is None:
                    raise RuntimeError(f"user {user_id} ran out of tokens")
                conn.execute(insert, {"u": user_id, "b": balance, "t": utcnow()})

    return op


def _worker(app, op, seed: int, duration: float, barrier: threading.Barrier, out: ThreadResult) -> None:
    """Run `op` in a loop in this thread's own app context until time is up."""
    from tokenapp.extensions import db

    rng = random.Random(seed)
    with app.app_context():
        barrier.wait()
        stop = time.perf_counter() + duration
        while time.perf_counter() < stop and len(out.latencies) < MAX_OPS_PER_THREAD:
            started = time.perf_counter()
            try:
                op(rng)
            except Exception as error:  # noqa: BLE001 - counted and reported, never hidden
                out.errors += 1
                out.first_error = out.first_error or f"{type(error).__name__}: {error}"[:200]
                if out.errors >= MAX_ERRORS_PER_THREAD:
                    break
                continue
            out.latencies.append(time.perf_counter() - started)
        db.session.remove()


def run_cell(app, op, workers: int, duration: float) -> tuple[float, ThreadResult]:
    """Run `op` on `workers` threads for `duration` seconds; (ops/s, every thread's results merged)."""
    results = [ThreadResult() for _ in range(workers)]
    barrier = threading.Barrier(workers + 1)
    threads = [threading.Thread(target=_worker, args=(app, op, i, duration, barrier, results[i]), daemon=True)
               for i in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=duration + 120)
    elapsed = time.perf_counter() - started
    merged = ThreadResult([value for result in results for value in result.latencies],
                          sum(result.errors for result in results),
                          next((result.first_error for result in results if result.first_error), ""))
    return len(merged.latencies) / elapsed, merged


def compare(app, engine, users: list[int], workers: int, duration: float, rounds: int, meter: CpuMeter):
    """Alternate floor and charge rounds; each side's per-round rates, CPU per op, and merged results."""
    run_cell(app, floor_op(engine, users), workers, min(0.5, duration))  # fill the pool, warm the caches
    run_cell(app, charge_op(users), workers, min(0.5, duration))
    sides = {"floor": Side(), "charge": Side()}
    for _ in range(rounds):
        for name, op in (("floor", floor_op(engine, users)), ("charge", charge_op(users))):
            mark = meter.start()
            rate, result = run_cell(app, op, workers, duration)
            side = sides[name]
            side.rates.append(rate)
            side.cpu.append(meter.per_op(mark, len(result.latencies)))
            side.total.latencies += result.latencies
            side.total.errors += result.errors
            side.total.first_error = side.total.first_error or result.first_error
    return sides["charge"], sides["floor"]


@dataclass
class Side:
    """One side of a cell (charge or floor) over its rounds."""

    rates: list[float] = field(default_factory=list)
    cpu: list[Cpu] = field(default_factory=list)
    total: ThreadResult = field(default_factory=ThreadResult)


def ledger_rows(backend: str, app, scenarios: list[tuple[str, list[int]]], duration: float, rounds: int,
                log, pg_db: str | None = None) -> list[Row]:
    """The charge-vs-floor rows for one backend: each scenario at 1 and 16 threads.

    CPU per operation is this process's (every thread: the app's Python) and,
    on PostgreSQL, the server processes serving `pg_db`.
    """
    from tokenapp.extensions import db

    with app.app_context():
        engine = db.engine
    meter = CpuMeter(None, proc_cpu.postgres_backends(pg_db) if pg_db else None)
    rows = []
    for label, users in scenarios:
        for workers in THREADS:
            charged, floored = compare(app, engine, users, workers, duration, rounds, meter)
            rate, floor = statistics.median(charged.rates), statistics.median(floored.rates)
            row = Row(backend, label, f"{workers} thr", rate, floor, percentile_ms(charged.total.latencies, 50),
                      percentile_ms(charged.total.latencies, 99), charged.total.errors + floored.total.errors,
                      f"ratio>={TARGET_RATIO}", rates=charged.rates, cpu=median_cpu(charged.cpu),
                      ref_cpu=median_cpu(floored.cpu))
            row.result = "PASS" if row.ratio and row.ratio >= TARGET_RATIO and not row.errors else "FAIL"
            for problem in filter(None, (charged.total.first_error, floored.total.first_error)):
                log(f"  {backend} {label} {workers} thr: error: {problem}")
            log(f"  {backend:10} {label:20} {workers:2} thr: {rate:6.0f} charges/s (p99 {row.p99_ms or 0:.1f} ms, "
                f"CPU {row.cpu.text()} ms), floor {floor:6.0f}/s (p99 "
                f"{percentile_ms(floored.total.latencies, 99) or 0:.1f} ms, CPU {row.ref_cpu.text()} ms)")
            rows.append(row)
    return rows
