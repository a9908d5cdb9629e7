"""The expiry sweep (`ledger.expire_lots`) over a million lots on PostgreSQL: rate, CPU per lot, lock hold.

    .venv/bin/python bench/expiry_bench.py [--users 100000] [--slice-minutes 3] [--runs 2] [--batch N[,N...]]

Needs PostgreSQL (BENCH_PG_URL, as the other benches); it makes its own
database `tokenapp_ledger2proof_bench` (`--pg-db`) and drops it at the end.

The rows are made by SQL in bulk (INSERT ... SELECT generate_series), consistent
as the auditor wants them: `--users` users with ten lots each (bonus and paid
alternately, 10..100 tokens, paid ones at 5 cents a token), one credit row per
lot naming it, balances and balance_after the running sums, and each account's
next_expiry_at its soonest lot. Eight of the ten lots expire, at minute
`(user * 7919 + lot * 104729) % 1000` after a moment T0 in the past; two never
do. Run i sweeps as of T0 + i * slice-minutes, so each run expires its own
slice of about the same size (slice/1000 of the expiring lots: by default
3/1000, ~2,400 lots in ~2,400 accounts), on the whole million-lot tables;
`--slice-minutes 125` sweeps ~100,000 lots a run on an idle machine.

Per run: lots expired per second, accounts per second, CPU ms per lot for
this Python process (time.process_time) and for the PostgreSQL backends of
the database (from /proc, `proc_cpu.Watch`), and the lock hold time of the
sweep's transactions (one per batch of due accounts; `--batch 100,500` gives
run i the i-th size, cycling). Lock hold, measured in this process: an engine
event stamps the moment the first statement of a transaction that locks
account rows is sent (`UPDATE token_accounts`, or a `SELECT ... FOR UPDATE`
from it), and a wrapper around the sweep's `write_transaction` stamps the
moment its COMMIT has returned; the difference bounds from above the time the
server held the locks of that transaction's accounts (one round trip more
than the true hold), each of them for the whole of it. The sweep's code is not changed:
the wrapper is installed on `tokenapp.services.ledger.write_transaction` for
the bench process only. After the runs, SQL checks that every account still
adds up (balance = sum of amounts = sum of lots, newest balance_after) and
that no due lot is left with tokens.

The machine is shared: the CPU idle share before each run is printed, and the
runs' spread (max/min of the rates) is the noise.
"""

import argparse
import contextlib
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # measure the tokenapp beside bench/, not another install

import common  # noqa: E402 - after the set-up above

common.clean_environment()

from sqlalchemy import event, text  # noqa: E402 - after the set-up above

import proc_cpu  # noqa: E402 - after the set-up above

SPREAD_MINUTES = 1000
# One statement each, over all users at once; :n users, :t0 the moment expiry offsets count from.
BUILD = [
    """INSERT INTO users (id, email, password_hash, is_admin, referral_code, created_at)
       SELECT g, 'exp' || g || '@bench.example', 'x', false, 'EXP' || g, now() FROM generate_series(1, :n) g""",
    """INSERT INTO token_lots (id, user_id, source, kind, granted, remaining, cost_cents, expires_at, created_at)
       SELECT (g - 1) * 10 + k + 1, g, CASE WHEN k % 2 = 0 THEN 'daily_bonus' ELSE 'purchase' END,
              CASE WHEN k % 2 = 0 THEN 'bonus' ELSE 'paid' END, 10 * (k + 1), 10 * (k + 1),
              CASE WHEN k % 2 = 0 THEN 0 ELSE 50 * (k + 1) END,
              CASE WHEN k < 8 THEN :t0 + ((g::bigint * 7919 + k * 104729) % 1000) * interval '1 minute' END, now()
       FROM generate_series(1, :n) g, generate_series(0, 9) k""",
    """INSERT INTO token_transactions (id, user_id, type, amount, balance_after, counterparty, created_at, lot_id,
                                      cents, debt_change, note)
       SELECT id, user_id, CASE WHEN kind = 'bonus' THEN 'bonus' ELSE 'purchase' END, granted,
              5 * (granted / 10) * (granted / 10 + 1), CASE WHEN kind = 'bonus' THEN 'promotions' ELSE 'stripe' END,
              created_at, id, cost_cents, 0, 'bench lot'
       FROM token_lots""",
    """INSERT INTO token_accounts (user_id, balance, debt, lifetime_purchased, lifetime_spent, lifetime_bonus,
                                  is_unlimited, updated_at, next_expiry_at)
       SELECT user_id, sum(remaining), 0, sum(granted) FILTER (WHERE kind = 'paid'), 0,
              sum(granted) FILTER (WHERE kind = 'bonus'), false, now(), min(expires_at)
       FROM token_lots GROUP BY user_id""",
    "SELECT setval(pg_get_serial_sequence('users', 'id'), :n)",
    "SELECT setval(pg_get_serial_sequence('token_lots', 'id'), (SELECT max(id) FROM token_lots))",
    "SELECT setval(pg_get_serial_sequence('token_transactions', 'id'), (SELECT max(id) FROM token_transactions))",
]
CHECKS = {
    "accounts whose balance is not the sum of their rows, their lots and their newest balance_after": """
        SELECT count(*) FROM token_accounts a
        JOIN (SELECT user_id, sum(amount) AS total, max(id) AS last FROM token_transactions GROUP BY user_id) r
          ON r.user_id = a.user_id
        JOIN (SELECT user_id, sum(remaining) AS held FROM token_lots GROUP BY user_id) l ON l.user_id = a.user_id
        JOIN token_transactions n ON n.id = r.last
        WHERE a.balance <> r.total OR a.balance <> l.held OR a.balance <> n.balance_after""",
    "lots due by the last run's moment that still hold tokens": "SELECT count(*) FROM token_lots WHERE remaining > 0 AND expires_at <= :as_of",
    "lots whose remaining is not the sum of the rows naming them": """
        SELECT count(*) FROM token_lots l
        JOIN (SELECT lot_id, sum(amount) AS moved FROM token_transactions WHERE lot_id IS NOT NULL GROUP BY lot_id) r
          ON r.lot_id = l.id
        WHERE l.remaining <> r.moved""",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000, help="users, ten lots each")
    parser.add_argument("--slice-minutes", type=int, default=3, help="minutes of expiries (of 1000) each run sweeps")
    parser.add_argument("--runs", type=int, default=2, help="sweeps, each over the next slice")
    parser.add_argument(
        "--batch",
        type=lambda text: [int(size) for size in text.split(",")],
        default=None,
        help="expire_lots batch size, or sizes run by run (default: the ledger's)",
    )
    parser.add_argument("--pg-db", default="tokenapp_ledger2proof_bench", help="our own database, dropped at the end")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def locks_accounts(statement: str) -> bool:
    """Whether `statement` takes account row locks: an UPDATE of token_accounts, or a SELECT ... FOR UPDATE from it."""
    statement = statement.lstrip()
    if statement.startswith("UPDATE token_accounts"):
        return True
    return statement.startswith("SELECT") and "FROM token_accounts" in statement and "FOR UPDATE" in statement


