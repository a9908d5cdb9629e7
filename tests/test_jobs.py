"""Background jobs in one process: run claims and leases, recovery, the sweep, the scheduler, /readyz."""

import logging
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text, update

from support.apps import make_app
from support.settings import TEST_DATABASE_URL
from support.waiting import wait_until
from support.web import run_threads, user_id
from tokenapp.extensions import db
from tokenapp.features import runner, runs
from tokenapp.jobs import queue, schedule, tasks
from tokenapp.jobs.context import run_in_app
from tokenapp.models import FeatureRun, PeriodicJobClaim, TokenCharge, TokenTransaction
from tokenapp.models._types import utcnow
from tokenapp.services import charges, ledger

INPUTS = {"target_role": "Data Engineer"}


@pytest.fixture
def queued(app, user, monkeypatch):
    """Start runs whose jobs are recorded instead of run, so a test plays the workers."""
    jobs = []
    monkeypatch.setattr(runs, "enqueue", lambda func, *args: jobs.append((func, args)) or f"job-{len(jobs)}")

    def start(feature_key="skills_gap"):
        with app.app_context():
            uid = user_id(app, user)
            charge = charges.charge(uid, feature_key)
            run = runs.start(uid, feature_key, charge.charge_id, INPUTS)
            return run.id, charge.charge_id

    start.jobs = jobs
    return start


def run_row(app, run_id) -> FeatureRun:
    with app.app_context():
        run = db.session.get(FeatureRun, run_id)
        db.session.expunge(run)
        return run


def ledger_rows(app, charge_id):
    with app.app_context():
        return db.session.execute(
            select(TokenTransaction.type, TokenTransaction.amount)
            .where(TokenTransaction.charge_id == charge_id)
            .order_by(TokenTransaction.id)
        ).all()


