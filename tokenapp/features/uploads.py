"""Reading the resume upload before anything is charged."""

from werkzeug.datastructures import FileStorage, MultiDict

from ..services.ai_runner import InvalidInput

MAX_BYTES = 5 * 1024 * 1024


def read_upload(feature_key: str, files: MultiDict) -> dict:
    """For resume parsing, the file parsed into inputs; a bad file raises InvalidInput (no charge)."""
    if feature_key != "resume_parsing":
        return {}
    upload: FileStorage | None = files.get("resume_file")
    if upload is None or not upload.filename:
        raise InvalidInput("resume_file", "Choose a resume file to upload.")
    data = upload.stream.read(MAX_BYTES + 1)
    from ..ai.engine import resume_parsing
    from ..ai.engine.errors import ResumeFileError

    try:
        output = resume_parsing({"filename": upload.filename, "data": data})
    except ResumeFileError as error:
        raise InvalidInput("resume_file", error.message) from None
    return {"filename": upload.filename[:255], "prepared_output": output}
