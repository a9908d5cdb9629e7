"""Running a job inside the app's context, its job id on every log line it writes."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask

from .. import logs
from ..extensions import db


def current_job_id() -> str | None:
    """The id of the job this code runs in, or None outside a job."""
    return logs.current_ids().get("job_id")


@contextmanager
def job_context(app: Flask, job_id: str) -> Iterator[None]:
    """An app context of the job's own, its session removed at the end."""
    with logs.bound(job_id=job_id), app.app_context():
        try:
            yield
        finally:
            db.session.remove()


def run_in_app(app: Flask, job_id: str, func: Callable, args: tuple):
    """Call `func(*args)` in a job context; log any failure with the job id."""
    with job_context(app, job_id):
        try:
            return func(*args)
        except Exception:
            app.logger.exception("job %s (%s) failed", job_id, func.__name__)
            raise
