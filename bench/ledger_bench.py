"""Ledger throughput: ledger.charge() against two bare floors.

All sides run on the same app engine and the same thread setup: each thread
enters its own app context (so it gets its own session and pooled
connection), all threads start together, and each runs until the cell's time
is up. The floors are what a charge cannot avoid doing, in one write
transaction (BEGIN IMMEDIATE on SQLite, exactly as the app's
write_transaction starts it):

- the old floor (ledger v1): lock-and-decrement the balance row and append
  one ledger row;
- the lot floor (ledger v2, the target's reference): the same plus one
  UPDATE of the user's lot by its id.

The old floor skips the lot on purpose, so it leaves the user's lots holding
more than the balance; `settle_old_floor` applies what it skipped in two
set-based statements after the run, so the auditor still checks everything.
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
LOT_UPDATE = text("UPDATE token_lots SET remaining = remaining - 10 WHERE id = :lot AND remaining >= 10")
OLD_FLOOR_NOTE = "old floor"


def _floor_insert():
    """The floors' ledger-row INSERT, its timestamp bound through the app's UTC column type."""
    from tokenapp.models._types import UTCDateTime

    return text(
        "INSERT INTO token_transactions (user_id, type, amount, balance_after, counterparty, lot_id, note, created_at) "
        "VALUES (:u, 'spend', -10, :b, 'revenue', :lot, :note, :t)"
    ).bindparams(bindparam("t", type_=UTCDateTime()))


def floor_lots(engine, user_ids: list[int]) -> dict[int, int]:
    """Each user's largest lot (the bench top-up), which the lot floor debits."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT user_id, MAX(id) FROM token_lots GROUP BY user_id")).all()
    wanted = set(user_ids)
    return {user_id: lot_id for user_id, lot_id in rows if user_id in wanted}


def settle_old_floor(engine) -> None:
    """Apply to the lots what the old floor's debits skipped, and name the lot on its rows."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE token_lots SET remaining = remaining + (SELECT COALESCE(SUM(t.amount), 0) FROM token_transactions t "
                "WHERE t.user_id = token_lots.user_id AND t.note = :note AND t.lot_id IS NULL) "
                "WHERE id IN (SELECT MAX(id) FROM token_lots GROUP BY user_id)"
            ),
            {"note": OLD_FLOOR_NOTE},
        )
        conn.execute(
            text(
                "UPDATE token_transactions SET lot_id = (SELECT MAX(l.id) FROM token_lots l "
                "WHERE l.user_id = token_transactions.user_id) WHERE note = :note AND lot_id IS NULL"
            ),
            {"note": OLD_FLOOR_NOTE},
        )


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


def floor_op(engine, user_ids: list[int], lots: dict[int, int] | None = None):
    """One bare debit + ledger row on `engine` (+ one lot UPDATE when `lots` are given), for a random user."""
    from tokenapp.database import WRITE_OPTION
    from tokenapp.models._types import utcnow

    insert = _floor_insert()

    def op(rng: random.Random) -> None:
        """Debit one user (and their lot) and write the row, in one write transaction."""
        user_id = rng.choice(user_ids)
        lot_id = lots[user_id] if lots else None
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                balance = conn.execute(FLOOR_UPDATE, {"u": user_id}).scalar()
                if balance is None:
                    raise RuntimeError(f"user {user_id} ran out of tokens")
                if lot_id is not None:
                    conn.execute(LOT_UPDATE, {"lot": lot_id})
                conn.execute(
                    insert,
                    {
                        "u": user_id,
                        "b": balance,
                        "lot": lot_id,
                        "note": None if lot_id else OLD_FLOOR_NOTE,
                        "t": utcnow(),
                    },
                )

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
    threads = [
        threading.Thread(target=_worker, args=(app, op, i, duration, barrier, results[i]), daemon=True)
        for i in range(workers)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=duration + 120)
    elapsed = time.perf_counter() - started
    merged = ThreadResult(
        [value for result in results for value in result.latencies],
        sum(result.errors for result in results),
        next((result.first_error for result in results if result.first_error), ""),
    )
    return len(merged.latencies) / elapsed, merged


def compare(app, engine, users: list[int], workers: int, duration: float, rounds: int, meter: CpuMeter):
    """Alternate old-floor, lot-floor and charge rounds; each side's per-round rates, CPU per op, merged results."""
    lots = floor_lots(engine, users)
    ops = {
        "floor": lambda: floor_op(engine, users),
        "lot floor": lambda: floor_op(engine, users, lots),
        "charge": lambda: charge_op(users),
    }
    for make in ops.values():
        run_cell(app, make(), workers, min(0.5, duration))  # fill the pool, warm the caches
    sides = {name: Side() for name in ops}
    for _ in range(rounds):
        for name, make in ops.items():
            mark = meter.start()
            rate, result = run_cell(app, make(), workers, duration)
            side = sides[name]
            side.rates.append(rate)
            side.cpu.append(meter.per_op(mark, len(result.latencies)))
            side.total.latencies += result.latencies
            side.total.errors += result.errors
            side.total.first_error = side.total.first_error or result.first_error
    return sides["charge"], sides["lot floor"], sides["floor"]


@dataclass
class Side:
    """One side of a cell (charge or floor) over its rounds."""

    rates: list[float] = field(default_factory=list)
    cpu: list[Cpu] = field(default_factory=list)
    total: ThreadResult = field(default_factory=ThreadResult)


def ledger_rows(
    backend: str,
    app,
    scenarios: list[tuple[str, list[int]]],
    duration: float,
    rounds: int,
    log,
    pg_db: str | None = None,
) -> list[Row]:
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
            charged, lot_floor, old_floor = compare(app, engine, users, workers, duration, rounds, meter)
            rate = statistics.median(charged.rates)
            for name, floored, target in (
                ("lot floor", lot_floor, f"ratio>={TARGET_RATIO}"),
                ("old floor", old_floor, ""),
            ):
                floor = statistics.median(floored.rates)
                row = Row(
                    backend,
                    f"{label} / {name}",
                    f"{workers} thr",
                    rate,
                    floor,
                    percentile_ms(charged.total.latencies, 50),
                    percentile_ms(charged.total.latencies, 99),
                    charged.total.errors + floored.total.errors,
                    target,
                    rates=charged.rates,
                    cpu=median_cpu(charged.cpu),
                    ref_cpu=median_cpu(floored.cpu),
                )
                if target:
                    row.result = "PASS" if row.ratio and row.ratio >= TARGET_RATIO and not row.errors else "FAIL"
                rows.append(row)
                log(
                    f"  {backend:10} {label:20} {workers:2} thr: {rate:6.0f} charges/s (p99 {row.p99_ms or 0:.1f} ms, "
                    f"CPU {row.cpu.text()} ms), {name} {floor:6.0f}/s (p99 "
                    f"{percentile_ms(floored.total.latencies, 99) or 0:.1f} ms, CPU {row.ref_cpu.text()} ms)"
                )
            for problem in filter(
                None, (charged.total.first_error, lot_floor.total.first_error, old_floor.total.first_error)
            ):
                log(f"  {backend} {label} {workers} thr: error: {problem}")
    settle_old_floor(engine)
    return rows
