"""`make bench`: ledger and HTTP figures on SQLite and PostgreSQL, in one table.

See bench/README.md for what each row means. Every loop is bounded in time
and count, only 127.0.0.1 is contacted, and the PostgreSQL database, the
SQLite file and the gunicorn processes this run made are removed at the end.
"""

import argparse
import functools
import os
import platform
import shutil
import signal
import sqlite3
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # measure the tokenapp beside bench/, not another install

import common  # noqa: E402 - after the set-up above
from common import Row  # noqa: E402 - after the set-up above

common.clean_environment()

import http_bench  # noqa: E402 - after the set-up above
import ledger_bench  # noqa: E402 - after the set-up above
import pgbench_floor  # noqa: E402 - after the set-up above
import proc_cpu  # noqa: E402 - after the set-up above
from common import CpuMeter  # noqa: E402 - after the set-up above

COLUMNS = (
    "backend",
    "scenario",
    "conc",
    "rate/s",
    "min..max",
    "floor|ref/s",
    "ratio",
    "CPU ms/op",
    "ref CPU ms/op",
    "p50 ms",
    "p99 ms",
    "errors",
    "target",
    "result",
)
HOT_BALANCE = 1_000_000_000
USER_BALANCE = 10_000_000


def parse_args() -> argparse.Namespace:
    """The command line; the defaults are what `make bench` runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each ledger round")
    parser.add_argument("--http-seconds", type=float, default=4.0, help="duration of each wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per cell; medians are reported")
    parser.add_argument("--users", type=int, default=1000, help="users in the spread-out ledger scenario")
    parser.add_argument("--http-users", type=int, default=32, help="logged-in users wrk spreads requests over")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--pg-db", default="tokenapp_bench", help="our own database, dropped and recreated")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn/wrk part")
    parser.add_argument("--no-floor", action="store_true", help="skip the pgbench floor row (PostgreSQL)")
    return parser.parse_args()


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the table."""
    print(message, file=sys.stderr, flush=True)


def bench_backend(backend: str, url: str, args: argparse.Namespace, workdir: str) -> list[Row]:
    """Build and fill a fresh database on `url`, then run the ledger and HTTP parts on it."""
    app = common.make_app(url)
    common.migrate_and_seed(app)
    started = time.perf_counter()
    hot = common.make_users(app, "hot", 1, HOT_BALANCE)
    many = common.make_users(app, "user", args.users, USER_BALANCE)
    web = common.make_users(app, "web", args.http_users, USER_BALANCE)
    log(f"{backend}: {1 + args.users + args.http_users} users registered in {time.perf_counter() - started:.1f}s")
    scenarios = [("charge, 1 hot user", hot), (f"charge, {len(many)} users", many)]
    pg_db = args.pg_db if backend == "postgresql" else None
    rows = ledger_bench.ledger_rows(backend, app, scenarios, args.seconds, args.rounds, log, pg_db)
    problems = common.ledger_problems(app)
    log(f"{backend}: ledger audit after the run: {len(problems)} problem(s) {problems[:3]}")
    if problems:
        for row in rows:
            row.result = "FAIL"
    common.dispose(app)
    if not args.no_http:
        emails = [f"web{i}@bench.example" for i in range(len(web))]
        rows += bench_http(backend, url, emails, args, workdir)
    return rows


def bench_http(backend: str, url: str, emails: list[str], args: argparse.Namespace, workdir: str) -> list[Row]:
    """Serve `url` with gunicorn, log the users in, and run wrk against it."""
    server = None
    try:
        server, base = http_bench.start_gunicorn(
            url, args.gunicorn_workers, args.worker_class, os.path.join(workdir, f"gunicorn-{backend}.log")
        )
        users_file = os.path.join(workdir, f"users-{backend}.tsv")
        http_bench.write_users_file(base, emails, users_file)
        log(
            f"{backend}: gunicorn -w {args.gunicorn_workers} -k {args.worker_class} at {base}, "
            f"{len(emails)} users logged in"
        )
        pg = proc_cpu.postgres_backends(args.pg_db) if backend == "postgresql" else None
        meter = CpuMeter(proc_cpu.gunicorn_workers(server.pid), pg)
        floor = None
        if backend == "postgresql" and not args.no_floor:
            floor = functools.partial(pgbench_floor.run, url, pgbench_floor.make_floor_users(url))
            log(f"{backend}: {pgbench_floor.FLOOR_USERS} pgbench floor users made")
        return http_bench.http_rows(backend, base, users_file, args.http_seconds, args.rounds, log, meter, floor)
    finally:
        http_bench.stop_gunicorn(server)


def run_one(backend: str, args: argparse.Namespace, workdir: str) -> list[Row]:
    """One backend from a fresh database to its rows, its database removed afterwards."""
    if backend == "sqlite":
        return bench_backend(backend, f"sqlite:///{os.path.join(workdir, 'bench.db')}", args, workdir)
    url = common.create_pg_database(args.pg_db)
    try:
        return bench_backend(backend, url, args, workdir)
    finally:
        common.drop_pg_database(args.pg_db)


