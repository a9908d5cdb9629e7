"""Logging: every line names its request or job; JSON lines in production.

A request's id is the caller's `X-Request-ID` when it is a short visible
string (a proxy's), else a new one; it is echoed in the response. Jobs bind
their own id with `bound(job_id=…, run_id=…)`.
"""

import json
import logging
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_CONTEXT: ContextVar[dict] = ContextVar("tokenapp_log_context", default={})  # noqa: B039 - never mutated, only replaced
_HANDLER_MARK = "_tokenapp_handler"
CONTEXT_FIELDS = ("request_id", "job_id", "run_id")


@contextmanager
def bound(**ids: object) -> Iterator[None]:
    """Tag every log line written inside the block with these ids (a job's, a run's)."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: str(v) for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_ids() -> dict:
    """The ids bound where this is called: request, job, run."""
    return dict(_CONTEXT.get())


class ContextFilter(logging.Filter):
    """Copies the bound ids onto each record, '-' where none is bound."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _CONTEXT.get()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, ids.get(name, "-"))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, ids, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({name: getattr(record, name) for name in CONTEXT_FIELDS if getattr(record, name, "-") != "-"})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(ids)s] %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal, with the request, job and run ids in brackets."""

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(
            f"{name.removesuffix('_id')} {getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, "-") != "-"
        )
        return super().format(logging.makeLogRecord({**record.__dict__, "ids": ids or "-"}))


def _install_handler(json_lines: bool, level: int) -> None:
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _HANDLER_MARK, False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _HANDLER_MARK, True)
        handler.addFilter(ContextFilter())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter(TEXT_FORMAT))
    root.setLevel(level)


def _start_request() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = given if _VALID_REQUEST_ID.match(given) else secrets.token_hex(8)
    g.request_id = request_id
    g.log_token = _CONTEXT.set({"request_id": request_id})


def _end_request(response: Response) -> Response:
    if "request_id" in g:
        response.headers[REQUEST_ID_HEADER] = g.request_id
    return response


def _reset_context(_error: BaseException | None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        try:
            _CONTEXT.reset(token)
        except ValueError:
            _CONTEXT.set({})


def configure(app: Flask) -> None:
    """Send logs to stderr with ids on every line (JSON in production); tag each request."""
    production = app.config.get("TOKENAPP_ENV") == "production"
    _install_handler(json_lines=production, level=logging.INFO)
    app.before_request(_start_request)
    app.after_request(_end_request)
    app.teardown_request(_reset_context)
