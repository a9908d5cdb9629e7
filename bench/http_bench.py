"""HTTP: POST /api/tokens/deduct against GET /api/tokens/balance under gunicorn and wrk.

gunicorn serves `bench_wsgi:app`, wsgi.py's app with the per-user rate limits
raised (still checked on every request), as deployed otherwise
(TOKENAPP_ENV=production, a SECRET_KEY, DATABASE_URL at the bench database). Users log in over HTTP; wrk replays
their session cookies and CSRF tokens, spread round-robin over the users.
"""

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

import httpx

from common import CSRF_META, PASSWORD, ROOT, Cpu, CpuMeter, Row, median_cpu
from pgbench_floor import FLOOR_USERS

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "wrk_api.lua")
AGENT = "tokenapp-bench"
SESSION = re.compile(r"(?:^|,)\s*session=([^;]*)")
DEDUCT_BODY = json.dumps({"feature_key": "job_match_detailed"})
STARTUP_SECONDS = 90  # a busy shared machine can take this long to import and fork four workers
TARGET_RATIO = 0.5
CLIENTS = (8, 32)
FLOOR_CLIENTS = 8
ENDPOINTS = {"balance": ("GET", "/api/tokens/balance"), "deduct": ("POST", "/api/tokens/deduct")}
# Production insists on Stripe keys; the bench never reaches a payment route.
UNUSED_STRIPE = {"STRIPE_SECRET_KEY": "sk_test_bench_unused", "STRIPE_WEBHOOK_SECRET": "whsec_bench_unused"}
TARGET_P99_MS = 50.0

WRK_MISSING = (
    "bench: wrk is not installed; the HTTP part needs it.\n"
    "  Debian/Ubuntu: sudo apt-get install -y wrk    macOS: brew install wrk\n"
    "  or run `.venv/bin/python bench/run.py --no-http` for the ledger part only."
)


def wrk_path() -> str | None:
    """Where wrk is, or None."""
    return shutil.which("wrk")


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    url: str, workers: int, worker_class: str, log_path: str, extra_env: dict | None = None, root: str = ROOT
) -> tuple[subprocess.Popen, str]:
    """Start gunicorn on a free local port with the production settings; (process, base URL).

    It serves bench/bench_wsgi.py: the deployed app with the per-user rate limits
    raised above what the bench's few users send (see that file), importing
    the `tokenapp` package found in `root` (this repository unless told).
    """
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TOKENAPP_", "STRIPE_", "AI_PROVIDER", "REDIS_URL", "RATE_LIMITS"))
    }
    env.update(
        TOKENAPP_ENV="production",
        SECRET_KEY="bench-" + os.urandom(16).hex(),
        DATABASE_URL=url,
        PYTHONPATH=os.pathsep.join(filter(None, [root, HERE, env.get("PYTHONPATH")])),
    )
    env.update({**UNUSED_STRIPE, **(extra_env or {})})
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-k",
        worker_class,
        "-b",
        f"127.0.0.1:{port}",
        "bench_wsgi:app",
    ]
    if worker_class == "gthread":
        command[5:5] = ["--threads", "4"]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    _wait_until_serving(base, process, log_path)
    return process, base


def _wait_until_serving(base: str, process: subprocess.Popen, log_path: str) -> None:
    """Poll the login page until it answers 200; stop with the log tail if it never does."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(base + "/auth/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_gunicorn(process)
    with open(log_path, errors="replace") as log:
        raise RuntimeError(f"gunicorn did not serve {base}:\n{log.read()[-2000:]}")


def stop_gunicorn(process: subprocess.Popen | None) -> None:
    """Stop the gunicorn master we started (its workers go with it)."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _get(client: httpx.Client, url: str, cookie: str | None) -> tuple[str, str | None]:
    """GET `url` with the session cookie; (page text, session cookie after it)."""
    response = client.get(url, headers={"Cookie": f"session={cookie}"} if cookie else {})
    match = SESSION.search(", ".join(response.headers.get_list("set-cookie")))
    return response.text, match.group(1) if match else cookie


def login(base: str, email: str) -> tuple[str, str]:
    """Log `email` in through the real form; (session cookie, CSRF token for the API).

    Cookies are handled by hand: in production they are Secure, and this is plain HTTP.
    """
    with httpx.Client(base_url=base, headers={"User-Agent": AGENT}, timeout=10) as client:
        page, cookie = _get(client, "/auth/login", None)
        form = {"email": email, "password": PASSWORD, "csrf_token": CSRF_META.search(page).group(1)}
        response = client.post("/auth/login", data=form, headers={"Cookie": f"session={cookie}"})
        if response.status_code != 302:
            raise RuntimeError(f"login of {email} answered {response.status_code}")
        cookie = SESSION.search(", ".join(response.headers.get_list("set-cookie"))).group(1)
        page, cookie = _get(client, "/", cookie)
        return cookie, CSRF_META.search(page).group(1)


