"""Before and after, side by side: two gunicorns (an older tree's tokenapp and this one) on one database.

On a shared machine CPU time per request rises with the load beside it, so
figures from runs at different times do not compare. This script serves
the same PostgreSQL database from two trees at once and alternates wrk
rounds between them (GET balance and POST deduct, 8 clients), with a
pgbench floor round (a deduct's UPDATE + INSERT over 10,000 users) in each
round, so every figure of a round saw the same load.

    git archive <commit> | tar -x -C /tmp/before          # the tree to compare with
    .venv/bin/python bench/compare_trees.py --before /tmp/before --pg-db tokenapp_bench_trees

A tree of another schema (before ledger v2, say) gets a database of its own
with `--before-own-database`, migrated, seeded and filled by its own code in a
subprocess; each tree's PostgreSQL CPU is then its own database's backends.

Prints, for each tree and request: req/s, the gunicorn workers' CPU ms per
request and PostgreSQL's (median and min..max over the rounds), the ratios
deduct/s ÷ balance/s and deduct/s ÷ floor/s, and how the CPU moved.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import common  # noqa: E402

common.clean_environment()

import http_bench  # noqa: E402
import pgbench_floor  # noqa: E402
import proc_cpu  # noqa: E402
from common import CpuMeter  # noqa: E402

USERS = 32
CLIENTS = 8


def spread(values: list[float], fmt: str = ".2f") -> str:
    """median (min..max)."""
    if not values:
        return "-"
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}..{format(max(values), fmt)})"


def main() -> int:
    """Serve both trees, alternate the rounds, print the comparison."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="root of the older tree (holding its tokenapp/)")
    parser.add_argument("--pg-db", default="tokenapp_bench_trees")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each wrk or pgbench run")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--worker-class",
        default="sync",
        choices=("sync", "gthread"),
        help="gthread runs 4 threads a worker with keep-alive, as gunicorn.conf.py deploys",
    )
    parser.add_argument(
        "--before-own-database",
        action="store_true",
        help="serve the older tree from a database of its own, migrated and filled by its own code "
        "(for a tree of another schema, such as one before ledger v2's lots)",
    )
    args = parser.parse_args()
    trees = {"before": os.path.abspath(args.before), "after": common.ROOT}
    if not os.path.isdir(os.path.join(trees["before"], "tokenapp")):
        raise SystemExit(f"bench: {trees['before']} holds no tokenapp/")
    url = common.create_pg_database(args.pg_db)
    urls = {"before": url, "after": url}
    if args.before_own_database:
        urls["before"] = common.create_pg_database(args.pg_db + "_before")
        _fill_with_own_code(trees["before"], urls["before"])
    workdir = tempfile.mkdtemp(prefix="tokenapp-trees-")
    servers = {}
    try:
        app = common.make_app(url)
        common.migrate_and_seed(app)
        common.make_users(app, "web", USERS, 10_000_000)
        common.dispose(app)
        floor_users = pgbench_floor.make_floor_users(url)
        emails = [f"web{i}@bench.example" for i in range(USERS)]
        databases = {"before": args.pg_db + "_before" if args.before_own_database else args.pg_db, "after": args.pg_db}
        targets = {}
        for name, root in trees.items():
            pg = proc_cpu.postgres_backends(databases[name])
            process, base = http_bench.start_gunicorn(
                urls[name], args.workers, args.worker_class, os.path.join(workdir, f"{name}.log"), root=root
            )
            servers[name] = process
            users_file = os.path.join(workdir, f"users-{name}.tsv")
            http_bench.write_users_file(base, emails, users_file)
            targets[name] = (base, users_file, CpuMeter(proc_cpu.gunicorn_workers(process.pid), pg))
            for endpoint in http_bench.ENDPOINTS.values():
                http_bench.run_wrk(base, users_file, *endpoint, CLIENTS, 2)
        runs = {(tree, kind): [] for tree in trees for kind in http_bench.ENDPOINTS}
        floors = []
        for round_no in range(args.rounds):
            order = list(trees) if round_no % 2 == 0 else list(reversed(trees))
            for tree in order:
                base, users_file, meter = targets[tree]
                for kind, endpoint in http_bench.ENDPOINTS.items():
                    result = http_bench.run_wrk(base, users_file, *endpoint, CLIENTS, args.seconds, meter)
                    if result["non2xx"] or result["socket_errors"]:
                        raise RuntimeError(
                            f"{tree} {kind}: {result['non2xx']} non-2xx, {result['socket_errors']} socket errors"
                        )
                    runs[(tree, kind)].append(result)
                    print(
                        f"  round {round_no + 1} {tree:6} {kind:8} {result['rate']:6.0f} req/s "
                        f"CPU {result['cpu'].text()} ms/req",
                        file=sys.stderr,
                        flush=True,
                    )
            floors.append(pgbench_floor.run(url, floor_users, CLIENTS, args.seconds))
            print(
                f"  round {round_no + 1} floor  {floors[-1]['rate']:6.0f} tx/s CPU {floors[-1]['cpu'].text()} ms/tx",
                file=sys.stderr,
                flush=True,
            )
        print(report(trees, runs, floors, args))
    finally:
        for process in servers.values():
            http_bench.stop_gunicorn(process)
        shutil.rmtree(workdir, ignore_errors=True)
        common.drop_pg_database(args.pg_db)
        if args.before_own_database:
            common.drop_pg_database(args.pg_db + "_before")
    return 0


