"""Feature runs and the resumes they reuse."""

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from ._types import UTCDateTime, utcnow


class RunStatus(enum.StrEnum):
    """Where a feature run is: queued, running under a lease, then succeeded or failed (refunded)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class FeatureRun(Model):
    """One run of an AI feature, paid for by exactly one charge."""

    __tablename__ = "feature_runs"
    __table_args__ = (
        Index("ix_feature_runs_user_id_feature_key_created_at", "user_id", "feature_key", "created_at"),
        Index("ix_feature_runs_status_created_at", "status", "created_at"),
        Index("ix_feature_runs_status_lease_expires_at", "status", "lease_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    feature_key: Mapped[str] = mapped_column(String(40))
    charge_id: Mapped[str] = mapped_column(ForeignKey("token_charges.id"), unique=True)
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.QUEUED)
    inputs: Mapped[dict] = mapped_column(JSON)
    output: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider: Mapped[str] = mapped_column(String(40), default="local")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The job that works on the run holds a lease on it: `claim` is its token,
    # renewed until `lease_expires_at`; past that, the recovery job queues it again.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claim: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Resume(Model):
    """A parsed resume kept for its owner, reused by the other features."""

    __tablename__ = "resumes"
    __table_args__ = (Index("ix_resumes_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    parsed: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
