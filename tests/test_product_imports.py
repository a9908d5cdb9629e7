"""The product's processes never load the Stripe stand-in (the top-level `stripe_standin` package).

A real `gunicorn -w 1` serves the app through tests/support/standin_probe.py, which
answers one test-only path with the worker's own sys.modules; a real
`flask worker --burst` runs a probe job in its work horse. Both run real
product work first (pages, sign-up, a deduct, a feature run; the periodic jobs).
"""

import os
import subprocess
import sys

import httpx
import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from support.processes import ROOT, TESTS, free_port, parent_of, wait_until_serving
from support.settings import process_env, shell_env
from support.standin_probe import PROBE_PATH
from support.waiting import run_status
from support.web import CSRF_META

pytestmark = pytest.mark.slow
STARTUP_SECONDS = 60


def product_env(app, **extra) -> dict:
    """The environment of a product process on the test's database, with tests/ importable."""
    return process_env(
        TOKENAPP_ENV="development",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        PYTHONPATH=str(TESTS),
        WEB_CONCURRENCY="1",
        **extra,
    )


def use_the_product(client: httpx.Client) -> None:
    """Pages, sign-up, a deduct and a feature run, so that request-time imports happen."""
    for path in ("/healthz", "/", "/auth/login", "/api/openapi.json"):
        assert client.get(path).status_code == 200, path
    token = CSRF_META.search(client.get("/auth/register").text).group(1)
    signed_up = client.post(
        "/auth/register", data={"email": "ada@example.com", "password": "correct-horse-battery", "csrf_token": token}
    )
    assert signed_up.status_code == 302
    page = client.get("/tokens/buy")
    assert page.status_code == 200
    headers = {"X-CSRFToken": CSRF_META.search(page.text).group(1)}
    charge = client.post("/api/tokens/deduct", json={"feature_key": "cover_letter"}, headers=headers)
    assert charge.status_code == 201, charge.text
    started = client.post(
        "/api/features/cover_letter/runs",
        headers=headers,
        json={
            "charge_id": charge.json()["charge_id"],
            "inputs": {
                "job_description": "Acme Robotics is hiring a Python engineer.",
                "resume_text": "Ada Lovelace, Python engineer",
                "tone": "professional",
            },
        },
    )
    assert started.status_code == 202, started.text
    run = run_status(client, "", started.json()["run_id"])
    assert run["status"] == "succeeded", run
    assert client.get("/api/tokens/balance").json()["balance"] == 0


def test_a_gunicorn_worker_holds_no_standin_module(app, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "-w",
                "1",
                "-b",
                f"127.0.0.1:{port}",
                "support.standin_probe:probed_app()",
            ],
            cwd=ROOT,
            env=product_env(app),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_serving(f"{base}/readyz", server, log, STARTUP_SECONDS)
        with httpx.Client(base_url=base, timeout=10) as client:
            use_the_product(client)
            report = client.get(PROBE_PATH).json()
        assert parent_of(report["pid"]) == server.pid, "the probe must answer from the worker, not the arbiter"
        assert report["modules"] == [], log.read_text()[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_flask_worker_s_job_holds_no_standin_module(app, redis_url, tmp_path):
    connection = Redis.from_url(redis_url)
    job = Queue("tokenapp", connection=connection).enqueue("support.standin_probe.standin_modules_after_jobs")
    worker = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "tokenapp", "worker", "--burst", "--no-scheduler"],
        cwd=ROOT,
        env=product_env(app, REDIS_URL=redis_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    finished = Job.fetch(job.id, connection=connection)
    assert finished.get_status() == "finished", worker.stdout + worker.stderr
    report = finished.return_value()
    assert report["pid"] != os.getpid() and report["modules"] == []
    connection.close()


def test_the_probe_would_see_the_standin_were_it_loaded():
    """The check above can fail: a process that imports the stand-in is reported."""
    probe = subprocess.run(
        [sys.executable, "-c", "import stripe_standin, support.standin_probe as probe; print(probe.standin_modules())"],
        cwd=ROOT,
        env=shell_env(PYTHONPATH=str(TESTS)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "'stripe_standin'" in probe.stdout and "'stripe_standin.server'" in probe.stdout, probe.stderr


def test_the_standin_imports_nothing_from_the_product():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, stripe_standin, stripe_standin.server; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'tokenapp'))",
        ],
        cwd=ROOT,
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loaded.returncode == 0 and loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr
