"""Several machines, as separate processes: two gunicorn app servers and two `flask worker`s.

On PostgreSQL and Redis. A worker is killed (kill -9, with its work horse) in
the middle of a run: the other worker finishes the run and the charge is spent
once. A stale charge is refunded by the scheduled sweep with no user visit.
"""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from support.openai import chat_reply
from support.processes import ROOT, answers, free_port, parent_of
from support.settings import TEST_DATABASE_URL, process_env
from support.waiting import wait_until
from support.web import CSRF_META, PASSWORD, user_id
from tokenapp.extensions import db
from tokenapp.models import FeatureRun, TokenCharge, TokenTransaction
from tokenapp.models._types import utcnow
from tokenapp.services import ledger

pytestmark = pytest.mark.slow


class Cluster:
    """Processes sharing one environment; all stopped at the end."""

    def __init__(self, env: dict, tmp_path: Path):
        self.env = env
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []
        self.clients: list[httpx.Client] = []

    def client(self, base: str, **options) -> httpx.Client:
        self.clients.append(httpx.Client(base_url=base, timeout=10, **options))
        return self.clients[-1]

    def start(self, name: str, *args: str) -> subprocess.Popen:
        with open(self.tmp_path / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", *args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        process.name = name
        self.processes.append(process)
        return process

    def app_server(self, name: str) -> str:
        port = free_port()
        self.start(name, "gunicorn", "-c", "gunicorn.conf.py", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app")
        return f"http://127.0.0.1:{port}"

    def worker(self, name: str) -> subprocess.Popen:
        return self.start(name, "flask", "--app", "tokenapp", "worker")

    def waiting_for(self, what: str):
        """What a wait is for, with every process's log, for its failure message."""
        return lambda: f"{what}\n{self.logs()}"

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + (self.tmp_path / f"{p.name}.log").read_text(errors="replace")[-3000:]
            for p in self.processes
        )

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def signed_up(client: httpx.Client) -> str:
    """Sign `client` up; its CSRF token for the JSON API."""
    token = CSRF_META.search(client.get("/auth/register").text).group(1)
    response = client.post(
        "/auth/register", data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return CSRF_META.search(client.get("/").text).group(1)


@pytest.mark.parametrize("backend", ["postgresql"] if TEST_DATABASE_URL else [])
def test_a_killed_worker_s_run_is_finished_by_another_and_the_sweep_needs_no_visit(
    app, backend, database_urls, redis_url, fake_openai, tmp_path
):
    fake_openai.script(("sleep", 30), chat_reply("Dear Acme Robotics team, from the worker that survived"))
    env = process_env(
        TOKENAPP_ENV="development",
        SECRET_KEY="cluster-test-secret",
        DATABASE_URL=database_urls["postgresql"],
        REDIS_URL=redis_url,
        AI_PROVIDER="openai",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=fake_openai.url,
        OPENAI_TIMEOUT="40",
        RUN_LEASE_SECONDS="2",
        JOB_PERIOD_SECONDS="1",
        WEB_CONCURRENCY="1",
    )
    cluster = Cluster(env, tmp_path)
    try:
        first, second = cluster.app_server("app-1"), cluster.app_server("app-2")
        workers = [cluster.worker("worker-1"), cluster.worker("worker-2")]
        wait_until(
            lambda: answers(f"{first}/readyz") and answers(f"{second}/readyz"),
            30,
            cluster.waiting_for("both app servers ready"),
            interval=0.1,
        )

        client = cluster.client(first)
        token = signed_up(client)
        with app.app_context():
            ledger.adjust(user_id(app, "ada@example.com"), 100, reason="test")
        headers = {"X-CSRFToken": token}
        charge_id = client.post("/api/tokens/deduct", json={"feature_key": "cover_letter"}, headers=headers).json()[
            "charge_id"
        ]
        started = client.post(
            "/api/features/cover_letter/runs",
            headers=headers,
            json={
                "charge_id": charge_id,
                "inputs": {
                    "job_description": "Acme Robotics is hiring a Python engineer.",
                    "resume_text": "Ada Lovelace, Python engineer",
                    "tone": "professional",
                },
            },
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]

        def claimed_by():
            with app.app_context():
                run = db.session.execute(
                    select(FeatureRun.status, FeatureRun.claimed_by).where(FeatureRun.id == run_id)
                ).one()
                db.session.remove()
            return run.status == "running" and fake_openai.requests and run.claimed_by

        claim = wait_until(claimed_by, 20, cluster.waiting_for("a worker to start the run"), interval=0.1)
        horse = int(claim.rsplit(":", 1)[1])
        killed = parent_of(horse)
        assert killed in [worker.pid for worker in workers]
        os.kill(horse, signal.SIGKILL)
        os.kill(killed, signal.SIGKILL)

        other = cluster.client(second, cookies=client.cookies)
        finished = wait_until(
            lambda: (
                (body := other.get(f"/api/features/runs/{run_id}").json())["status"] not in ("queued", "running")
                and body
            ),
            30,
            cluster.waiting_for("the other worker to finish"),
            interval=0.1,
        )
        assert finished["status"] == "succeeded", finished
        assert "from the worker that survived" in str(finished["output"])
        with app.app_context():
            run = db.session.get(FeatureRun, run_id)
            assert run.attempts == 2 and int(run.claimed_by.rsplit(":", 1)[1]) != horse
            rows = db.session.execute(
                select(TokenTransaction.type, TokenTransaction.amount).where(TokenTransaction.charge_id == charge_id)
            ).all()
            assert rows == [("spend", -10)]
            assert db.session.get(TokenCharge, charge_id).status == "consumed"

            stale = other.post("/api/tokens/deduct", json={"feature_key": "skills_gap"}, headers=headers).json()[
                "charge_id"
            ]
            db.session.execute(
                update(TokenCharge).where(TokenCharge.id == stale).values(expires_at=utcnow() - timedelta(seconds=1))
            )
            db.session.commit()
            db.session.remove()

        def refunded():
            with app.app_context():
                status = db.session.execute(select(TokenCharge.status).where(TokenCharge.id == stale)).scalar()
                db.session.remove()
            return status == "refunded"

        wait_until(refunded, 15, cluster.waiting_for("the scheduled sweep to refund the stale charge"), interval=0.1)
        audit = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "tokenapp", "tokens", "audit"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert audit.returncode == 0 and "audit: 0 problem(s)" in audit.stdout, audit.stdout + audit.stderr
        assert other.get("/api/tokens/balance").json()["balance"] == 110 - 10
    finally:
        cluster.stop()
