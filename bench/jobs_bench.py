"""Jobs through the queue: throughput with 1 and 4 `flask worker`s, and enqueue->start latency.

    .venv/bin/python bench/jobs_bench.py [--rounds 3] [--trivial 300] [--runs 100]

Needs PostgreSQL (BENCH_PG_URL, as the other benches; its own database
`tokenapp_bench_jobs`, dropped at the end) and Redis (BENCH_REDIS_URL, default
redis://127.0.0.1:6379/11: that database is FLUSHED at the start and the end).

Two jobs: `trivial` (a no-op job function: the cost of the queue, the fork of
RQ's work horse and the app context) and `feature` (a real cover-letter run on
the local engine: claim, generate, consume the charge). Throughput: a burst of
N jobs is queued at once to idle workers; jobs/s = N / (last end - first
enqueue). Latency: enqueue->start of each job in that burst (mostly queueing
behind the burst), and of 40 trivial jobs queued one every 50 ms (light load).
CPU ms per job: the worker processes' CPU (their horses included, from
/proc/PID/stat), divided by N; PostgreSQL's and Redis's own CPU is not in it.
Each configuration runs `--rounds` times; the table shows the median and the
min..max, which is the noise.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import common  # noqa: E402 - after the set-up above

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
PG_DB = "tokenapp_bench_jobs"
FEATURE_INPUTS = {
    "job_description": "Acme Robotics is hiring a Senior Python Engineer. Must have Python, "
    "PostgreSQL and Docker. 5+ years of experience required.",
    "resume_text": "Ada Lovelace\nSkills: Python, PostgreSQL, Flask\nSenior Engineer, 2015 - Present",
    "tone": "professional",
}
TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU of these processes and their reaped children (the work horses)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += sum(int(value) for value in fields[11:15])
    return total / TICKS


def start_workers(count: int, env: dict) -> list[subprocess.Popen]:
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "tokenapp", "worker", "--no-scheduler"],
            cwd=common.ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    from rq import Worker

    from tokenapp.jobs.queue import redis_connection

    deadline = time.monotonic() + 60
    while len(Worker.all(connection=redis_connection(APP))) < count:
        if time.monotonic() > deadline:
            raise SystemExit("bench: the workers did not start")
        time.sleep(0.1)
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=30)


def finished_jobs():
    """Every job that ended (kept FINISHED_JOB_TTL_SECONDS), with its timestamps."""
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    from tokenapp.jobs.queue import redis_connection, rq_queue

    ids = FinishedJobRegistry(queue=rq_queue(APP)).get_job_ids()
    return [job for job in Job.fetch_many(ids, connection=redis_connection(APP)) if job is not None]


def wait_for(count: int, earlier: set, seconds: float = 300) -> list:
    """The `count` jobs that finished since `earlier` (the ids that had finished before)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        jobs = [job for job in finished_jobs() if job.id not in earlier]
        if len(jobs) >= count:
            return jobs
        time.sleep(0.05)
    raise SystemExit(f"bench: only {len(jobs)} of {count} jobs finished")


def finished_ids() -> set:
    return {job.id for job in finished_jobs()}


def queue_trivial(count: int) -> None:
    from tokenapp.jobs import enqueue
    from tokenapp.jobs.context import current_job_id

    with APP.app_context():
        for _ in range(count):
            enqueue(current_job_id)


def prepare_feature_charges(count: int) -> list[tuple[int, str]]:
    from tokenapp.extensions import db
    from tokenapp.services import charges

    users = common.make_users(APP, f"r{time.monotonic_ns()}-", 4, 10 * count)
    with APP.app_context():
        held = [(uid, charges.charge(uid, "cover_letter").charge_id) for i in range(count) for uid in [users[i % 4]]]
        db.session.remove()
    return held


def queue_feature_runs(held: list[tuple[int, str]]) -> None:
    from tokenapp.extensions import db
    from tokenapp.features import runs

    with APP.app_context():
        for uid, charge_id in held:
            runs.start(uid, "cover_letter", charge_id, FEATURE_INPUTS)
        db.session.remove()