class LockClock:
    """The sweep's transaction timings: first statement locking accounts sent .. COMMIT returned."""

    def __init__(self, engine):
        self.holds: list[float] = []
        self.transactions: list[float] = []
        self.commits: list[float] = []
        self._locked_at: float | None = None
        self._committing: float | None = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "commit", self._commit)

    def _commit(self, _conn) -> None:
        self._committing = time.perf_counter()

    def _before(self, _conn, _cursor, statement, *_args) -> None:
        if self._locked_at is None and locks_accounts(statement):
            self._locked_at = time.perf_counter()

    def wrap(self, write_transaction):
        """`write_transaction`, timed."""
        clock = self

        @contextlib.contextmanager
        def timed():
            began = time.perf_counter()
            clock._locked_at = clock._committing = None
            with write_transaction() as tx:
                yield tx
            ended = time.perf_counter()
            clock.transactions.append(ended - began)
            if clock._committing is not None:
                clock.commits.append(ended - clock._committing)
            if clock._locked_at is not None:
                clock.holds.append(ended - clock._locked_at)

        return timed

    def reset(self) -> None:
        self.holds.clear()
        self.transactions.clear()
        self.commits.clear()


def build(app, users: int, t0) -> float:
    """Make the rows; the seconds it took."""
    from tokenapp.extensions import db

    began = time.perf_counter()
    with app.app_context():
        for statement in BUILD:
            db.session.execute(text(statement), {"n": users, "t0": t0})
        db.session.commit()
        connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(text("VACUUM ANALYZE"))
        connection.close()
        db.session.remove()
    return time.perf_counter() - began


def one_run(app, pg, lock_clock: LockClock, as_of, batch: int | None) -> dict:
    """One sweep as of `as_of`, measured."""
    from tokenapp.extensions import db
    from tokenapp.services import ledger

    idle = common.cpu_idle_percent(1.0)
    lock_clock.reset()
    with app.app_context():
        cpu_began, wall_began = time.process_time(), time.perf_counter()
        with proc_cpu.Watch(pg) as server:
            report = ledger.expire_lots(as_of, **({"batch": batch} if batch else {}))
        wall = time.perf_counter() - wall_began
        cpu = time.process_time() - cpu_began
        db.session.remove()
    lots = _expiry_rows(app)
    holds = sorted(lock_clock.holds)
    return {
        "idle": idle,
        "accounts": report.accounts,
        "tokens": report.tokens,
        "lots": lots,
        "wall": wall,
        "app_ms": cpu * 1e3 / max(1, lots),
        "pg_ms": server.seconds * 1e3 / max(1, lots),
        "hold_p50": common.percentile_ms(holds, 50),
        "hold_p99": common.percentile_ms(holds, 99),
        "hold_max": holds[-1] * 1e3 if holds else None,
        "transactions": len(lock_clock.transactions),
        "tx_mean": statistics.mean(lock_clock.transactions) * 1e3 if lock_clock.transactions else None,
        "commit_mean": statistics.mean(lock_clock.commits) * 1e3 if lock_clock.commits else None,
    }


