"""What the scheduler records so a periodic job runs once per period across all machines."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from ._types import UTCDateTime, utcnow


class PeriodicJobClaim(Model):
    """One periodic job's period, claimed by the first scheduler to reach it (the key is unique)."""

    __tablename__ = "periodic_job_claims"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(120))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
