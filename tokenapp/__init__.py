"""tokenapp: a prepaid token system for an AI web app."""

import contextlib
import os
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import compression, cookies, database
from .config import ConfigError, load_settings
from .extensions import csrf, db, login_manager, migrate

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")
DOTENV_PATH = Path(__file__).resolve().parent.parent / ".env"


class TokenApp(Flask):
    """Flask, remembering which hooks and views are plain functions.

    Flask asks `inspect.iscoroutinefunction` about every hook and view on
    every request (about 20 times a request here). A function found
    synchronous once is remembered (weakly, by its underlying function, so a
    per-request closure is not kept alive) and handed back as it is, which is
    what Flask does with a synchronous function; anything else takes Flask's
    own path.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._known_sync: weakref.WeakSet = weakref.WeakSet()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        underlying = getattr(func, "__func__", func)
        if underlying in self._known_sync:
            return func
        synced = super().ensure_sync(func)
        if synced is func:
            with contextlib.suppress(TypeError):  # not weakly referenceable: Flask's path every time
                self._known_sync.add(underlying)
        return synced


def create_app(
    test_config: dict | None = None, instance_path: str | None = None, environ: Mapping[str, str] | None = None
) -> Flask:
    """Build the app (its generated secrets kept in `instance_path`); a bad setting stops start-up with one line.

    Settings come from `environ` when it is given (and then from nothing else), otherwise from the process
    environment, with a `.env` file at the top of the repository filling in what it does not set.
    """
    app = TokenApp(__name__, instance_path=instance_path, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if environ is None:
        load_dotenv(DOTENV_PATH, override=False)
    try:
        settings = load_settings(os.environ if environ is None else environ, instance_path=app.instance_path)
    except ConfigError as error:
        raise SystemExit(f"tokenapp: configuration error: {error}") from None
    app.config.from_mapping(settings.as_flask_config())
    if environ is not None:
        # Flask read FLASK_DEBUG from the process environment when it made the config; the mapping decides instead.
        debug = environ.get("FLASK_DEBUG", "")
        app.config["DEBUG"] = bool(debug) and debug.lower() not in ("0", "false", "no")
    if test_config:
        app.config.from_mapping(test_config)
    if app.config["TOKENAPP_ENV"] == "production":
        # One proxy in front: its X-Forwarded-For and -Proto give the client's address and scheme.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]  # Flask's documented way to wrap the WSGI app
    configure_logger(app)
    register_extensions(app)
    register_blueprints(app)
    register_rate_limits(app)
    register_errorhandlers(app)
    register_security(app)
    register_commands(app)
    register_jobs(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the extension objects to this app."""
    from . import (
        input_guard,
        models,  # noqa: F401 - so the metadata knows every table
    )
    from .api import reject_anonymous
    from .auth.session import configure_login

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options(app.config)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    app.before_request(reject_anonymous)
    input_guard.register(app)
    cookies.register(app)
    csrf.init_app(app)
    compression.register(app)
    login_manager.init_app(app)
    configure_login(login_manager)


def register_blueprints(app: Flask) -> None:
    """Mount each feature area."""
    from .account import bp as account_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .features.views import bp as features_bp
    from .main import bp as main_bp
    from .payments import bp as payments_bp
    from .tokens import bp as tokens_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(features_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(account_bp)
    app.register_blueprint(api_bp, url_prefix="/api")


def register_rate_limits(app: Flask) -> None:
    """Limit logins, sign-ups, checkouts, purchase checks and deductions (off with RATE_LIMITS=off)."""
    from . import ratelimits

    ratelimits.register(app)


def register_errorhandlers(app: Flask) -> None:
    """Answer errors as JSON under /api and as pages elsewhere, never with a trace."""
    from .errors import register

    register(app)


def register_security(app: Flask) -> None:
    """Security headers, and the htmx response conventions, on every response."""
    from . import htmx
    from .security import register

    register(app)
    htmx.register(app)


def register_commands(app: Flask) -> None:
    """Add the `flask` CLI commands."""
    from .cli import register

    register(app)


def register_jobs(app: Flask) -> None:
    """Without Redis, run the periodic jobs on a timer thread, started by the first request."""
    from .jobs.schedule import ensure_in_process

    app.before_request(lambda: ensure_in_process(app))


def configure_logger(app: Flask) -> None:
    """Log at INFO to stderr, where gunicorn and `flask run` collect it, each line with its request or job id."""
    from . import logs

    logs.configure(app)
