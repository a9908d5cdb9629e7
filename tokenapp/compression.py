"""Compressed responses (Flask-Compress), static files included.

Flask-Compress compresses streamed responses by wrapping their iterator,
which leaves the static file's handle open. Static files are small, so they
are read into memory first and compressed like any other response.

A body shorter than COMPRESS_MIN_SIZE (most JSON answers: a balance is about
70 bytes) is never compressed; for those only the `Vary: Accept-Encoding`
that Flask-Compress would add is set, without its negotiation.
"""

from flask import Flask, Response, current_app, request

from .extensions import compress


def _buffer_static_file(response: Response) -> Response:
    if request.endpoint == "static" and response.is_streamed and response.status_code == 200:
        response.direct_passthrough = False
        response.make_sequence()
    return response


def _vary_on_accept_encoding(response: Response) -> None:
    vary = response.headers.get("Vary")
    if not vary:
        response.headers["Vary"] = "Accept-Encoding"
    elif "accept-encoding" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Encoding"


def compress_unless_tiny(response: Response) -> Response:
    """Flask-Compress's after-request step, short-cut for a body too small to compress."""
    length = response.content_length
    if length is not None and length < current_app.config["COMPRESS_MIN_SIZE"]:
        _vary_on_accept_encoding(response)
        return response
    return compress.after_request(response)


def register(app: Flask) -> None:
    """Compress responses; the static-file hook must run before the compression step."""
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config.setdefault("COMPRESS_REGISTER", False)
    compress.init_app(app)
    if app.config["COMPRESS_MIMETYPES"] and not app.config["COMPRESS_REGISTER"]:
        app.after_request(compress_unless_tiny)
    app.after_request(_buffer_static_file)
