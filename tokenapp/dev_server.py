"""`flask serve` and `flask stripe-standin`: the app for a laptop, Stripe stand-in included.

The stand-in (the top-level `stripe_standin` package) is development tooling: it is imported
inside these commands only, so no gunicorn or job worker of the product ever loads it.
"""

import os
import socket
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from .services import stripe_setup


def _standin_port() -> int:
    return urlsplit(current_app.config["STRIPE_API_BASE"]).port or 12111


def _start_standin(webhook_url: str):
    """Serve the stand-in beside the app, on its usual port if free, else any."""
    from stripe_standin import create_standin_app, serve_in_thread

    standin = create_standin_app(webhook_url, current_app.config["STRIPE_WEBHOOK_SECRET"])
    port = _standin_port()
    return serve_in_thread(standin, port=port if _is_free(port) else 0)


def _is_free(port: int) -> bool:
    """Werkzeug exits the process on a taken port, so ask first."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int):
    """Serve the app; with no Stripe keys, the offline Stripe stand-in runs beside it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as Flask
    if not os.environ.get("APP_BASE_URL"):
        app.config["APP_BASE_URL"] = f"http://{host}:{port}"
    if app.config["STRIPE_OFFLINE"]:
        handle = _start_standin(app.config["APP_BASE_URL"] + "/api/stripe/webhooks")
        app.config["STRIPE_API_BASE"] = handle.url
        stripe_setup.sync()
        click.echo(f"offline Stripe stand-in at {handle.url}: pay with card 4242 4242 4242 4242")
    click.echo(f"tokenapp at {app.config['APP_BASE_URL']}")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("stripe-standin")
@click.option("--port", default=None, type=int, help="Defaults to the port of STRIPE_API_BASE.")
@with_appcontext
def standin_command(port: int | None):
    """Run only the offline Stripe stand-in, sending webhooks to APP_BASE_URL."""
    from stripe_standin import run

    webhook_url = current_app.config["APP_BASE_URL"] + "/api/stripe/webhooks"
    click.echo(f"offline Stripe stand-in on 127.0.0.1:{port or _standin_port()}, webhooks to {webhook_url}")
    run("127.0.0.1", port or _standin_port(), webhook_url, current_app.config["STRIPE_WEBHOOK_SECRET"])
