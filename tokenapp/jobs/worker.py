"""`flask worker`: one RQ worker taking jobs from Redis, with a scheduler thread beside it.

RQ forks a work horse per job, so a job that hangs, even inside C code, is
killed at its timeout and cannot take the worker with it. The horse runs the
job in an app context of its own, on database connections of its own.
"""

import logging

from flask import Flask
from rq import Worker

from ..extensions import db
from . import schedule
from .context import job_context
from .queue import redis_connection, rq_queue

JOB_MONITORING_INTERVAL = 5


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
    worker = AppWorker([rq_queue(app)], connection=redis_connection(app),
                       job_monitoring_interval=JOB_MONITORING_INTERVAL)
    worker.app = app
    stop = schedule.start_thread(app) if with_scheduler else None
    try:
        return worker.work(burst=burst, logging_level=logging.getLevelName(app.logger.getEffectiveLevel()))
    finally:
        if stop is not None:
            stop.set()