def flush_redis() -> None:
    from tokenapp.jobs.queue import redis_connection

    redis_connection(APP).flushdb()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def burst_round(kind: str, count: int, workers: list[subprocess.Popen]) -> dict:
    """Queue `count` jobs at once to idle workers; throughput, latency and CPU per job."""
    held = prepare_feature_charges(count) if kind == "feature" else None
    earlier = finished_ids()
    pids = [worker.pid for worker in workers]
    cpu_before = cpu_seconds(pids)
    queue_feature_runs(held) if kind == "feature" else queue_trivial(count)
    jobs = wait_for(count, earlier)
    cpu = cpu_seconds(pids) - cpu_before
    first = min(job.enqueued_at for job in jobs)
    last = max(job.ended_at for job in jobs)
    waits = [(job.started_at - job.enqueued_at).total_seconds() * 1000 for job in jobs]
    return {
        "rate": count / (last - first).total_seconds(),
        "cpu_ms": 1000 * cpu / count,
        "p50": percentile(waits, 0.5),
        "p99": percentile(waits, 0.99),
    }


def paced_round(count: int = 40, gap: float = 0.05) -> dict:
    """Trivial jobs one every `gap` seconds: enqueue->start with idle workers."""
    earlier = finished_ids()
    for _ in range(count):
        queue_trivial(1)
        time.sleep(gap)
    jobs = wait_for(count, earlier)
    waits = [(job.started_at - job.enqueued_at).total_seconds() * 1000 for job in jobs]
    return {"p50": percentile(waits, 0.5), "p99": percentile(waits, 0.99)}


def spread(values: list[float], digits: int = 1) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}..{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trivial", type=int, default=300, help="trivial jobs per burst")
    parser.add_argument("--runs", type=int, default=100, help="feature runs per burst")
    parser.add_argument("--workers", default="1,4")
    args = parser.parse_args()

    global APP
    common.clean_environment()
    url = common.create_pg_database(PG_DB)
    os.environ["REDIS_URL"] = REDIS_URL
    APP = common.make_app(url)
    APP.logger.setLevel("WARNING")
    common.migrate_and_seed(APP)
    env = {
        **os.environ,
        "DATABASE_URL": url.replace("postgresql+psycopg", "postgresql"),
        "REDIS_URL": REDIS_URL,
        "TOKENAPP_ENV": "development",
    }
    lines = [
        f"jobs bench: PostgreSQL {common.pg_version()}, Redis {REDIS_URL}, {os.cpu_count()} CPUs, "
        f"idle {common.cpu_idle_percent():.0f}%, {args.rounds} rounds: median (min..max)",
        f"{'job':8} {'workers':>7} {'jobs/s':>20} {'worker CPU ms/job':>20} "
        f"{'enqueue->start p50 ms':>24} {'p99 ms':>22}",
    ]
    flush_redis()
    try:
        for count in [int(n) for n in args.workers.split(",")]:
            workers = start_workers(count, env)
            try:
                for kind, size in (("trivial", args.trivial), ("feature", args.runs)):
                    results = []
                    for round_number in range(args.rounds):
                        results.append(burst_round(kind, size, workers))
                        log(f"{kind} x{count} round {round_number + 1}: {results[-1]}")
                    lines.append(
                        f"{kind:8} {count:>7} {spread([r['rate'] for r in results]):>20} "
                        f"{spread([r['cpu_ms'] for r in results]):>20} "
                        f"{spread([r['p50'] for r in results], 0):>24} "
                        f"{spread([r['p99'] for r in results], 0):>22}"
                    )
                paced = [paced_round() for _ in range(args.rounds)]
                lines.append(
                    f"{'paced':8} {count:>7} {'1 job / 50 ms':>20} {'':>20} "
                    f"{spread([r['p50'] for r in paced]):>24} {spread([r['p99'] for r in paced]):>22}"
                )
            finally:
                stop_workers(workers)
        problems = common.ledger_problems(APP)
        lines.append(f"ledger audit after the runs: {len(problems)} problem(s)")
    finally:
        flush_redis()
        common.dispose(APP)
        common.drop_pg_database(PG_DB)
    print("\n".join(lines))


APP = None

if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
