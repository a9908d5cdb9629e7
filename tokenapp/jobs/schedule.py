"""Periodic jobs, and the scheduler that queues each one once per period across all machines.

Every scheduler (one in each `flask worker`, or a timer thread in the app
process without Redis) wakes each second. For each job whose period has
begun, it inserts the row (job name, period start): the primary key lets one
scheduler in the whole deployment win it, and only the winner queues the job.
Adding a periodic job is one line in PERIODIC.
"""

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import delete

from ..database import write_transaction
from ..extensions import db
from ..models import PeriodicJobClaim
from ..models._types import utcnow
from ..services.sql import insert_ignoring_conflicts
from . import tasks
from .queue import QueueUnavailable, enqueue

TICK_SECONDS = 1.0
KEEP_PERIODS = 100
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """A job function queued once every `every` seconds."""

    name: str
    func: Callable
    every: int


PERIODIC = [
    Periodic("sweep-stale-charges", tasks.sweep_stale_charges, every=60),
    Periodic("recover-runs", tasks.recover_runs, every=60),
    Periodic("expire-lots", tasks.expire_lots, every=60),
]


def period_start(now: datetime, every: int) -> datetime:
    """The start of the period of `every` seconds that `now` falls in (periods align to the epoch)."""
    seconds = int(now.timestamp()) // every * every
    return datetime.fromtimestamp(seconds, UTC)


def claim_period(name: str, start: datetime, claimed_by: str) -> bool:
    """True for the one caller that records this job's period first, across every machine."""
    with write_transaction() as session:
        won = (
            session.execute(
                insert_ignoring_conflicts(
                    PeriodicJobClaim,
                    {
                        "name": name,
                        "period_start": start,
                        "claimed_by": claimed_by[:120],
                        "claimed_at": utcnow(),
                    },
                ).returning(PeriodicJobClaim.name)
            ).first()
            is not None
        )
    return won


def forget_old_claims(name: str, every: int) -> None:
    """Delete this job's claims older than KEEP_PERIODS periods."""
    cutoff = utcnow() - timedelta(seconds=every * KEEP_PERIODS)
    with write_transaction() as session:
        session.execute(
            delete(PeriodicJobClaim).where(PeriodicJobClaim.name == name, PeriodicJobClaim.period_start < cutoff)
        )


class Scheduler:
    """Queues each periodic job once per period; any number may run at once."""

    def __init__(self, app: Flask, jobs: list[Periodic] | None = None, name: str | None = None):
        self.app = app
        self.jobs = PERIODIC if jobs is None else jobs
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._seen: dict[str, datetime] = {}

    def every(self, job: Periodic) -> int:
        """The job's period: JOB_PERIOD_SECONDS when set (tests, demos), else its own."""
        return self.app.config.get("JOB_PERIOD_SECONDS") or job.every

    def tick(self, now: datetime | None = None) -> list[str]:
        """Claim and queue every job whose period has begun; the names this scheduler queued."""
        now = now or utcnow()
        queued = []
        with self.app.app_context():
            for job in self.jobs:
                every = self.every(job)
                start = period_start(now, every)
                if self._seen.get(job.name) == start:
                    continue
                won = claim_period(job.name, start, self.name)
                self._seen[job.name] = start
                if not won:
                    continue
                try:
                    enqueue(job.func)
                except QueueUnavailable as error:
                    log.error("scheduler %s: could not queue %s for %s: %s", self.name, job.name, start, error)
                    continue
                queued.append(job.name)
                forget_old_claims(job.name, every)
            db.session.remove()
        return queued

    def run(self, stop: threading.Event, parent_pid: int | None = None) -> None:
        """Tick each second until `stop` is set, or until the process `parent_pid` is gone.

        A failed tick is logged and the next one tries again.
        """
        while not stop.wait(TICK_SECONDS):
            if parent_pid is not None and os.getppid() != parent_pid:
                return
            try:
                self.tick()
            except Exception:  # the scheduler must outlive a database or Redis outage
                log.exception("scheduler %s: tick failed", self.name)


SCHEDULER_THREAD = "scheduler"


def start_thread(app: Flask) -> tuple[threading.Event, threading.Thread]:
    """Run a scheduler on a daemon thread named SCHEDULER_THREAD; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=Scheduler(app).run, args=(stop,), name=SCHEDULER_THREAD, daemon=True)
    thread.start()
    return stop, thread


_IN_PROCESS: dict[tuple[int, int], tuple[threading.Event, threading.Thread]] = {}
_IN_PROCESS_LOCK = threading.Lock()


def ensure_in_process(app: Flask) -> None:
    """Without Redis, start this process's scheduler thread once (after any fork: keyed by pid)."""
    if app.config["REDIS_URL"] or not app.config.get("SCHEDULER_IN_PROCESS"):
        return
    key = (id(app), os.getpid())
    if key in _IN_PROCESS:
        return
    with _IN_PROCESS_LOCK:
        if key not in _IN_PROCESS:
            _IN_PROCESS[key] = start_thread(app)


def stop_in_process(app: Flask) -> None:
    """Stop this process's scheduler thread for `app`, if one runs, and wait for it."""
    with _IN_PROCESS_LOCK:
        running = _IN_PROCESS.pop((id(app), os.getpid()), None)
    if running is not None:
        stop, thread = running
        stop.set()
        thread.join()
