"""Readiness: whether this process can serve, checked on the database, Redis and the job queue."""

from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..jobs import queue


@dataclass
class Readiness:
    """What each dependency answered; `failed` names those that did not."""

    checks: dict = field(default_factory=dict)
    failed: list = field(default_factory=list)
    queue_depth: int | None = None

    @property
    def ready(self) -> bool:
        """True when nothing failed."""
        return not self.failed

    def as_dict(self) -> dict:
        """The JSON body of /readyz."""
        return {
            "status": "ready" if self.ready else "unavailable",
            "failed": self.failed,
            "checks": self.checks,
            "queue": {"depth": self.queue_depth},
        }


def check(app: Flask) -> Readiness:
    """Ask the database, Redis (when REDIS_URL is set) and the job queue."""
    report = Readiness()
    try:
        db.session.execute(text("SELECT 1"))
        report.checks["database"] = "ok"
    except SQLAlchemyError as error:
        db.session.rollback()
        _failed(report, "database", error)
    if app.config["REDIS_URL"]:
        try:
            queue.ping_redis(app)
            report.checks["redis"] = "ok"
        except queue.QueueUnavailable as error:
            _failed(report, "redis", error)
    else:
        report.checks["redis"] = "not configured"
    try:
        report.queue_depth = queue.depth(app)
        report.checks["queue"] = "ok (redis)" if app.config["REDIS_URL"] else "ok (in-process threads)"
    except queue.QueueUnavailable as error:
        _failed(report, "queue", error)
    return report


def _failed(report: Readiness, name: str, error: Exception) -> None:
    report.failed.append(name)
    report.checks[name] = f"failed: {type(error).__name__}"
