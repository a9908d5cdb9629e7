"""Rate limits: which views are limited, keyed by what, and how many per window.

Views carry `@limited("group")`; `register(app)` gives each app its own
`Counts` (in Redis when REDIS_URL is set, so every process and machine shares
them; in memory otherwise) and wraps the marked views with the group's
limits. `RATE_LIMITS=off` (refused in production) leaves every view unwrapped.
A refused request raises RateLimited: 429 with Retry-After (errors.py).

The counting is the `limits` library's fixed window (the engine under
Flask-Limiter), called straight from each limited view: Flask-Limiter
resolved a view's limits anew on every request, which cost a deduct about a
tenth of its CPU. What it did beyond counting is kept here: failure-only
limits count after the response, and a Redis that stops answering is
replaced by memory until a probe finds it back.
"""

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Flask, after_this_request, current_app, g, request
from flask_login import current_user
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

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


class RateLimited(TooManyRequests):
    """A limit refused this request; `retry_after` is in seconds (at least 1)."""

    def __init__(self, retry_after: int) -> None:
        wait = f"{retry_after} seconds" if retry_after < 120 else f"{math.ceil(retry_after / 60)} minutes"
        super().__init__(MESSAGE.format(wait=wait))
        self.retry_after = retry_after


def register(app: Flask) -> None:
    """Give the app its Counts and wrap every view marked with `limited`."""
    if not app.config.get("RATELIMIT_ENABLED", True):
        return
    redis_url = app.config.get("REDIS_URL")
    if app.config.get("TOKENAPP_ENV") == "production" and not redis_url:
        app.logger.warning("rate limits are counted in memory, per process: set REDIS_URL to share them")
    counts = Counts(_storage(redis_url)) if redis_url else Counts(SweptMemoryStorage(), in_memory=True)
    app.extensions[EXTENSION_KEY] = counts
    rules = {**RULES, **app.config.get("RATE_LIMIT_RULES", {})}
    for endpoint, view in list(app.view_functions.items()):
        marked = getattr(view, "rate_limit_group", None)
        if marked:
            app.view_functions[endpoint] = _apply(counts, rules, *marked)(view)


def _storage(redis_url: str) -> Storage:
    """Redis, failing fast (1 s) so that a Redis outage costs a request little before memory takes over."""
    return RedisStorage(redis_url, key_prefix=REDIS_KEY_PREFIX, socket_timeout=1, socket_connect_timeout=1)


class Counts:
    """The app's counters: a fixed window in `storage`, or in memory while that storage is down.

    `in_memory` says `storage` is this process's memory already: nothing to fall back to.

    A storage error switches the counting to memory at once (the request is
    counted there, never refused or failed for it) and logs a warning; the
    storage is probed again after 1 s, then 2, 4... up to a minute, and
    takes over again when it answers. Memory counts start empty, so during an
    outage each process counts alone.
    """

    MAX_PROBE_WAIT = 60.0

    def __init__(self, storage: Storage, in_memory: bool = False) -> None:
        self.storage = storage
        self._shared = FixedWindowRateLimiter(storage)
        self._memory = self._shared if in_memory else None
        self._down_until: float | None = None
        self._probe_wait = 1.0

    def _fallback(self) -> FixedWindowRateLimiter:
        if self._memory is None:
            self._memory = FixedWindowRateLimiter(SweptMemoryStorage())
        return self._memory

    def _counter(self) -> FixedWindowRateLimiter:
        if self._down_until is None:
            return self._shared
        if time.monotonic() < self._down_until:
            return self._fallback()
        try:
            answered = self.storage.check()
        except Exception:  # noqa: BLE001 - any failure of the probe means still down
            answered = False
        if answered:
            current_app.logger.info("rate limit storage recovered")
            self._down_until, self._probe_wait = None, 1.0
            return self._shared
        self._probe_wait = min(self._probe_wait * 2, self.MAX_PROBE_WAIT)
        self._down_until = time.monotonic() + self._probe_wait
        return self._fallback()

    def _run(self, method: str, *args):
        counter = self._counter()
        try:
            return getattr(counter, method)(*args)
        except Exception:  # any storage failure: count in memory rather than fail the request
            if counter is self._memory:
                raise
            current_app.logger.warning("rate limit storage unreachable: counting in memory")
            self._down_until = time.monotonic() + self._probe_wait
            return getattr(self._fallback(), method)(*args)

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count one request; False when that went past the limit."""
        return self._run("hit", item, *identifiers)

    def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Whether one more request would still be within the limit (nothing counted)."""
        return self._run("test", item, *identifiers)

    def retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        """Seconds until the window that refused a request ends (at least 1)."""
        reset_time = self._run("get_window_stats", item, *identifiers).reset_time
        return max(1, math.ceil(reset_time - time.time()))


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


def _apply(counts: Counts, rules: dict, group: str, methods: tuple[str, ...]):
    """The view, checking the group's limits first for `methods`; failure-only limits count after a failure."""
    limits = [(rule, parse(rules[rule.name])) for rule in GROUPS[group]]

    def wrap(view):
        @wraps(view)
        def limited_view(*args, **kwargs):
            if request.method in methods:
                _check(counts, limits)
            return current_app.ensure_sync(view)(*args, **kwargs)

        return limited_view

    return wrap


def _check(counts: Counts, limits: list[tuple[Rule, RateLimitItem]]) -> None:
    for rule, item in limits:
        identifiers = (rule.key(), rule.name)  # Flask-Limiter's order: the counts in Redis carry over
        within = counts.test(item, *identifiers) if rule.failures_only else counts.hit(item, *identifiers)
        if not within:
            raise RateLimited(counts.retry_after(item, *identifiers))
        if rule.failures_only:
            after_this_request(_count_if_failed(counts, item, identifiers))


def _count_if_failed(counts: Counts, item: RateLimitItem, identifiers: tuple[str, str]):
    """After the response: count it against a failure-only limit when the view called `note_failure`."""

    def count(response):
        if g.get("rate_limit_failure"):
            counts.hit(item, *identifiers)
        return response

    return count
