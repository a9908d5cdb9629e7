"""Build the stand-in Flask app and serve it on loopback."""

import threading

from flask import Flask, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

from . import api, billing, catalog, checkout, control, customers, events, hosted, payments, refunds  # noqa: F401 - they register the /v1 routes
from .errors import StripeError
from .state import State
from .webhooks import Dispatcher


def create_standin_app(
    webhook_url: str | None, webhook_secret: str, *, deliver=None, retry_delays=(1, 2, 4, 8, 16)
) -> Flask:
    """A Stripe-compatible API, hosted Checkout page and test controls, state in memory."""
    app = Flask(__name__)
    dispatcher = Dispatcher(webhook_url, webhook_secret, deliver, retry_delays)
    state = State(dispatcher)
    dispatcher.tick = lambda: checkout.sweep(state)
    app.extensions["stripe_standin"] = state
    app.register_blueprint(api.bp)
    app.register_blueprint(hosted.bp)
    app.register_blueprint(control.bp)
    app.register_error_handler(HTTPException, json_http_error)
    dispatcher.start()
    return app


def json_http_error(error: HTTPException):
    """Under /v1 and /_standin, HTTP errors in Stripe's JSON shape (404 for unknown URLs)."""
    if not request.path.startswith(("/v1/", "/_standin/")):
        return error
    if error.code in (404, 405):
        message = (
            f"Unrecognized request URL ({request.method}: {request.path}). Please see "
            f"https://stripe.com/docs or we can help at https://support.stripe.com/."
        )
        return StripeError(message, status=404).response()
    return StripeError(
        error.description or "An unknown error occurred.", type="api_error", status=error.code or 500
    ).response()


class QuietHandler(WSGIRequestHandler):
    """A request handler that does not log each request (tests run many)."""

    def log_request(self, code="-", size="-") -> None:
        """Skip the per-request access log line."""


class ServerHandle:
    """A stand-in served from a daemon thread; `url` to reach it, `shutdown()` to stop it."""

    def __init__(self, app: Flask, host: str, port: int):
        self.app = app
        self.server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        host = f"[{host}]" if ":" in host else host
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name="stripe-standin-http", daemon=True
        )
        self.thread.start()

    @property
    def state(self) -> State | None:
        """The stand-in's in-memory state (objects, events, dispatcher); None for other apps."""
        return self.app.extensions.get("stripe_standin")

    def shutdown(self) -> None:
        """Stop serving, close the socket and stop the webhook thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        if self.state is not None:
            self.state.dispatcher.stop()


def serve_in_thread(app: Flask, host: str = "127.0.0.1", port: int = 0) -> ServerHandle:
    """Serve `app` from a daemon thread (port 0 picks a free port)."""
    return ServerHandle(app, host, port)


def run(host: str, port: int, webhook_url: str | None, webhook_secret: str) -> None:
    """Serve a fresh stand-in in the foreground until interrupted."""
    app = create_standin_app(webhook_url, webhook_secret)
    server = make_server(host, port, app, threaded=True)
    print(
        f"Stripe stand-in on http://{host}:{server.server_port} "
        f"(webhooks → {webhook_url or 'nowhere'}); Ctrl+C stops it",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.extensions["stripe_standin"].dispatcher.stop()
