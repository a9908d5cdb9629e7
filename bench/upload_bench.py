"""The worst upload: how long its request takes, how long its run holds on, and what /healthz feels meanwhile.

Run: .venv/bin/python bench/upload_bench.py   (SQLite; about a minute; needs no wrk)

gunicorn serves `wsgi:app` as deployed (production settings, 2 gthread workers of 4 threads). One user logs
in through the real form. Every crafted file of tests/support/uploads.py is uploaded once through the real
gate and run endpoint (survey); the one whose run holds on longest is "the worst upload". Then, in the same
run and on the same server:

  idle     /healthz alone, one request at a time
  alone    the worst upload, one at a time: request answered, run finished (or killed)
  loaded   /healthz one at a time while another client uploads the worst file back to back

Run times are the server's own: from the press (request start) to the run's finished_at in the database;
runs are polled every quarter second only to know when to move on.

CPU ms come from /proc: the gunicorn process tree's utime+stime, reaped children (the parse processes under
the fork server) included, read with 10 ms ticks and averaged. "request" CPU is the gunicorn workers' CPU
while the POST is being answered; "run" CPU is the tree's CPU from the answer until the run has ended (the
parse process, the run thread's database work, and the quarter-second polls).
"""

import os
import re
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "tests")]

import httpx  # noqa: E402 - after the set-up above

import common  # noqa: E402 - after the set-up above

common.clean_environment()

from http_bench import AGENT, login, start_gunicorn, stop_gunicorn  # noqa: E402 - after the set-up above
from support.uploads import CRAFTED  # noqa: E402 - after the set-up above

IDLE_PROBES = 300
ALONE_UPLOADS = 5
LOADED_UPLOADS = 12
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, own CPU ticks, reaped children's CPU ticks) for root and its descendants."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))
    tree, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        if pid in table:
            tree[pid] = table[pid]
            frontier += [child for child, (parent, _, _) in table.items() if parent == pid]
    return tree


class CpuMeter:
    """CPU ms of the gunicorn workers (own time) and of the whole tree, between two readings."""

    def __init__(self, master: int):
        self.master = master

    def read(self) -> tuple[float, float]:
        tree = process_tree(self.master)
        workers = sum(own for pid, (parent, own, _) in tree.items() if parent == self.master)
        everything = sum(own + reaped for pid, (_, own, reaped) in tree.items() if pid != self.master)
        return workers * TICK_MS, everything * TICK_MS


class Browser:
    """One logged-in user over HTTP with cookies handled by hand (production cookies are Secure)."""

    def __init__(self, base: str, email: str):
        self.cookie, self.csrf = login(base, email)
        self.client = httpx.Client(
            base_url=base,
            timeout=60,
            headers={"User-Agent": AGENT, "Cookie": f"session={self.cookie}", "X-CSRFToken": self.csrf},
        )

    def upload(self, filename: str, data: bytes) -> tuple[str | None, float, int]:
        """Press Generate on the resume page with this file: (run id, seconds to answer, status)."""
        gate = self.client.get("/tokens/gate/resume_parsing?for=run", headers={"HX-Request": "true"}).text
        key = re.search(r'name="idempotency_key" value="([^"]+)"', gate).group(1)
        started = time.perf_counter()
        answer = self.client.post(
            "/features/resume_parsing/run",
            headers={"HX-Request": "true"},
            data={"idempotency_key": key, "csrf_token": self.csrf},
            files={"resume_file": (filename, data)},
        )
        seconds = time.perf_counter() - started
        found = re.search(r'id="run-(run_\w+)"', answer.text)
        return (found.group(1) if found else None), seconds, answer.status_code

    def wait(self, run_id: str, limit: float = 60) -> dict:
        """The run once it is no longer queued or running (polled every quarter second)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            body = self.client.get(f"/api/features/runs/{run_id}").json()
            if body["status"] not in ("queued", "running"):
                return body
            time.sleep(0.25)
        raise RuntimeError(f"run {run_id} did not end within {limit}s")


def run_seconds(url: str, pressed: dict[str, float]) -> dict[str, float]:
    """Seconds from each press (epoch time) to its run's finished_at, read from the database."""
    from tokenapp.extensions import db
    from tokenapp.models import FeatureRun

    app = common.make_app(url, pool_size=1)
    with app.app_context():
        rows = db.session.execute(
            db.select(FeatureRun.id, FeatureRun.finished_at).where(FeatureRun.id.in_(list(pressed)))
        ).all()
    common.dispose(app)
    return {run_id: finished.timestamp() - pressed[run_id] for run_id, finished in rows}


def press(browser: "Browser", meter: "CpuMeter", filename: str, data: bytes) -> tuple[str, float, float, float]:
    """Upload and wait for the run: (run id, press epoch time, answer ms, request CPU ms, run CPU ms)."""
    workers, _tree = meter.read()
    pressed = time.time()
    run_id, answer_s, status = browser.upload(filename, data)
    workers2, tree2 = meter.read()
    if run_id is None:
        raise RuntimeError(f"the upload of {filename} answered {status}")
    browser.wait(run_id)
    _, tree3 = meter.read()
    return run_id, pressed, answer_s * 1000, workers2 - workers, tree3 - tree2


