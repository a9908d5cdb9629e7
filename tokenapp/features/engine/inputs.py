"""Reading a feature's input dict and building its output dict."""

from typing import Literal, overload

from .errors import EngineInputError
from .limits import MAX_INPUT_CHARS
from .matching import as_resume
from .resume import ParsedResume
from .textutil import clean

Section = dict  # {"heading": str, "body": str | list[str]}


def text(inputs: dict, key: str, default: str = "") -> str:
    """An optional text input, trimmed and cut to MAX_INPUT_CHARS ('' when missing)."""
    value = (inputs or {}).get(key)
    value = str(value)[:MAX_INPUT_CHARS].strip() if value is not None else ""
    return value or default


def required(inputs: dict, key: str, label: str) -> str:
    """A required text input; raises EngineInputError when missing or blank."""
    value = text(inputs, key)
    if not value:
        raise EngineInputError(key, f"{label} is required.")
    return value


def number(inputs: dict, key: str, default: int, low: int, high: int) -> int:
    """An optional whole number clamped to [low, high]; non-numbers give the default."""
    try:
        value = int(str((inputs or {}).get(key, default)).strip())
    except ValueError:
        return default
    return max(low, min(high, value))


@overload
def resume(inputs: dict, key: str = ..., *, need: Literal[True]) -> ParsedResume: ...
@overload
def resume(inputs: dict, key: str = ..., need: bool = ...) -> ParsedResume | None: ...


def resume(inputs: dict, key: str = "resume", need: bool = False) -> ParsedResume | None:
    """The resume input (a parsed-resume dict, a ParsedResume or pasted text), or None when absent."""
    value = (inputs or {}).get(key)
    if isinstance(value, str):
        value = value.strip()
    if not value:
        if need:
            raise EngineInputError(key, "A resume is required: parse one first or paste its text.")
        return None
    if not isinstance(value, (dict, str, ParsedResume, list)):
        raise EngineInputError(key, "The resume must be a parsed resume or its text.")
    return as_resume(value)


def result(title: str, sections: list[Section], **data) -> dict:
    """The common output shape: {title, sections: [{heading, body}], data}; empty sections are dropped."""
    kept = [s for s in sections if s.get("body")]
    return {"title": title, "sections": kept, "data": data}


def section(heading: str, body: "str | list[str]") -> Section:
    """One output section."""
    if isinstance(body, str):
        body = body.strip()
    else:
        body = [clean(item) if "\n" not in item else item.strip() for item in body if item and item.strip()]
    return {"heading": heading, "body": body}


def candidate_name(inputs: dict, cv: ParsedResume | None) -> str:
    """The user's name from the inputs or the resume, or ''."""
    return text(inputs, "name") or text(inputs, "your_name") or (cv.name if cv else "")
