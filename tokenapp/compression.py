"""Compressed responses (Flask-Compress), static files included.

Flask-Compress compresses streamed responses by wrapping their iterator,
which leaves the static file's handle open. Static files are small, so they
are read into memory first and compressed like any other response.
"""

from flask import Flask, Response, request

from .extensions import compress


def _buffer_static_file(response: Response) -> Response:
    if request.endpoint == "static" and response.is_streamed and response.status_code == 200:
        response.direct_passthrough = False
        response.make_sequence()
    return response


def register(app: Flask) -> None:
    """Compress responses; the static-file hook must run before Flask-Compress's."""
    app.config.setdefault("COMPRESS_STREAMS", False)
    compress.init_app(app)
    app.after_request(_buffer_static_file)
