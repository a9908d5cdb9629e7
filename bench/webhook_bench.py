"""Webhook throughput: verified, stored and fulfilled events per second, side by side
with a trivial endpoint (/healthz) of the same gunicorn server, and the cost of a
duplicate delivery. A new event costs one read of its Checkout Session from the
offline Stripe stand-in (payments trust Stripe's object, not the event body).
Run: .venv/bin/python bench/webhook_bench.py
"""

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import proc_cpu  # noqa: E402 - after the set-up above
from common import CpuMeter  # noqa: E402 - after the set-up above
from stripe_standin import create_standin_app, serve_in_thread  # noqa: E402 - after the set-up above
from stripe_standin.webhooks import signature_header  # noqa: E402 - after the set-up above

EVENTS = 600
CLIENTS = 8
WORKERS = 4
SECRET = "whsec_bench_" + secrets.token_hex(8)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


STANDIN = serve_in_thread(create_standin_app(None, SECRET))


def environment(database_url: str) -> dict:
    """Production settings for the server under test; Stripe is the stand-in served by this script."""
    return {
        **os.environ,
        "TOKENAPP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(16),
        "DATABASE_URL": database_url,
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "STRIPE_API_BASE": STANDIN.url,
    }


def prepare(database_url: str) -> list[int]:
    """Migrate, seed, and make one pending purchase per event; return the purchase ids."""
    env = environment(database_url)
    flask = [sys.executable, "-m", "flask", "--app", "tokenapp"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*flask, "seed"], env=env, cwd=ROOT, check=True, capture_output=True)
    script = f"""
from tokenapp import create_app
from tokenapp.extensions import db
from tokenapp.models import TokenPurchase
from tokenapp.services import accounts
app = create_app({{"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}})
with app.app_context():
    ids = []
    for i in range({EVENTS}):
        user = accounts.register(f"hook{{i}}@example.com", "password123")
        purchase = TokenPurchase(user_id=user.id, tokens=600, bonus_tokens=0, amount_cents=2000,
                                 stripe_checkout_session_id=f"cs_bench_{{i}}")
        db.session.add(purchase); db.session.commit(); ids.append(purchase.id)
    print(",".join(map(str, ids)))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "TOKENAPP_ENV": "testing"},
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [int(x) for x in out.strip().split(",")]


def event_for(index: int, purchase_id: int) -> bytes:
    """A checkout.session.completed event, its paid session stored in the stand-in for the app to read."""
    session = {
        "id": f"cs_bench_{index}",
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": f"pi_bench_{index}",
        "amount_total": 2000,
        "currency": "usd",
        "metadata": {"purchase_id": str(purchase_id)},
    }
    with STANDIN.state.lock:
        STANDIN.state.objects.pop(session["id"], None)
        STANDIN.state.add(dict(session))
    event = {
        "id": f"evt_bench_{index}",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": session},
    }
    return json.dumps(event).encode()


def hammer(url: str, jobs: list) -> tuple[float, list[float], int]:
    """Send every job with CLIENTS threads; return (rate/s, latencies ms, non-2xx)."""
    local, opened = threading.local(), []

    def send(job):
        method, body = job
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=30)
            opened.append(local.client)
        client = local.client
        started = time.perf_counter()
        if method == "GET":
            status = client.get(url).status_code
        else:
            header = signature_header(body, SECRET, int(time.time()))
            status = client.post(
                url, content=body, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
            ).status_code
        return (time.perf_counter() - started) * 1000, status

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(send, jobs))
    elapsed = time.perf_counter() - started
    for client in opened:
        client.close()
    return len(jobs) / elapsed, [ms for ms, _ in results], sum(1 for _, s in results if not 200 <= s < 300)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def measure(name: str, database_url: str) -> list[tuple]:
    """The three rows for one backend."""
    ids = prepare(database_url)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(WORKERS),
            "-k",
            "gthread",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        env=environment(database_url),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        events = [("POST", event_for(i, pid)) for i, pid in enumerate(ids)]
        database = database_url.rsplit("/", 1)[1] if database_url.startswith("postgresql") else None
        meter = CpuMeter(
            proc_cpu.gunicorn_workers(server.pid), proc_cpu.postgres_backends(database) if database else None
        )

        def timed(url: str, jobs: list) -> tuple:
            """hammer() plus the server's (and PostgreSQL's) CPU per request."""
            mark = meter.start()
            result = hammer(url, jobs)
            return (*result, meter.per_op(mark, len(jobs)))

        trivial = timed(base + "/healthz", [("GET", b"")] * EVENTS)
        fresh = timed(base + "/api/stripe/webhooks", events)
        dupes = timed(base + "/api/stripe/webhooks", events)
    finally:
        server.terminate()
        server.wait(10)
    return [
        (name, "GET /healthz (trivial)", *trivial, None),
        (name, "webhook, new event", *fresh, trivial[0]),
        (name, "webhook, duplicate", *dupes, trivial[0]),
    ]


def print_table(rows: list[tuple]) -> None:
    print(
        f"{'backend':<11}{'scenario':<24}{'events/s':>9}{'vs trivial':>11}{'CPU ms/req':>12}{'p50 ms':>8}"
        f"{'p99 ms':>8}{'non-2xx':>8}"
    )
    for backend, scenario, rate, latencies, errors, cpu, reference in rows:
        ratio = f"{rate / reference:.2f}" if reference else "-"
        print(
            f"{backend:<11}{scenario:<24}{rate:>9.0f}{ratio:>11}{cpu.text():>12}{pct(latencies, 50):>8.1f}"
            f"{pct(latencies, 99):>8.1f}{errors:>8}"
        )
    print(
        f"\n{EVENTS} events per row, {CLIENTS} concurrent clients, gunicorn -w {WORKERS} -k gthread --threads 4; "
        "a new event is verified, stored and credits one purchase.\nCPU ms/req: gunicorn's master and workers "
        "/ PostgreSQL's backends for this database (/proc), per request. One round per row (each new event "
        "can be new only once): run it twice to see the noise."
    )


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure("sqlite", f"sqlite:///{tmp}/bench.db")
    database = "tokenapp_webhook_bench"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database}")
    try:
        rows += measure("postgresql", f"postgresql://postgres@127.0.0.1:5432/{database}")
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    print_table(rows)


if __name__ == "__main__":
    main()
