"""Checking a feature's inputs, and producing its output with the configured AI provider.

`AI_PROVIDER=local` (the default) is the offline engine in `engine/`;
`openai` sends the feature's prompt file to an OpenAI-compatible endpoint
(`providers/`). Resume parsing is always local: reading a file is
not a language-model job. It parses the stored upload in a child process
under RESUME_PARSE_SECONDS and RESUME_PARSE_MEMORY_MB; a file refused, too
slow or too big raises ResumeFileError, which fails the run (and refunds it)
with the error's message.
"""

from typing import Any

from flask import current_app
from sqlalchemy import select

from ..digits import INT32_MAX, whole_number
from ..extensions import db
from ..models import Resume
from ..services.errors import UnknownFeature
from . import uploads
from .forms import FORMS, InvalidInput
from .providers import LocalProvider, build_provider


def fields_of(feature_key: str):
    """The feature's declared form fields, or UnknownFeature."""
    if feature_key not in FORMS:
        raise UnknownFeature(f"No feature called {feature_key!r}.")
    return FORMS[feature_key]


def _clean_value(field, value) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidInput(field.name, f"{field.label} must be text.")
    value = str(value).strip()
    if len(value) > field.max_length:
        raise InvalidInput(field.name, f"{field.label} is too long (at most {field.max_length} characters).")
    if field.kind == "select" and value not in {key for key, _label in field.choices}:
        raise InvalidInput(field.name, f"Choose one of the options for {field.label}.")
    return value


def user_resume(user_id: int, resume_id) -> Resume:
    """The user's own saved resume, else InvalidInput (never another user's)."""
    resume = None
    number = whole_number(resume_id, low=1, high=INT32_MAX)
    if number is not None:
        resume = db.session.execute(select(Resume).where(Resume.id == number, Resume.user_id == user_id)).scalar()
    if resume is None:
        raise InvalidInput("resume_id", "Choose one of your saved resumes.")
    return resume


def clean_inputs(user_id: int, feature_key: str, raw: dict) -> dict:
    """The inputs a run will use, checked against the feature's form; raises InvalidInput."""
    cleaned: dict[str, Any] = {}
    for field in fields_of(feature_key):
        value = raw.get(field.name)
        if field.kind == "file":
            continue
        if value is None or value == "":
            if field.required:
                raise InvalidInput(field.name, f"{field.label} is required.")
            continue
        value = _clean_value(field, value)
        if field.kind == "resume":
            resume = user_resume(user_id, value)
            cleaned["resume"] = resume.parsed
            cleaned["resume_id"] = resume.id
        elif value:
            cleaned[field.name] = value
    _check_engine_needs(feature_key, cleaned)
    return cleaned


def _check_engine_needs(feature_key: str, cleaned: dict) -> None:
    """Refuse before charging what the engine would refuse after: a resume, say."""
    from .engine import REQUIRED_INPUTS

    for name in REQUIRED_INPUTS.get(feature_key, []):
        if name in ("filename", "data") or cleaned.get(name):
            continue
        if name == "resume" and cleaned.get("resume_text"):
            continue
        message = (
            "Choose a saved resume or paste your resume's text."
            if name == "resume"
            else f"{name.replace('_', ' ').capitalize()} is required."
        )
        raise InvalidInput(name, message)


def saved_resumes(user_id: int) -> list[Resume]:
    """The user's saved resumes, newest first."""
    return list(
        db.session.execute(
            select(Resume).where(Resume.user_id == user_id).order_by(Resume.created_at.desc()).limit(20)
        ).scalars()
    )


def generate(feature_key: str, inputs: dict) -> tuple[dict, str]:
    """The output of one run, and the name of the provider that made it."""
    if feature_key == "resume_parsing":
        return _parse_upload(inputs), LocalProvider.name
    with build_provider(current_app.config) as provider:
        return provider.generate(feature_key, inputs), provider.name


def _parse_upload(inputs: dict) -> dict:
    """The resume_parsing output for the run's stored upload, parsed in a limited child process; the bytes
    are deleted once the parse has ended, whatever its outcome."""
    from .engine import resume_parsing
    from .engine.errors import ResumeFileError
    from .isolation import run_isolated

    upload_id = inputs.get("upload_id")
    stored = uploads.load(upload_id)
    if stored is None:
        raise ResumeFileError("upload_missing", "There is no uploaded file to read: upload your resume again.")
    filename, data = stored
    try:
        return run_isolated(
            resume_parsing,
            {"filename": filename, "data": data},
            seconds=current_app.config.get("RESUME_PARSE_SECONDS", 5),
            memory_mb=current_app.config.get("RESUME_PARSE_MEMORY_MB", 512),
        )
    finally:
        uploads.discard(upload_id)
