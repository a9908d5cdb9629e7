"""What Stripe said a moment ago, kept for a few seconds.

Success-page visits and purchase-status polls read a Checkout Session from
Stripe. Through this cache one session is retrieved at most once per
`STRIPE_CACHE_SECONDS` (default 5), however often its owner polls, so no
user can spend the merchant's Stripe API quota. The store is this process's
memory, or Redis (keys `tokenapp:stripe-cache:…`) when `REDIS_URL` is set so
that every app server shares it. "Stripe has no such object" is remembered
too. Webhooks never read from here; they retrieve afresh and write through.
A store that fails (Redis down) is a miss, never an error.
"""

import json
import threading
import time
import zlib

from flask import current_app

from . import stripe_api
from .errors import StripeObjectMissing

KEY_PREFIX = "tokenapp:stripe-cache:"
DEFAULT_SECONDS = 5.0
MISSING = "__missing__"
_FLIGHT_LOCKS = [threading.Lock() for _ in range(64)]


class MemoryStore:
    """A bounded in-process map of key to (expiry, value)."""

    def __init__(self, max_entries: int = 10_000, clock=time.monotonic):
        self.clock = clock
        self._items: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def get(self, key: str) -> dict | None:
        """The live value for `key`, or None."""
        with self._lock:
            item = self._items.get(key)
        return item[1] if item and item[0] > self.clock() else None

    def put(self, key: str, value: dict, seconds: float) -> None:
        """Keep `value` for `seconds`, dropping expired (or, when full, the oldest) entries."""
        now = self.clock()
        with self._lock:
            if len(self._items) >= self._max_entries:
                self._items = {k: v for k, v in self._items.items() if v[0] > now}
                while len(self._items) >= self._max_entries:
                    self._items.pop(next(iter(self._items)))
            self._items.pop(key, None)
            self._items[key] = (now + seconds, value)


class RedisStore:
    """The same map in Redis, shared by every process; JSON values with a TTL."""

    def __init__(self, client):
        self._client = client

    def get(self, key: str) -> dict | None:
        """The live value for `key`, or None (also when Redis fails)."""
        import redis

        try:
            raw = self._client.get(KEY_PREFIX + key)
        except redis.RedisError as error:
            current_app.logger.warning("stripe cache: redis get failed: %s", error)
            return None
        return json.loads(raw) if raw else None

    def put(self, key: str, value: dict, seconds: float) -> None:
        """Keep `value` for `seconds` (a failure is logged and ignored)."""
        import redis

        try:
            self._client.set(KEY_PREFIX + key, json.dumps(value), px=max(1, int(seconds * 1000)))
        except redis.RedisError as error:
            current_app.logger.warning("stripe cache: redis set failed: %s", error)


def _store():
    store = current_app.extensions.get("tokenapp_stripe_cache")
    if store is None:
        url = current_app.config.get("REDIS_URL")
        if url:
            import redis

            store = RedisStore(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1))
        else:
            store = MemoryStore()
        current_app.extensions["tokenapp_stripe_cache"] = store
    return store


def _seconds() -> float:
    return float(current_app.config.get("STRIPE_CACHE_SECONDS", DEFAULT_SECONDS))


def remembered(kind: str, object_id: str, fetch) -> dict:
    """Stripe's `kind` object as `fetch()` returns it, fetched at most once per cache window."""
    if _seconds() <= 0:
        return stripe_api.as_dict(fetch())
    key, store = f"{kind}:{object_id}", _store()
    with _FLIGHT_LOCKS[zlib.crc32(key.encode()) % len(_FLIGHT_LOCKS)]:  # one fetch per key per process
        cached = store.get(key)
        if cached is None:
            try:
                cached = stripe_api.as_dict(fetch())
            except StripeObjectMissing as missing:
                cached = {MISSING: missing.message}
            store.put(key, cached, _seconds())
    if MISSING in cached:
        raise StripeObjectMissing(cached[MISSING])
    return cached


def remember(kind: str, object_id: str, obj) -> dict:
    """Store what Stripe just said about an object (a write-through after a fresh read); return it as data."""
    value = stripe_api.as_dict(obj)
    if _seconds() > 0:
        _store().put(f"{kind}:{object_id}", value, _seconds())
    return value
