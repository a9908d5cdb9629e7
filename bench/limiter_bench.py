"""What the rate limiter costs: POST /api/tokens/deduct and new Stripe webhook events, with the
limiter off, on in memory, and on in Redis, side by side in one run, CPU ms per request beside each rate.

Run: .venv/bin/python bench/limiter_bench.py [--backends postgresql,sqlite] [--redis-url redis://127.0.0.1:6379/N]

One gunicorn (-w 4 -k sync, production settings, bench/bench_wsgi.py) per
variant serves the same database at the same time; rounds alternate between
the variants in a rotating order, so drift on the machine hits each alike.
Deduct is driven by wrk over 32 logged-in users (as in `make bench`), webhooks
by webhook_bench's 8 signing threads, each round with events never sent before.
CPU is the gunicorn processes' user+system time from /proc, and Redis's own
when the variant uses it. The Redis database given is used for rate-limit keys
(prefix `tokenapp:`), which are removed at the end.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import common  # noqa: E402 - after the set-up above

common.clean_environment()

import http_bench  # noqa: E402 - after the set-up above
import webhook_bench  # noqa: E402 - after the set-up above

CLIENTS = 8
TARGET_RATIO = 0.90
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="postgresql", help="comma-separated: postgresql, sqlite")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", ""),
        help="a Redis database for the 'on, Redis' variant (skipped without)",
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each wrk round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=200, help="new webhook events per variant and round")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--pg-db", default="tokenapp_bench_limiter", help="created and dropped by the run")
    parser.add_argument(
        "--pg-url", default="", help="instead, an existing database of yours: its public schema is dropped and rebuilt"
    )
    return parser.parse_args()


def log(message: str) -> None:
    """Progress to stderr; the table goes to stdout."""
    print(message, file=sys.stderr, flush=True)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(name))
            except OSError:
                continue
    return found


def _redis_pid() -> int | None:
    """The local redis-server's pid, to charge its CPU to the Redis variant."""
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/comm") as comm:
                    if comm.read().strip() == "redis-server":
                        return int(name)
            except OSError:
                continue
    return None


class Variant:
    """One gunicorn serving one limiter setting, with its users logged in and its CPU meters."""

    def __init__(self, name: str, env: dict, uses_redis: bool):
        self.name, self.env, self.uses_redis = name, env, uses_redis
        self.process = None
        self.base = ""
        self.users_file = ""
        self.deduct: list[dict] = []
        self.webhook: list[dict] = []

    def start(self, url: str, emails: list[str], workdir: str) -> None:
        """Serve, and log every user in."""
        slug = self.name.replace(", ", "-")
        self.process, self.base = http_bench.start_gunicorn(
            url,
            4,
            "sync",
            os.path.join(workdir, f"gunicorn-{slug}.log"),
            extra_env={**self.env, "STRIPE_WEBHOOK_SECRET": webhook_bench.SECRET},
        )
        self.users_file = os.path.join(workdir, f"users-{slug}.tsv")
        http_bench.write_users_file(self.base, emails, self.users_file)

    def cpu(self, redis_pid: int | None) -> tuple[float, float]:
        """(gunicorn CPU seconds so far, Redis CPU seconds so far or 0)."""
        app = sum(_cpu_seconds(pid) for pid in [self.process.pid, *_children(self.process.pid)])
        return app, _cpu_seconds(redis_pid) if self.uses_redis and redis_pid else 0.0


def measured(variant: Variant, redis_pid: int | None, work) -> dict:
    """Run `work()` (returning rate, count, p50/p99 ms, errors) and add CPU ms per request."""
    app_before, redis_before = variant.cpu(redis_pid)
    result = work()
    app_after, redis_after = variant.cpu(redis_pid)
    count = max(1, result["count"])
    result["app_cpu_ms"] = (app_after - app_before) * 1e3 / count
    result["redis_cpu_ms"] = (redis_after - redis_before) * 1e3 / count
    return result


def deduct_round(variant: Variant, seconds: float) -> dict:
    """One wrk round of POST /api/tokens/deduct."""
    run = http_bench.run_wrk(variant.base, variant.users_file, "POST", "/api/tokens/deduct", CLIENTS, seconds)
    return {
        "rate": run["rate"],
        "count": run["ok"] + run["non2xx"],
        "p50": run["p50_us"] / 1e3,
        "p99": run["p99_us"] / 1e3,
        "errors": run["non2xx"] + run["socket_errors"],
    }


def webhook_round(variant: Variant, events: list) -> dict:
    """Send fresh signed events to the webhook with 8 threads."""
    rate, latencies, errors = webhook_bench.hammer(variant.base + "/api/stripe/webhooks", events)
    return {
        "rate": rate,
        "count": len(events),
        "p50": webhook_bench.pct(latencies, 50),
        "p99": webhook_bench.pct(latencies, 99),
        "errors": errors,
    }


def pending_purchases(app, count: int) -> list[int]:
    """`count` pending purchases whose checkout sessions are cs_bench_<i>, as webhook_bench makes."""
    from tokenapp.extensions import db
    from tokenapp.models import TokenPurchase, User

    with app.app_context():
        owner = db.session.execute(db.select(User.id).order_by(User.id)).scalar()
        purchases = [
            TokenPurchase(
                user_id=owner, tokens=600, bonus_tokens=0, amount_cents=2000, stripe_checkout_session_id=f"cs_bench_{i}"
            )
            for i in range(count)
        ]
        db.session.add_all(purchases)
        db.session.commit()
        ids = [purchase.id for purchase in purchases]
        db.session.remove()
    return ids