def _fill_with_own_code(root: str, url: str) -> None:
    """Migrate, seed and add the bench users to `url` with the tree at `root` (its own tokenapp and bench/)."""
    script = (
        "import sys; sys.path[:0] = [sys.argv[1] + '/bench', sys.argv[1]]; import common; "
        "common.clean_environment(); app = common.make_app(sys.argv[2]); common.migrate_and_seed(app); "
        f"common.make_users(app, 'web', {USERS}, 10_000_000); common.dispose(app)"
    )
    subprocess.run([sys.executable, "-c", script, root, url], check=True, cwd=root)


def report(trees: dict, runs: dict, floors: list[dict], args) -> str:
    """The comparison table and the ratios."""
    lines = [
        f"{args.rounds} rounds, before/after alternating, gunicorn -w {args.workers} -k {args.worker_class}, wrk -c{CLIENTS}, "
        f"{args.seconds:g} s runs; median (min..max). before = {trees['before']}",
        f"{'tree':7} {'request':8} {'req/s':>20} {'worker CPU ms/req':>22} {'PostgreSQL CPU ms/req':>22}",
    ]
    for tree in trees:
        for kind in http_bench.ENDPOINTS:
            results = runs[(tree, kind)]
            lines.append(
                f"{tree:7} {kind:8} {spread([r['rate'] for r in results], '.0f'):>20} "
                f"{spread([r['cpu'].app_ms for r in results]):>22} "
                f"{spread([r['cpu'].pg_ms for r in results]):>22}"
            )
    lines.append(
        f"{'floor':7} {'pgbench':8} {spread([f['rate'] for f in floors], '.0f'):>20} "
        f"{spread([f['cpu'].app_ms for f in floors]):>22} {spread([f['cpu'].pg_ms for f in floors]):>22}"
        "   (worker column: pgbench's own CPU)"
    )
    for tree in trees:
        deduct = [r["rate"] for r in runs[(tree, "deduct")]]
        balance = [r["rate"] for r in runs[(tree, "balance")]]
        lines.append(
            f"{tree}: deduct/s ÷ balance/s {spread([d / b for d, b in zip(deduct, balance, strict=True)])}, "
            f"deduct/s ÷ floor/s {spread([d / f['rate'] for d, f in zip(deduct, floors, strict=True)], '.3f')}"
        )
    for kind in http_bench.ENDPOINTS:
        before = statistics.median(r["cpu"].app_ms for r in runs[("before", kind)])
        after = statistics.median(r["cpu"].app_ms for r in runs[("after", kind)])
        lines.append(
            f"{kind}: worker CPU {before:.2f} -> {after:.2f} ms/req ({after - before:+.2f}, "
            f"{100 * (after - before) / before:+.0f}%)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
