"""CPU per request in-process: GET /healthz, GET /api/tokens/balance and POST /api/tokens/deduct.

The Flask test client drives the app as deployed (production settings, the
rate limits on with bench_wsgi.py's raised numbers, in memory) with no
server, socket or load generator, so the figure is the app's own Python per
request. One signed-in user sends `--requests` of each kind per round; the
kinds alternate round by round (`--rounds`, median and min..max shown).
CPU is this process's (`time.process_time()`, every thread), and with
PostgreSQL also the CPU of the server processes serving this database
(`/proc/<pid>/stat`, Linux).

    .venv/bin/python bench/request_cpu.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/request_cpu.py --backends sqlite --profile deduct   # + cProfile of deduct
"""

import argparse
import cProfile
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import common  # noqa: E402
import proc_cpu  # noqa: E402

DEDUCT_BODY = json.dumps({"feature_key": "job_match_detailed"})
BASE_URL = "https://bench.localhost"  # production cookies are Secure
AGENT = "tokenapp-bench"


def production_app(url: str):
    """The deployed app on `url`: production settings, raised per-user limits, no Stripe calls."""
    os.environ.update(
        TOKENAPP_ENV="production",
        SECRET_KEY="bench-" + os.urandom(16).hex(),
        DATABASE_URL=url,
        STRIPE_SECRET_KEY="sk_test_bench_unused",
        STRIPE_WEBHOOK_SECRET="whsec_bench_unused",
    )
    os.environ.pop("REDIS_URL", None)
    from bench_wsgi import RAISED
    from tokenapp import create_app

    app = create_app({"RATE_LIMIT_RULES": RAISED, "PASSWORD_HASH_METHOD": common.FAST_HASH})
    common.clean_environment()
    return app


def signed_in_client(app, email: str):
    """A test client logged in as `email` through the form, and its CSRF token for the API."""
    client = app.test_client()
    # Over HTTPS Flask-WTF also wants a same-site Referer on every unsafe request, as browsers send.
    client.environ_base.update(HTTP_USER_AGENT=AGENT, REMOTE_ADDR="127.0.0.1", HTTP_REFERER=BASE_URL + "/")
    page = client.get("/auth/login", base_url=BASE_URL).get_data(as_text=True)
    token = common.CSRF_META.search(page).group(1)
    answer = client.post(
        "/auth/login", base_url=BASE_URL, data={"email": email, "password": common.PASSWORD, "csrf_token": token}
    )
    if answer.status_code != 302:
        raise RuntimeError(f"login answered {answer.status_code}")
    page = client.get("/", base_url=BASE_URL).get_data(as_text=True)
    return client, common.CSRF_META.search(page).group(1)


def requests_of(client, token: str) -> dict:
    """One call per kind of request; each checks its answer."""
    headers = {"X-CSRFToken": token, "Content-Type": "application/json"}

    def healthz():
        assert client.get("/healthz", base_url=BASE_URL).status_code == 200

    def balance():
        assert client.get("/api/tokens/balance", base_url=BASE_URL).status_code == 200

    def deduct():
        answer = client.post("/api/tokens/deduct", base_url=BASE_URL, data=DEDUCT_BODY, headers=headers)
        assert answer.status_code == 201, answer.get_data(as_text=True)

    return {"healthz": healthz, "balance": balance, "deduct": deduct}


def measure(call, count: int, pg: proc_cpu.Processes | None) -> tuple[float, float, float]:
    """(wall ms, CPU ms, PostgreSQL CPU ms) per call over `count` calls."""
    pg_before = pg.cpu_seconds() if pg else 0.0
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pg_cpu = (pg.cpu_seconds() - pg_before) if pg else 0.0
    return wall * 1e3 / count, cpu * 1e3 / count, pg_cpu * 1e3 / count


def spread(values: list[float]) -> str:
    """median (min..max)."""
    return f"{statistics.median(values):.3f} ({min(values):.3f}..{max(values):.3f})"


def run_backend(backend: str, url: str, args, pg_db: str | None) -> list[str]:
    """Set up one database, measure each kind of request, return the table lines."""
    app = common.make_app(url)
    common.migrate_and_seed(app)
    common.make_users(app, "cpu", 1, 1_000_000_000)
    common.dispose(app)
    app = production_app(url)
    client, token = signed_in_client(app, "cpu0@bench.example")
    calls = requests_of(client, token)
    pg = proc_cpu.postgres_backends(pg_db) if pg_db else None
    for call in calls.values():
        measure(call, 50, None)
    results = {name: [] for name in calls}
    for _ in range(args.rounds):
        for name, call in calls.items():
            results[name].append(measure(call, args.requests, pg))
    if args.profile:
        profile(calls[args.profile], args.requests, backend, args.profile)
    lines = []
    for name, runs in results.items():
        wall, cpu, pg_cpu = ([run[i] for run in runs] for i in range(3))
        lines.append(
            f"{backend:10}  {name:8}  {spread(wall):>22}  {spread(cpu):>22}  {spread(pg_cpu) if pg else '-':>22}"
        )
    with app.app_context():
        from tokenapp.extensions import db

        db.session.remove()
        db.engine.dispose()
    return lines


def profile(call, count: int, backend: str, name: str) -> None:
    """cProfile `count` calls and print the top of it to stderr."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(count):
        call()
    profiler.disable()
    print(f"\n== cProfile: {backend} {name}, {count} calls ==", file=sys.stderr)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(45)
    if os.environ.get("BENCH_PROFILE_DUMP"):
        profiler.dump_stats(os.environ["BENCH_PROFILE_DUMP"])
    stats.sort_stats("tottime").print_stats(30)


def main() -> int:
    """Measure each backend and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=500, help="requests of each kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-db", default="tokenapp_bench_cpu")
    parser.add_argument("--profile", choices=("healthz", "balance", "deduct"), help="also cProfile this request")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="tokenapp-cpu-")
    lines = []
    try:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                lines += run_backend(backend, f"sqlite:///{workdir}/cpu.db", args, None)
            else:
                url = common.create_pg_database(args.pg_db)
                try:
                    lines += run_backend(backend, url, args, args.pg_db)
                finally:
                    common.drop_pg_database(args.pg_db)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"in-process, one user, {args.rounds} rounds of {args.requests} requests each: median (min..max), ms per request"
    )
    print(f"{'backend':10}  {'request':8}  {'wall ms':>22}  {'app CPU ms':>22}  {'PostgreSQL CPU ms':>22}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
