"""The product's processes never load the Stripe stand-in (the top-level `stripe_standin` package).

A real `gunicorn -w 1` serves the app through tests/standin_probe.py, which
answers one test-only path with the worker's own sys.modules; a real
`flask worker --burst` runs a probe job in its work horse. Both run real
product work first (pages, sign-up, a deduct, a feature run; the periodic jobs).
"""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from jobs_support import redis_url  # noqa: F401  (fixture)
from standin_probe import PROBE_PATH

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def product_env(app, **extra) -> dict:
    """The environment of a product process on the test's database, with this folder importable."""
    env = {name: value for name, value in os.environ.items() if name not in ("REDIS_URL", "PYTHONPATH")}
    env.update(TOKENAPP_ENV="development", DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               PYTHONPATH=str(TESTS), PYTHONUNBUFFERED="1", WEB_CONCURRENCY="1", **extra)
    return env


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def wait_until_ready(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not serve within {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")


def use_the_product(client: httpx.Client) -> None:
    """Pages, sign-up, a deduct and a feature run, so that request-time imports happen."""
    for path in ("/healthz", "/", "/auth/login", "/api/openapi.json"):
        assert client.get(path).status_code == 200, path
    token = CSRF_META.search(client.get("/auth/register").text).group(1)
    signed_up = client.post("/auth/register", data={"email": "ada@example.com", "password": "correct-horse-battery",
                                                    "csrf_token": token})
    assert signed_up.status_code == 302
    page = client.get("/tokens/buy")
    assert page.status_code == 200
    headers = {"X-CSRFToken": CSRF_META.search(page.text).group(1)}
    charge = client.post("/api/tokens/deduct", json={"feature_key": "cover_letter"}, headers=headers)
    assert charge.status_code == 201, charge.text
    started = client.post("/api/features/cover_letter/runs", headers=headers, json={
        "charge_id": charge.json()["charge_id"],
        "inputs": {"job_description": "Acme Robotics is hiring a Python engineer.",
                   "resume_text": "Ada Lovelace, Python engineer", "tone": "professional"}})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 30
    while (run := client.get(f"/api/features/runs/{started.json()['run_id']}").json())["status"] in ("queued",
                                                                                                   "running"):
        assert time.monotonic() < deadline, run
        time.sleep(0.1)
    assert run["status"] == "succeeded", run
    assert client.get("/api/tokens/balance").json()["balance"] == 0


def test_a_gunicorn_worker_holds_no_standin_module(app, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as output:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", "1",
                                   "-b", f"127.0.0.1:{port}", "standin_probe:probed_app()"],
                                  cwd=ROOT, env=product_env(app), stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(base, server, log)
        with httpx.Client(base_url=base, timeout=10) as client:
            use_the_product(client)
            report = client.get(PROBE_PATH).json()
        assert parent_of(report["pid"]) == server.pid, "the probe must answer from the worker, not the arbiter"
        assert report["modules"] == [], log.read_text()[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_flask_worker_s_job_holds_no_standin_module(app, redis_url, tmp_path):  # noqa: F811
    connection = Redis.from_url(redis_url)
    job = Queue("tokenapp", connection=connection).enqueue("standin_probe.standin_modules_after_jobs")
    worker = subprocess.run([sys.executable, "-m", "flask", "--app", "tokenapp", "worker", "--burst",
                             "--no-scheduler"], cwd=ROOT, env=product_env(app, REDIS_URL=redis_url),
                            capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    finished = Job.fetch(job.id, connection=connection)
    assert finished.get_status() == "finished", worker.stdout + worker.stderr
    report = finished.return_value()
    assert report["pid"] != os.getpid() and report["modules"] == []
    connection.close()


def test_the_probe_would_see_the_standin_were_it_loaded():
    """The check above can fail: a process that imports the stand-in is reported."""
    probe = subprocess.run([sys.executable, "-c", "import stripe_standin, standin_probe; "
                            "print(standin_probe.standin_modules())"],
                           cwd=ROOT, env={**os.environ, "PYTHONPATH": str(TESTS)}, capture_output=True, text=True,
                           timeout=60)
    assert "'stripe_standin'" in probe.stdout and "'stripe_standin.server'" in probe.stdout, probe.stderr


def test_the_standin_imports_nothing_from_the_product():
    loaded = subprocess.run([sys.executable, "-c", "import sys, stripe_standin, stripe_standin.server; "
                             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'tokenapp'))"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0 and loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr
