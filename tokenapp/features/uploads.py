"""Reading the resume upload in the request: only the cheap checks, before anything is charged.

Size, type by magic bytes, and the extension agreeing with the content take a few milliseconds for 5 MB.
The expensive parse happens in the run, in a child process under a time limit (`ai_runner.generate`).
"""

from dataclasses import dataclass

from werkzeug.datastructures import FileStorage, MultiDict

from ..ai.engine.errors import ResumeFileError
from ..ai.engine.files import check_upload
from ..services.ai_runner import InvalidInput

MAX_BYTES = 5 * 1024 * 1024


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