def healthz_latencies(base: str, stop: threading.Event | None, count: int | None) -> list[float]:
    """Milliseconds of sequential GET /healthz, `count` of them or until `stop` is set."""
    samples = []
    with httpx.Client(base_url=base, timeout=30) as client:
        while (count is None or len(samples) < count) and not (stop and stop.is_set()):
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def p(values: list[float], q: int) -> float:
    """The q-th percentile."""
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def survey(url: str, browser: Browser, meter: CpuMeter, files: dict) -> list[tuple]:
    """Each crafted file once, alone: (name, MB, answer ms, request CPU, run ms, run CPU, how the run ended)."""
    measured = {}
    for name, (filename, data) in files.items():
        run_id, pressed, answer, request_cpu, run_cpu = press(browser, meter, filename, data)
        measured[name] = (run_id, pressed, answer, request_cpu, run_cpu, browser.wait(run_id)["status"])
        print(f"  {name:20} {answer:7.0f} ms answer  {measured[name][-1]}", file=sys.stderr)
    ended = run_seconds(url, {run_id: pressed for run_id, pressed, *_ in measured.values()})
    return [
        (name, len(files[name][1]) / 1e6, answer, request_cpu, ended[run_id] * 1000, run_cpu, status)
        for name, (run_id, _, answer, request_cpu, run_cpu, status) in measured.items()
    ]


def main() -> None:
    idle_before = common.cpu_idle_percent(1.0)
    files = {name: build() for name, build in CRAFTED.items()}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/upload_bench.db"
        app = common.make_app(url, pool_size=4)
        common.migrate_and_seed(app)
        common.make_users(app, "uploader", 2, 1_000_000)
        common.dispose(app)
        process, base = start_gunicorn(url, 2, "gthread", os.path.join(tmp, "gunicorn.log"))
        try:
            meter = CpuMeter(process.pid)
            browser, other = Browser(base, "uploader0@bench.example"), Browser(base, "uploader1@bench.example")
            healthz_latencies(base, None, 50)  # warm up connections and the fork servers
            print("survey: every crafted file once", file=sys.stderr)
            rows = survey(url, browser, meter, files)
            worst = max(rows, key=lambda row: (row[4], row[2]))[0]
            filename, data = files[worst]

            _workers, tree = meter.read()
            idle = healthz_latencies(base, None, IDLE_PROBES)
            _workers2, tree2 = meter.read()
            idle_cpu = (tree2 - tree) / len(idle)

            alone = [press(browser, meter, filename, data) for _ in range(ALONE_UPLOADS)]
            answers = [answer for _, _, answer, _, _ in alone]
            request_cpu = sum(cpu for _, _, _, cpu, _ in alone) / ALONE_UPLOADS
            run_cpu = sum(cpu for *_, cpu in alone) / ALONE_UPLOADS

            stop = threading.Event()
            loaded: list[float] = []
            prober = threading.Thread(target=lambda: loaded.extend(healthz_latencies(base, stop, None)))
            _workers, tree = meter.read()
            phase_started = time.perf_counter()
            prober.start()
            pending = [other.upload(filename, data)[0] for _ in range(LOADED_UPLOADS)]
            for run_id in pending:
                other.wait(run_id)
            stop.set()
            prober.join()
            phase_s = time.perf_counter() - phase_started
            _workers2, tree2 = meter.read()
        finally:
            stop_gunicorn(process)
        runs = [seconds * 1000 for seconds in run_seconds(url, {run_id: at for run_id, at, *_ in alone}).values()]

    print(f"machine: {os.cpu_count()} CPUs, {idle_before:.0f}% idle before the run (other work slows every figure)")
    print("\nsurvey (each file alone; run ms from the press to the run's end):")
    print(f"{'file':<22}{'MB':>6}{'answer ms':>11}{'req CPU ms':>12}{'run ms':>9}{'run CPU ms':>12}  run ended")
    for name, mb, answer, answer_cpu, run, parse_cpu, status in rows:
        print(f"{name:<22}{mb:>6.2f}{answer:>11.0f}{answer_cpu:>12.0f}{run:>9.0f}{parse_cpu:>12.0f}  {status}")
    print(
        f"\nworst upload: {worst} ({len(data) / 1e6:.2f} MB), {ALONE_UPLOADS} times alone, "
        f"{LOADED_UPLOADS} times back to back under load"
    )
    print(f"{'figure':<42}{'p50 ms':>9}{'p99/max ms':>12}{'CPU ms/op':>11}")
    print(
        f"{'request answered (alone)':<42}{statistics.median(answers):>9.0f}{max(answers):>12.0f}{request_cpu:>11.1f}"
    )
    print(
        f"{'run finished or killed, from the press':<42}{statistics.median(runs):>9.0f}{max(runs):>12.0f}"
        f"{run_cpu:>11.1f}"
    )
    print(f"{'/healthz idle':<42}{statistics.median(idle):>9.1f}{p(idle, 99):>12.1f}{idle_cpu:>11.2f}")
    print(f"{'/healthz while uploads parse':<42}{statistics.median(loaded):>9.1f}{p(loaded, 99):>12.1f}{'-':>11}")
    print(
        f"\nratio loaded / idle /healthz: p50 {statistics.median(loaded) / statistics.median(idle):.2f}x, "
        f"p99 {p(loaded, 99) / p(idle, 99):.2f}x ({len(loaded)} probes during {phase_s:.1f} s; "
        f"server CPU meanwhile {(tree2 - tree) / phase_s:.0f} ms per second, "
        f"{(tree2 - tree) / LOADED_UPLOADS:.0f} ms per upload)"
    )


if __name__ == "__main__":
    main()