def expire_lease(app, run_id):
    with app.app_context():
        db.session.execute(
            update(FeatureRun).where(FeatureRun.id == run_id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def test_a_run_is_queued_as_one_job_and_the_job_consumes_its_charge_once(app, queued):
    run_id, charge_id = queued()
    [(func, args)] = queued.jobs
    assert (func, args) == (runs.execute, (run_id,))
    run_in_app(app, "job-1", func, args)
    run_in_app(app, "job-1-again", func, args)
    run = run_row(app, run_id)
    assert (run.status, run.attempts, run.claim is not None, run.lease_expires_at) == ("succeeded", 1, True, None)
    assert ledger_rows(app, charge_id) == [("spend", -5)]


def test_a_failing_job_refunds_and_logs_the_run_id(app, queued, monkeypatch, caplog):
    def broken(feature_key, inputs):
        raise RuntimeError("the model fell over")

    monkeypatch.setattr(runner, "generate", broken)
    run_id, charge_id = queued()
    with caplog.at_level(logging.INFO, logger=app.logger.name):
        run_in_app(app, "job-7", runs.execute, (run_id,))
    run = run_row(app, run_id)
    assert run.status == "failed" and "refunded" in run.error
    assert ledger_rows(app, charge_id) == [("spend", -5), ("refund", 5)]
    assert any(run_id in message and "job-7" in message and "RuntimeError" in message for message in caplog.messages)


def test_a_run_whose_worker_died_is_run_again_and_its_charge_is_consumed_once(app, queued, caplog):
    run_id, charge_id = queued()
    with app.app_context():
        dead_claim = runs._claim(run_id)  # a worker claimed it, then was killed before finishing
    assert dead_claim and run_row(app, run_id).status == "running"
    with app.app_context():
        assert tasks.recover_runs() == 0  # its lease still runs: nobody steals a live run
    expire_lease(app, run_id)
    with app.app_context():
        assert tasks.recover_runs() == 1
        assert tasks.recover_runs() == 0
    assert run_row(app, run_id).status == "queued"
    func, args = queued.jobs[-1]
    run_in_app(app, "job-2", func, args)
    with app.app_context():
        runs._succeed(run_id, dead_claim, {"title": "late"}, "local")  # the dead worker's result, if it came back
        runs._fail(run_id, dead_claim, "late failure")
    run = run_row(app, run_id)
    assert (run.status, run.attempts) == ("succeeded", 2)
    assert run.output["title"] != "late"
    assert ledger_rows(app, charge_id) == [("spend", -5)]


def test_a_run_out_of_attempts_fails_and_refunds(app, queued):
    run_id, charge_id = queued()
    for _attempt in range(runs.MAX_ATTEMPTS):
        with app.app_context():
            assert runs._claim(run_id)
        expire_lease(app, run_id)
        with app.app_context():
            tasks.recover_runs()
    run = run_row(app, run_id)
    assert (run.status, run.attempts) == ("failed", runs.MAX_ATTEMPTS)
    assert "interrupted" in run.error and "refunded" in run.error
    assert ledger_rows(app, charge_id) == [("spend", -5), ("refund", 5)]


def test_a_live_worker_keeps_renewing_its_lease(app, queued, monkeypatch):
    app.config["RUN_LEASE_SECONDS"] = 1
    seen = []

    def slow(feature_key, inputs):
        time.sleep(1.6)
        with app.app_context():
            seen.append(tasks.recover_runs())
        return {"title": "done", "sections": []}, "local"

    monkeypatch.setattr(runner, "generate", slow)
    run_id, charge_id = queued()
    run_in_app(app, "job-3", runs.execute, (run_id,))
    assert seen == [0]
    assert run_row(app, run_id).status == "succeeded"
    assert ledger_rows(app, charge_id) == [("spend", -5)]


def test_the_sweep_refunds_stale_charges_in_batches_and_fails_their_runs(app, queued, monkeypatch, audit):
    monkeypatch.setattr(tasks, "SWEEP_BATCH", 3)
    run_id, run_charge = queued()
    with app.app_context():
        uid = user_id(app, "ada@example.com")
        ledger.adjust(uid, 100, reason="test")
        stale = [charges.charge(uid, "skills_gap").charge_id for _ in range(6)]
        fresh = charges.charge(uid, "skills_gap").charge_id
        db.session.execute(
            update(TokenCharge)
            .where(TokenCharge.id.in_([*stale, run_charge]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert tasks.sweep_stale_charges() == 7
        assert tasks.sweep_stale_charges() == 0
        statuses = dict(db.session.execute(select(TokenCharge.id, TokenCharge.status)).all())
    assert statuses == {**dict.fromkeys([*stale, run_charge], "refunded"), fresh: "held"}
    run = run_row(app, run_id)
    assert run.status == "failed" and "refunded" in run.error
    run_in_app(app, "job-late", runs.execute, (run_id,))
    assert run_row(app, run_id).status == "failed"
    audit()


def test_two_schedulers_queue_each_periodic_job_once_per_period(app, monkeypatch):
    queued = []
    monkeypatch.setattr(schedule, "enqueue", lambda func: queued.append(func.__name__))
    first, second = schedule.Scheduler(app), schedule.Scheduler(app)
    moment = schedule.period_start(utcnow(), 60) + timedelta(seconds=10)
    wins = []
    run_threads(*[lambda s=s: wins.append(s.tick(moment)) for s in (first, second)])
    assert sorted(queued) == ["expire_lots", "recover_runs", "sweep_stale_charges"]
    assert sorted(name for names in wins for name in names) == ["expire-lots", "recover-runs", "sweep-stale-charges"]
    assert first.tick(moment + timedelta(seconds=1)) == [] and second.tick(moment + timedelta(seconds=49)) == []
    queued.clear()
    later = moment + timedelta(seconds=60)
    assert sorted(second.tick(later) + first.tick(later)) == ["expire-lots", "recover-runs", "sweep-stale-charges"]
    with app.app_context():
        claims = db.session.execute(select(PeriodicJobClaim.name, PeriodicJobClaim.period_start)).all()
    assert len(claims) == len(set(claims)) == 6


def test_two_running_schedulers_run_a_job_once_per_period(app):
    ran = []

    def note_period():
        ran.append(int(time.time()))

    jobs = [schedule.Periodic("note-period", note_period, every=1)]
    stops = [threading.Event(), threading.Event()]
    threads = [threading.Thread(target=schedule.Scheduler(app, jobs).run, args=(stop,)) for stop in stops]
    for thread in threads:
        thread.start()
    time.sleep(3.5)
    for stop, thread in zip(stops, threads, strict=True):
        stop.set()
        thread.join()
    time.sleep(0.3)  # the last queued job runs on the pool
    with app.app_context():
        periods = (
            db.session.execute(select(PeriodicJobClaim.period_start).where(PeriodicJobClaim.name == "note-period"))
            .scalars()
            .all()
        )
    assert 2 <= len(ran) == len(periods) <= 4


def test_without_redis_the_in_process_scheduler_sweeps_with_no_visit(seeded_database):
    app = make_app(seeded_database.url, SCHEDULER_IN_PROCESS=True, JOB_PERIOD_SECONDS=1)
    seeded_database.reset_with(app)
    with app.app_context():
        from tokenapp.services import accounts

        uid = accounts.register("ada@example.com", "correct-horse-battery").id
        charge_id = charges.charge(uid, "skills_gap").charge_id
        db.session.execute(
            update(TokenCharge).where(TokenCharge.id == charge_id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    schedule.ensure_in_process(app)
    try:
        deadline = time.monotonic() + 10
        status = "held"
        while status == "held" and time.monotonic() < deadline:
            time.sleep(0.2)
            with app.app_context():
                status = db.session.execute(select(TokenCharge.status).where(TokenCharge.id == charge_id)).scalar()
                db.session.remove()
    finally:
        schedule.stop_in_process(app)
        # The periodic jobs it queued (sweep, recovery, expiry) may still hold connections: let them end first.
        queue.finish_in_process(app)
    assert status == "refunded"
    with app.app_context():
        db.engine.dispose()


def test_readyz_reports_the_database_and_the_in_process_queue(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready" and body["failed"] == []
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "not configured"
    assert body["queue"]["depth"] == 0


def test_readyz_names_a_database_that_is_down(database_urls):
    down = make_app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    response = down.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failed"] == ["database"] and body["checks"]["database"].startswith("failed")


def test_readyz_names_redis_and_the_queue_when_redis_is_down(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failed"] == ["redis", "queue"]


def test_readyz_counts_the_jobs_waiting_in_redis(app, redis_url):
    app.config["REDIS_URL"] = redis_url
    with app.app_context():
        for _ in range(3):
            queue.enqueue(tasks.sweep_stale_charges)
    body = app.test_client().get("/readyz").get_json()
    assert body["status"] == "ready" and body["checks"]["redis"] == "ok" and body["queue"]["depth"] == 3


def test_a_run_goes_to_redis_when_redis_is_set(app, user, redis_url):
    app.config["REDIS_URL"] = redis_url
    with app.app_context():
        uid = user_id(app, user)
        run = runs.start(uid, "skills_gap", charges.charge(uid, "skills_gap").charge_id, INPUTS)
        [job] = queue.rq_queue(app).get_jobs()
    assert (job.func_name, job.args, job.timeout) == (
        "tokenapp.features.runs.execute",
        (run.id,),
        app.config["JOB_TIMEOUT_SECONDS"],
    )
    assert run_row(app, run.id).status == "queued"


def test_flask_worker_without_redis_says_so_and_fails(runner):
    result = runner.invoke(args=["worker"])
    assert result.exit_code != 0 and "REDIS_URL is not set" in result.output


@pytest.mark.parametrize("backend", ["postgresql"] if TEST_DATABASE_URL else [])
def test_a_database_restart_costs_no_request(app, api, database_urls):
    assert api.get("/api/tokens/balance").status_code == 200
    killer = create_engine(database_urls["postgresql"])
    with killer.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        ).scalar()
    killer.dispose()
    assert killed >= 1
    response = api.get("/api/tokens/balance")
    assert response.status_code == 200 and response.get_json()["balance"] == 10


def _slow_job(seconds: float, done: list) -> None:
    time.sleep(seconds)
    done.append(True)


def test_finishing_the_in_process_queue_waits_for_its_jobs_then_starts_afresh(app):
    done: list = []
    with app.app_context():
        queue.enqueue(_slow_job, 0.3, done)
    queue.finish_in_process(app)
    assert done == [True]  # the job under way ended first
    with app.app_context():
        queue.enqueue(_slow_job, 0, done)  # a new pool takes the next job
        assert wait_until(lambda: len(done) == 2, 5, "the job after the finish to run")
    queue.finish_in_process(app)
    queue.finish_in_process(app)  # nothing left: a no-op
