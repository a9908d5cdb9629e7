"""Running a job inside the app's context, with its job id at hand for the logs."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask

from ..extensions import db

_JOB_ID: ContextVar[str | None] = ContextVar("job_id", default=None)


def current_job_id() -> str | None:
    """The id of the job this code runs in, or None outside a job."""
    return _JOB_ID.get()


@contextmanager
def job_context(app: Flask, job_id: str) -> Iterator[None]:
    """An app context of the job's own, its session removed at the end."""
    token = _JOB_ID.set(job_id)
    try:
        with app.app_context():
            try:
                yield
            finally:
                db.session.remove()
    finally:
        _JOB_ID.reset(token)


def run_in_app(app: Flask, job_id: str, func: Callable, args: tuple):
    """Call `func(*args)` in a job context; log any failure with the job id."""
    with job_context(app, job_id):
        try:
            return func(*args)
        except Exception:
            app.logger.exception("job %s (%s) failed", job_id, func.__name__)
            raise
