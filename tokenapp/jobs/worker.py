"""`flask worker`: one RQ worker taking jobs from Redis, with a scheduler process beside it.

RQ forks a work horse per job, so a job that hangs, even inside C code, is
killed at its timeout and cannot take the worker with it. The horse runs the
job in an app context of its own, on database connections of its own.

The scheduler runs in a child process forked before the worker starts, not on
a thread: forking a horse while another thread holds a lock (an import, a
connection pool) can leave the horse waiting on that lock for ever.
"""

import importlib
import logging
import os
import threading

from flask import Flask
from rq import Worker

from ..extensions import db
from . import schedule
from .context import job_context
from .queue import redis_connection, rq_queue

JOB_MONITORING_INTERVAL = 5
# Imported once in the worker, so each forked horse starts with them loaded.
PRELOAD = ("tokenapp.features.engine", "tokenapp.features.providers")


class AppWorker(Worker):
    """An RQ worker whose work horse runs each job inside the Flask app's context."""

    app: Flask

    def perform_job(self, job, queue, execution):
        """Run in the horse: drop the parent's pooled connections, then perform inside the app."""
        with job_context(self.app, job.id):
            db.engine.dispose(close=False)
            return super().perform_job(job, queue, execution)


def run(app: Flask, *, burst: bool = False, with_scheduler: bool = True) -> bool:
    """Work jobs until stopped (or, with `burst`, until the queue is empty); True if any job ran."""
    for module in PRELOAD:
        importlib.import_module(module)
    if with_scheduler:
        _fork_scheduler(app)
    worker = AppWorker(
        [rq_queue(app)], connection=redis_connection(app), job_monitoring_interval=JOB_MONITORING_INTERVAL
    )
    worker.app = app
    return worker.work(burst=burst, logging_level=logging.getLevelName(app.logger.getEffectiveLevel()))


def _fork_scheduler(app: Flask) -> int:
    """Run a scheduler in a child process, which stops within a second of this process ending."""
    parent = os.getpid()
    child = os.fork()
    if child:
        return child
    try:
        with app.app_context():
            db.engine.dispose(close=False)
        schedule.Scheduler(app).run(threading.Event(), parent_pid=parent)
    finally:
        os._exit(0)