def _cells(row: Row) -> list[str]:
    """The text of one table row."""

    def num(value, fmt):
        """A figure, or - when there is none."""
        return "-" if value is None else format(value, fmt)

    return [
        row.backend,
        row.scenario,
        row.conc,
        num(row.rate, ".0f"),
        row.spread,
        num(row.ref, ".0f"),
        num(row.ratio, ".2f"),
        row.cpu.text(),
        row.ref_cpu.text(),
        num(row.p50_ms, ".1f"),
        num(row.p99_ms, ".1f"),
        str(row.errors),
        row.target,
        row.result,
    ]


def format_table(rows: list[Row]) -> str:
    """Aligned plain-text table; text columns left, figures right."""
    lines = [list(COLUMNS)] + [_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    left = {0, 1, 2, 12, 13}

    def render(line):
        """One aligned line."""
        cells = (
            cell.ljust(w) if i in left else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(lines[0]), rule] + [render(line) for line in lines[1:]])


def side_by_side(rows: list[Row], backends: list[str]) -> list[Row]:
    """Order rows so each scenario's SQLite and PostgreSQL figures sit next to each other."""
    order = []
    for row in rows:
        if (row.scenario, row.conc) not in order:
            order.append((row.scenario, row.conc))
    return sorted(rows, key=lambda r: (order.index((r.scenario, r.conc)), backends.index(r.backend)))


def preflight(args: argparse.Namespace, backends: list[str]) -> None:
    """Stop early, with a clear message, when wrk or PostgreSQL is missing."""
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        raise SystemExit(f"bench: unknown backend(s): {', '.join(sorted(unknown))}")
    if not args.no_http and http_bench.wrk_path() is None:
        raise SystemExit(http_bench.WRK_MISSING)
    if "postgresql" in backends and not args.no_http and not args.no_floor and pgbench_floor.pgbench_path() is None:
        raise SystemExit("bench: pgbench is not installed (Debian: postgresql-client); or run with --no-floor.")
    if "postgresql" in backends and not common.PG_DB_NAME.match(args.pg_db):
        raise SystemExit(f"bench: refusing to use database {args.pg_db!r}: its name must be tokenapp_...bench...")
    if "postgresql" in backends and (why := common.check_postgres()):
        raise SystemExit(
            f"bench: PostgreSQL is not reachable at {common.PG_ADMIN_URL} ({why}).\n"
            "  Set BENCH_PG_URL, or run with --backends sqlite."
        )


def main() -> int:
    """Run every backend, print the table, save it under bench/results/."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks still clean up
    args = parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    preflight(args, backends)
    context = context_line(backends)
    workdir = tempfile.mkdtemp(prefix="tokenapp-bench-")
    rows = []
    try:
        for backend in backends:
            rows += run_one(backend, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = "\n".join([context, "", format_table(side_by_side(rows, backends)), "", legend_text(args, rows)])
    print(report)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "last-run.txt"), "w") as out:
        out.write(report + "\n")
    return 0


def context_line(backends: list[str]) -> str:
    """When and on what the figures were taken."""
    parts = [
        time.strftime("%Y-%m-%d %H:%M"),
        f"{os.cpu_count()} CPUs",
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
    ]
    if "postgresql" in backends:
        parts.append(f"PostgreSQL {common.pg_version()}")
    idle = common.cpu_idle_percent()
    if idle is not None:
        parts.append(f"CPUs {idle:.0f}% idle just before the run")
    return "tokenapp bench, " + ", ".join(parts)


def legend_text(args: argparse.Namespace, rows: list[Row]) -> str:
    """What the columns mean, and how many targets were met."""
    judged = [row for row in rows if row.result in ("PASS", "FAIL")]
    met = sum(row.result == "PASS" for row in judged)
    return (
        f"targets met: {met} of {len(judged)}. Each cell: {args.rounds} alternating rounds, medians shown.\n"
        f"rate: committed charges/s ({args.seconds:g} s rounds) or 2xx responses/s (wrk, {args.http_seconds:g} s "
        f"rounds). floor|ref: bare UPDATE+INSERT transactions/s on the same engine and threads, or GET balance "
        f"req/s on the same server. min..max: the rounds' rates.\n"
        f"CPU ms/op (median round), as app/PostgreSQL: app = this process, every thread (ledger), the gunicorn "
        f"master and workers (HTTP) or pgbench (floor); PostgreSQL = the server processes serving the bench "
        f"database (/proc). ref CPU: the same for the floor|ref side.\n"
        f"pgbench floor: a deduct's UPDATE + INSERT in pgbench over {pgbench_floor.FLOOR_USERS} users; its ratio "
        f"is HTTP deduct/s ÷ floor/s at the same clients.\n"
        f"p50/p99: per charge (ledger) or per request (HTTP). errors: failed "
        f"charges, or non-2xx answers + socket errors. HTTP: gunicorn -w {args.gunicorn_workers} "
        f"-k {args.worker_class}, wrk -t2."
    )


if __name__ == "__main__":
    sys.exit(main())
