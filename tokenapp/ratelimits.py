"""Rate limits (Flask-Limiter): which views are limited, keyed by what, and how many per window.

Views carry `@limited("group")`; `register(app)` gives each app its own Limiter
(in Redis when REDIS_URL is set, so every process and machine shares the
counts; in memory otherwise) and wraps the marked views with the group's
limits. `RATE_LIMITS=off` (refused in production) leaves every view unwrapped.
A refused request raises RateLimitExceeded: 429 with Retry-After (errors.py).
"""

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_login import current_user
from limits.storage import MemoryStorage

from .services.accounts import normalize_email

# Every limit in one place. The first three are fixed by the contract; the
# others leave a person clicking (or a script of theirs) ample room. An app's
# RATE_LIMIT_RULES config overrides any of them (tests use windows of seconds).
RULES = {
    "login_failures_per_account": "10 per 15 minutes",
    "login_failures_per_address": "50 per 15 minutes",
    "signups_per_address": "20 per hour",
    "checkouts_per_user": "10 per 10 minutes",
    "purchase_checks_per_user": "60 per minute",
    "deductions_per_user": "120 per minute",
    "password_change_failures_per_user": "10 per 15 minutes",
}
REDIS_KEY_PREFIX = "tokenapp"
EXTENSION_KEY = "tokenapp_limiter"
MESSAGE = "Too many requests. Wait {wait} and try again."


def by_address() -> str:
    """The client's address (the proxy's X-Forwarded-For in production, through ProxyFix)."""
    return "addr:" + (request.remote_addr or "unknown")


def by_user() -> str:
    """The signed-in user, or the address for anyone else."""
    return f"user:{current_user.id}" if current_user.is_authenticated else by_address()


def by_login_email() -> str:
    """The e-mail a login names, known or not, hashed so the store holds no addresses."""
    email = normalize_email(request.form.get("email", ""))
    return "email:" + hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def note_failure() -> None:
    """Mark this request as a failed attempt: the failure-only limits count it."""
    g.rate_limit_failure = True


def _failed(response) -> bool:
    return bool(g.get("rate_limit_failure"))


@dataclass(frozen=True)
class Rule:
    """One limit: its RULES name, whose budget it spends, and whether only failures count."""

    name: str
    key: Callable[[], str]
    failures_only: bool = False


# A group's limits are shared by every view in the group (checkout by form and by API, say).
GROUPS: dict[str, tuple[Rule, ...]] = {
    "login": (
        Rule("login_failures_per_account", by_login_email, failures_only=True),
        Rule("login_failures_per_address", by_address, failures_only=True),
    ),
    "signup": (Rule("signups_per_address", by_address),),
    "checkout": (Rule("checkouts_per_user", by_user),),
    "purchase_check": (Rule("purchase_checks_per_user", by_user),),
    "deduct": (Rule("deductions_per_user", by_user),),
    "password_change": (Rule("password_change_failures_per_user", by_user, failures_only=True),),
}


def limited(group: str, methods: tuple[str, ...] = ("POST",)):
    """Mark a view as limited by `group` for `methods`; `register` applies it per app."""
    if group not in GROUPS:
        raise KeyError(f"no rate limit group {group!r}")

    def mark(view):
        view.rate_limit_group = (group, methods)
        return view

    return mark


def register(app: Flask) -> None:
    """Give the app its Limiter and wrap every view marked with `limited`."""
    if not app.config.get("RATELIMIT_ENABLED", True):
        return
    limiter = _make_limiter(app)
    if app.config.get("TOKENAPP_ENV") == "production" and not app.config.get("REDIS_URL"):
        app.logger.warning("rate limits are counted in memory, per process: set REDIS_URL to share them")
    app.extensions[EXTENSION_KEY] = limiter
    _check_only_limited_views(app, limiter)
    rules = {**RULES, **app.config.get("RATE_LIMIT_RULES", {})}
    for endpoint, view in list(app.view_functions.items()):
        marked = getattr(view, "rate_limit_group", None)
        if marked:
            app.view_functions[endpoint] = _apply(limiter, rules, *marked)(view)


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory counters, their expired entries swept inline at most once a second.

    MemoryStorage starts a timer thread after nearly every hit to sweep them,
    which cost a deduct about 0.3 ms of CPU. A counter past its window is
    ignored on read either way (`get` checks the expiry), so only the
    clean-up of idle keys moves, from a thread into the next hit.
    """

    STORAGE_SCHEME = ["sweptmemory"]  # noqa: RUF012 - the limits library reads this class attribute as a list
    SWEEP_EVERY_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        self._next_sweep = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - replaces the parent's private per-hit timer, by its mangled name
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_EVERY_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]  # the parent's private sweep, by its mangled name; tests/test_lean_request.py fails if limits renames it


def _make_limiter(app: Flask) -> Limiter:
    redis_url = app.config.get("REDIS_URL")
    options: dict[str, str | int] = (
        {"key_prefix": REDIS_KEY_PREFIX, "socket_timeout": 1, "socket_connect_timeout": 1} if redis_url else {}
    )
    limiter = Limiter(
        by_address,
        storage_uri=redis_url or "sweptmemory://",
        storage_options=options,
        strategy="fixed-window",
        headers_enabled=False,
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )  # Redis down: count in memory
    limiter.init_app(app)
    return limiter


_GLOBAL_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")


def _check_only_limited_views(app: Flask, limiter: Limiter) -> None:
    """Drop Flask-Limiter's before-request check, which would find no limit for any request.

    That hook applies default, application and meta limits, and this app sets
    none (so the hook stays if a config names one): for every request it
    resolved an empty list, about 30 µs of CPU. Each view marked with
    `limited` is checked by its own wrapper, which also falls back to memory
    when the storage fails and probes for the storage's recovery (on a timer,
    at the next limited request rather than at the next request of any kind).
    """
    if any(app.config.get(name) for name in _GLOBAL_LIMITS):
        return
    app.before_request_funcs[None].remove(limiter._check_request_limit)


def _apply(limiter: Limiter, rules: dict, group: str, methods: tuple[str, ...]):
    def wrap(view):
        for rule in GROUPS[group]:
            view = limiter.shared_limit(
                rules[rule.name],
                scope=rule.name,
                key_func=rule.key,
                methods=list(methods),
                deduct_when=_failed if rule.failures_only else None,
                error_message=_message,
            )(view)
        return view

    return wrap


def retry_after_seconds() -> int:
    """Seconds until the limit that refused this request lets it through again (at least 1)."""
    limiter = current_app.extensions.get(EXTENSION_KEY)
    breached = limiter.current_limit if limiter else None
    if breached is None:
        return 60
    return max(1, math.ceil(breached.window[0] - time.time()))


def _message() -> str:
    seconds = retry_after_seconds()
    wait = f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
    return MESSAGE.format(wait=wait)