def bench_backend(backend: str, url: str, variants: list[Variant], args, workdir: str) -> list[tuple]:
    """Every variant's deduct and webhook figures on one database."""
    app = common.make_app(url)
    common.migrate_and_seed(app)
    common.make_users(app, "web", args.users, 10_000_000)
    ids = pending_purchases(app, args.events * args.rounds * len(variants))
    common.dispose(app)
    events = [("POST", webhook_bench.event_for(i, pid)) for i, pid in enumerate(ids)]
    emails = [f"web{i}@bench.example" for i in range(args.users)]
    redis_pid = _redis_pid()
    try:
        for variant in variants:
            variant.deduct, variant.webhook = [], []
            variant.start(url, emails, workdir)
            http_bench.run_wrk(variant.base, variant.users_file, "POST", "/api/tokens/deduct", CLIENTS, 2)
        log(f"{backend}: {len(variants)} servers up, {args.users} users logged in on each")
        for round_no in range(args.rounds):
            order = variants[round_no % len(variants) :] + variants[: round_no % len(variants)]
            for variant in order:
                variant.deduct.append(measured(variant, redis_pid, lambda: deduct_round(variant, args.seconds)))  # noqa: B023 - called at once
                chunk, events = events[: args.events], events[args.events :]
                variant.webhook.append(measured(variant, redis_pid, lambda: webhook_round(variant, chunk)))  # noqa: B023 - called at once
                log(
                    f"  {backend} round {round_no + 1} {variant.name:12} deduct {variant.deduct[-1]['rate']:5.0f}/s "
                    f"webhook {variant.webhook[-1]['rate']:5.0f}/s"
                )
    finally:
        for variant in variants:
            http_bench.stop_gunicorn(variant.process)
    rows = []
    for scenario, attribute in (("HTTP POST deduct", "deduct"), ("webhook, new event", "webhook")):
        reference = statistics.median(run["rate"] for run in getattr(variants[0], attribute))
        for variant in variants:
            runs = getattr(variant, attribute)
            median = {
                key: statistics.median(run[key] for run in runs)
                for key in ("rate", "p50", "p99", "app_cpu_ms", "redis_cpu_ms")
            }
            errors = sum(run["errors"] for run in runs)
            rows.append((backend, scenario, variant.name, median, reference, errors))
    return rows


def format_rows(rows: list[tuple]) -> str:
    """The table: each 'on' row's rate as a ratio of the 'off' row above it."""
    lines = [
        f"{'backend':<11}{'scenario':<20}{'limiter':<13}{'rate/s':>8}{'vs off':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'app CPU ms/req':>16}{'Redis CPU ms/req':>18}{'errors':>8}  result"
    ]
    for backend, scenario, name, median, reference, errors in rows:
        ratio = median["rate"] / reference if reference else 0.0
        verdict = "-" if name == "off" else ("PASS" if ratio >= TARGET_RATIO and errors == 0 else "FAIL")
        lines.append(
            f"{backend:<11}{scenario:<20}{name:<13}{median['rate']:>8.0f}{ratio:>8.2f}{median['p50']:>8.1f}"
            f"{median['p99']:>8.1f}{median['app_cpu_ms']:>16.2f}{median['redis_cpu_ms']:>18.3f}"
            f"{errors:>8}  {verdict}"
        )
    return "\n".join(lines)


def reset_schema(url: str) -> str:
    """Empty an existing PostgreSQL database (its public schema); return its SQLAlchemy URL."""
    from sqlalchemy import create_engine, text

    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def clear_redis(url: str) -> None:
    """Remove the rate-limit keys this run left in its Redis database."""
    import redis

    connection = redis.Redis.from_url(url)
    for key in connection.scan_iter("tokenapp:*"):
        connection.delete(key)
    connection.close()


def main() -> int:
    """Run each backend and print the table."""
    args = parse_args()
    if http_bench.wrk_path() is None:
        raise SystemExit(http_bench.WRK_MISSING)
    variants = [Variant("off", {"BENCH_RATE_LIMITS": "off"}, False), Variant("on, memory", {}, False)]
    if args.redis_url:
        variants.append(Variant("on, Redis", {"REDIS_URL": args.redis_url}, True))
    rows = []
    with tempfile.TemporaryDirectory(prefix="tokenapp-limiter-") as workdir:
        for backend in [name.strip() for name in args.backends.split(",") if name.strip()]:
            if backend == "sqlite":
                rows += bench_backend(backend, f"sqlite:///{workdir}/bench.db", variants, args, workdir)
                continue
            if args.pg_url:
                rows += bench_backend(backend, reset_schema(args.pg_url), variants, args, workdir)
                continue
            url = common.create_pg_database(args.pg_db)
            try:
                rows += bench_backend(backend, url, variants, args, workdir)
            finally:
                common.drop_pg_database(args.pg_db)
    if args.redis_url:
        clear_redis(args.redis_url)
    print(f"tokenapp limiter bench, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs\n")
    print(format_rows(rows))
    print(
        f"\n{args.rounds} rounds per cell, medians shown. deduct: wrk -c{CLIENTS}, {args.seconds:g} s rounds, "
        f"{args.users} users; webhook: {args.events} new events a round, 8 threads. gunicorn -w 4 -k sync, "
        f"production settings. Target: every 'on' rate >= {TARGET_RATIO:.2f} x 'off'."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
