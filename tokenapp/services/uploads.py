"""Resume uploads held for their run: stored once the request's cheap checks pass, deleted after the parse."""

import secrets
from datetime import timedelta
from typing import Protocol, cast

from sqlalchemy import CursorResult, delete, select

from ..database import write_transaction
from ..extensions import db
from ..models import ResumeUpload
from ..models._types import utcnow


class Upload(Protocol):
    """An uploaded file that passed the request's cheap checks."""

    @property
    def filename(self) -> str: ...

    @property
    def data(self) -> bytes: ...


def keep(user_id: int, filename: str, data: bytes) -> dict:
    """Store an upload's bytes; the run inputs that name it ({"filename", "upload_id"})."""
    upload_id = "upl_" + secrets.token_hex(12)
    with write_transaction():
        db.session.add(ResumeUpload(id=upload_id, user_id=user_id, filename=filename[:255], size=len(data),
                                    data=data, created_at=utcnow()))
    return {"filename": filename[:255], "upload_id": upload_id}


def load(upload_id) -> tuple[str, bytes] | None:
    """(filename, bytes) of a stored upload, or None when it is gone."""
    if not isinstance(upload_id, str):
        return None
    row = db.session.execute(select(ResumeUpload.filename, ResumeUpload.data)
                             .where(ResumeUpload.id == upload_id)).first()
    return (row.filename, bytes(row.data)) if row else None


def discard(upload_id) -> None:
    """Delete a stored upload (nothing when it is already gone)."""
    if isinstance(upload_id, str):
        with write_transaction():
            db.session.execute(delete(ResumeUpload).where(ResumeUpload.id == upload_id))


def discard_abandoned(older_than_seconds: int) -> int:
    """Delete uploads older than a run can live (their process died before the parse); how many."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    with write_transaction():
        deleted = cast(CursorResult, db.session.execute(delete(ResumeUpload).where(ResumeUpload.created_at < cutoff))).rowcount
    return deleted
