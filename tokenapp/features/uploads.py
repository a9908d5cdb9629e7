"""Resume uploads: only the cheap checks in the request, then the bytes held for their run until it parses them.

Size, type by magic bytes, and the extension agreeing with the content take a few milliseconds for 5 MB.
The expensive parse happens in the run, in a child process under a time limit (`runner.generate`), and
the stored bytes are deleted once it has ended.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, cast

from sqlalchemy import CursorResult, delete, select
from werkzeug.datastructures import FileStorage, MultiDict

from ..database import write_transaction
from ..extensions import db
from ..models import ResumeUpload
from ..models._types import utcnow
from .engine.errors import ResumeFileError
from .engine.files import check_upload
from .forms import InvalidInput

MAX_BYTES = 5 * 1024 * 1024


class Upload(Protocol):
    """An uploaded file that passed the request's cheap checks."""

    @property
    def filename(self) -> str: ...

    @property
    def data(self) -> bytes: ...


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed the cheap checks, not yet parsed."""

    filename: str
    data: bytes


def read_upload(feature_key: str, files: MultiDict) -> CheckedUpload | None:
    """For resume parsing, the uploaded file after the cheap checks; a bad file raises InvalidInput (no charge)."""
    if feature_key != "resume_parsing":
        return None
    upload: FileStorage | None = files.get("resume_file")
    if upload is None or not upload.filename:
        raise InvalidInput("resume_file", "Choose a resume file to upload.")
    data = upload.stream.read(MAX_BYTES + 1)
    try:
        check_upload(upload.filename, data, MAX_BYTES)
    except ResumeFileError as error:
        raise InvalidInput("resume_file", error.message) from None
    return CheckedUpload(upload.filename[:255], data)


def keep(user_id: int, filename: str, data: bytes) -> dict:
    """Store an upload's bytes; the run inputs that name it ({"filename", "upload_id"})."""
    upload_id = "upl_" + secrets.token_hex(12)
    with write_transaction():
        db.session.add(
            ResumeUpload(
                id=upload_id, user_id=user_id, filename=filename[:255], size=len(data), data=data, created_at=utcnow()
            )
        )
    return {"filename": filename[:255], "upload_id": upload_id}


def load(upload_id) -> tuple[str, bytes] | None:
    """(filename, bytes) of a stored upload, or None when it is gone."""
    if not isinstance(upload_id, str):
        return None
    row = db.session.execute(
        select(ResumeUpload.filename, ResumeUpload.data).where(ResumeUpload.id == upload_id)
    ).first()
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
        deleted = cast(
            CursorResult, db.session.execute(delete(ResumeUpload).where(ResumeUpload.created_at < cutoff))
        ).rowcount
    return deleted