def run_wrk(
    base: str, users_file: str, method: str, path: str, clients: int, duration: float, meter: CpuMeter | None = None
) -> dict:
    """One wrk run; the BENCH_RESULT figures plus the 2xx rate, and CPU per request when `meter` is given."""
    env = dict(os.environ, BENCH_USERS=users_file, BENCH_METHOD=method, BENCH_PATH=path, BENCH_UA=AGENT)
    if method == "POST":
        env["BENCH_BODY"] = DEDUCT_BODY
    threads = min(2, clients)
    command = [
        wrk_path(),
        f"-t{threads}",
        f"-c{clients}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        LUA,
        base + path,
    ]
    mark = meter.start() if meter else None
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60)
    line = next((line for line in done.stdout.splitlines() if line.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(line.split(" ", 1)[1])
    result["rate"] = result["ok"] / (result["duration_us"] / 1e6)
    result["cpu"] = meter.per_op(mark, result["requests"]) if meter else Cpu()
    return result


def _median_run(runs: list[dict]) -> dict:
    """Several wrk runs of one cell as one: median rate, percentiles and CPU, every rate, summed errors."""
    merged = {key: statistics.median(run[key] for run in runs) for key in ("rate", "p50_us", "p99_us")}
    merged["rates"] = [run["rate"] for run in runs]
    merged["cpu"] = median_cpu([run["cpu"] for run in runs])
    for key in ("non2xx", "socket_errors"):
        merged[key] = sum(run[key] for run in runs)
    merged["last_non2xx"] = next((run["last_non2xx"] for run in runs if run["last_non2xx"]), 0)
    return merged


def http_rows(
    backend: str,
    base: str,
    users_file: str,
    duration: float,
    rounds: int,
    log,
    meter: CpuMeter | None = None,
    floor=None,
) -> list[Row]:
    """Balance and deduct rows at 8 and 32 clients, alternating the two endpoints round by round.

    `floor(clients, seconds)`, when given (PostgreSQL: pgbench), runs in each
    round at FLOOR_CLIENTS beside them and gets its own row.
    """
    rows = []
    for endpoint in ENDPOINTS.values():  # warm every worker on both paths
        run_wrk(base, users_file, *endpoint, 8, 2)
    for clients in CLIENTS:
        runs = {name: [] for name in ENDPOINTS}
        floors = []
        for _ in range(rounds):
            for name, endpoint in ENDPOINTS.items():
                runs[name].append(run_wrk(base, users_file, *endpoint, clients, duration, meter))
            if floor and clients == FLOOR_CLIENTS:
                floors.append(floor(clients, duration))
        balance, deduct = _median_run(runs["balance"]), _median_run(runs["deduct"])
        rows.append(_row(backend, "HTTP GET balance", clients, balance, None))
        rows.append(_row(backend, "HTTP POST deduct", clients, deduct, balance["rate"]))
        if floors:
            rows.append(_floor_row(backend, clients, floors, deduct["rate"]))
        for name, result in (("balance", balance), ("deduct", deduct)):
            log(
                f"  {backend:10} {name:8} {clients:2} clients: {result['rate']:6.0f} req/s, "
                f"p99 {result['p99_us'] / 1e3:6.1f} ms, CPU {result['cpu'].text()} ms/req, "
                f"non-2xx {result['non2xx']} (last {result['last_non2xx']})"
            )
    return rows


def _floor_row(backend: str, clients: int, floors: list[dict], deduct_rate: float) -> Row:
    """The pgbench floor's row; its ratio is HTTP deduct/s over floor/s (no target: it says how lean a deduct is)."""
    rates = [run["rate"] for run in floors]
    rate = statistics.median(rates)
    row = Row(
        backend,
        f"pgbench floor, {FLOOR_USERS // 1000}k users",
        f"{clients} cli",
        rate,
        errors=sum(run["errors"] for run in floors),
        target="(ratio: deduct/s ÷ this)",
        rates=rates,
        cpu=median_cpu([run["cpu"] for run in floors]),
    )
    row.fixed_ratio = deduct_rate / rate if rate else None
    return row


def _row(backend: str, scenario: str, clients: int, result: dict, reference: float | None) -> Row:
    """A table row for one wrk run; deduct rows are judged against the balance rate."""
    row = Row(
        backend,
        scenario,
        f"{clients} cli",
        result["rate"],
        reference,
        result["p50_us"] / 1e3,
        result["p99_us"] / 1e3,
        result["non2xx"] + result["socket_errors"],
        rates=result["rates"],
        cpu=result["cpu"],
    )
    if reference is None:
        row.target = "(reference)"
        return row
    checks = [row.ratio is not None and row.ratio >= TARGET_RATIO, row.errors == 0]
    row.target = f"ratio>={TARGET_RATIO}"
    if backend == "postgresql" and clients == 8:
        row.target += f", p99<{TARGET_P99_MS:g}ms"
        checks.append(row.p99_ms < TARGET_P99_MS)
    row.result = "PASS" if all(checks) else "FAIL"
    return row


def write_users_file(base: str, emails: list[str], path: str) -> None:
    """Log every user in over HTTP and write their cookie and CSRF token for wrk."""
    with open(path, "w") as out:
        for email in emails:
            cookie, token = login(base, email)
            out.write(f"{cookie}\t{token}\n")