_EXPIRED_TOTAL = 0


def _expiry_rows(app) -> int:
    """Expiry rows written by the last run (the count since the previous call)."""
    from tokenapp.extensions import db

    global _EXPIRED_TOTAL
    with app.app_context():
        total = db.session.execute(text("SELECT count(*) FROM token_transactions WHERE type = 'expiry'")).scalar_one()
        db.session.remove()
    made, _EXPIRED_TOTAL = total - _EXPIRED_TOTAL, total
    return made


def checks(app, as_of) -> dict[str, int]:
    from tokenapp.extensions import db

    with app.app_context():
        found = {name: db.session.execute(text(sql), {"as_of": as_of}).scalar_one() for name, sql in CHECKS.items()}
        db.session.remove()
    return found


def main() -> int:
    args = parse_args()
    from datetime import timedelta

    import tokenapp.services.ledger as ledger_package
    from tokenapp.extensions import db
    from tokenapp.models._types import utcnow

    why_not = common.check_postgres()
    if why_not:
        print(f"expiry bench: PostgreSQL is not usable: {why_not}", file=sys.stderr)
        return 2
    url = common.create_pg_database(args.pg_db)
    try:
        app = common.make_app(url, pool_size=4)
        common.migrate_and_seed(app)
        t0 = (utcnow() - timedelta(minutes=2 * SPREAD_MINUTES)).replace(second=0, microsecond=0)
        built = build(app, args.users, t0)
        with app.app_context():
            lot_count = db.session.execute(text("SELECT count(*) FROM token_lots")).scalar_one()
            db.session.remove()
        print(
            f"built {args.users:,} users, {lot_count:,} lots, {lot_count:,} credit rows in {built:.1f} s "
            f"(PostgreSQL {common.pg_version()}, {os.cpu_count()} CPUs)",
            file=sys.stderr,
        )
        with app.app_context():
            lock_clock = LockClock(db.engine)
        ledger_package.write_transaction = lock_clock.wrap(ledger_package.write_transaction)
        pg = proc_cpu.postgres_backends(args.pg_db)
        results = []
        for run in range(1, args.runs + 1):
            as_of = t0 + timedelta(minutes=run * args.slice_minutes)
            batch = args.batch[(run - 1) % len(args.batch)] if args.batch else None
            results.append(one_run(app, pg, lock_clock, as_of, batch) | {"batch": batch or ledger_package.EXPIRY_BATCH})
            print(f"run {run} done in {results[-1]['wall']:.1f} s", file=sys.stderr)
        found = checks(app, as_of)
        _print(args, lot_count, results, found)
        common.dispose(app)
        return 1 if any(found.values()) else 0
    finally:
        if not args.keep:
            common.drop_pg_database(args.pg_db)


def _print(args, lot_count: int, results: list[dict], found: dict[str, int]) -> None:
    print(
        f"expiry sweep over {lot_count:,} lots ({args.users:,} accounts), {args.slice_minutes}/1000 of the "
        "expiring lots per run"
    )
    print(
        f"{'run':>3} {'batch':>5} {'idle%':>6} {'lots':>8} {'accounts':>8} {'tx':>5} {'s':>7} {'lots/s':>8} {'acc/s':>7} "
        f"{'CPU ms/lot app/PG':>18} {'tx ms mean':>10} {'commit':>6} {'lock ms p50':>11} {'p99':>6} {'max':>7}"
    )
    for number, r in enumerate(results, 1):
        idle = "-" if r["idle"] is None else f"{r['idle']:.0f}"
        print(
            f"{number:>3} {r['batch']:>5} {idle:>6} {r['lots']:>8,} {r['accounts']:>8,} {r['transactions']:>5,} "
            f"{r['wall']:>7.1f} "
            f"{r['lots'] / r['wall']:>8,.0f} {r['accounts'] / r['wall']:>7,.0f} "
            f"{r['app_ms']:>8.3f}/{r['pg_ms']:<9.3f} {r['tx_mean']:>10.2f} {r['commit_mean']:>6.2f} {r['hold_p50']:>11.2f} "
            f"{r['hold_p99']:>6.2f} {r['hold_max']:>7.1f}"
        )
    rates = [r["lots"] / r["wall"] for r in results]
    if len(rates) > 1:
        print(
            f"noise: lots/s spread max/min {max(rates) / min(rates):.2f}; "
            f"CPU ms/lot app {min(r['app_ms'] for r in results):.3f}..{max(r['app_ms'] for r in results):.3f}, "
            f"PG {min(r['pg_ms'] for r in results):.3f}..{max(r['pg_ms'] for r in results):.3f}"
        )
    for name, count in found.items():
        print(f"check: {count} {name}{'' if count == 0 else '  FAIL'}")


if __name__ == "__main__":
    sys.exit(main())
