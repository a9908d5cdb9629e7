"""Webhook delivery: Stripe's signature scheme and a background dispatcher.

Events are sent from one thread, oldest first, never inside the request that
caused them. A failed attempt (non-2xx or no answer) is retried after the
next of `retry_delays` without holding back newer events. A harness that
rewinds the stand-in's state pauses the dispatcher first (dropping every
queued attempt and retry) and resumes it after.
"""

import heapq
import hmac
import itertools
import logging
import threading
import time
from datetime import UTC, datetime
from hashlib import sha256

import httpx

log = logging.getLogger(__name__)
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
TICK_SECONDS = 0.5


def signature_header(body: bytes, secret: str, timestamp: int) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`, as Stripe signs."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def http_deliver(url: str, body: bytes, headers: dict) -> int:
    """POST the event with httpx; redirects are not followed, as Stripe does not."""
    response = httpx.post(url, content=body, headers=headers, timeout=10, follow_redirects=False, trust_env=False)
    return response.status_code


class Dispatcher:
    """A queue of webhook attempts served by one daemon thread."""

    def __init__(self, url, secret, deliver=None, retry_delays=(1, 2, 4, 8, 16), tick=None):
        self.url, self.secret = url, secret
        self.deliver = deliver or http_deliver
        self.enabled = bool(url or deliver)
        self.retry_delays = tuple(retry_delays)
        self.tick = tick
        self._log: list[dict] = []
        self._queue: list[tuple] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._busy = False
        self._paused = False
        self._stopped = False
        self._next_tick = 0.0
        self._thread = threading.Thread(target=self._run, name="stripe-standin-dispatcher", daemon=True)

    def start(self) -> None:
        """Start the delivery thread."""
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Stop the thread; queued attempts are dropped."""
        with self._cv:
            self._stopped = True
            self._cv.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        """Whether the delivery thread is running."""
        return self._thread.is_alive()

    def pause(self, timeout: float = 30) -> None:
        """Stop sending: wait for the attempt under way, then drop every queued attempt and retry."""
        with self._cv:
            self._paused = True
            if not self._cv.wait_for(lambda: not self._busy, timeout):
                raise RuntimeError(f"a webhook attempt was still under way after {timeout} s")
            self._queue.clear()
            self._cv.notify_all()

    def resume(self, log: list[dict] | None = None) -> None:
        """Send again from an empty queue, the delivery log replaced by `log` (when given)."""
        with self._cv:
            self._queue.clear()
            if log is not None:
                self._log = [dict(entry) for entry in log]
            self._paused = False
            self._cv.notify_all()

    def enqueue(self, event_id: str, event_type: str, body: bytes, attempt=1, delay=0.0):
        """Queue one delivery attempt of an event."""
        with self._cv:
            due = time.monotonic() + delay
            heapq.heappush(self._queue, (due, next(self._seq), event_id, event_type, body, attempt))
            self._cv.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or being sent; False if `timeout` passed first."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._queue and not self._busy, timeout)

    def deliveries(self) -> list[dict]:
        """The delivery log, oldest first."""
        with self._cv:
            return [dict(entry) for entry in self._log]

    def _run(self) -> None:
        """Send due attempts and run the periodic tick until stopped."""
        while (job := self._next()) is not None:
            if job == "tick":
                self._tick()
            else:
                self._attempt(job)

    def _next(self):
        """The next due attempt, "tick" when the tick is due, or None once stopped (nothing while paused)."""
        with self._cv:
            while not self._stopped:
                if self._paused:
                    self._cv.wait()
                    continue
                now = time.monotonic()
                if self._queue and self._queue[0][0] <= now:
                    self._busy = True
                    return heapq.heappop(self._queue)
                if self.tick and now >= self._next_tick:
                    self._next_tick = now + TICK_SECONDS
                    return "tick"
                deadlines = [self._queue[0][0]] if self._queue else []
                deadlines += [self._next_tick] if self.tick else []
                self._cv.wait(max(0.0, min(deadlines) - now) if deadlines else None)
            return None

    def _tick(self) -> None:
        """Run the periodic job (expiring overdue Checkout Sessions)."""
        try:
            self.tick()
        except Exception:  # the thread must outlive a failing tick
            log.exception("stripe stand-in: periodic tick failed")

    def _attempt(self, job: tuple) -> None:
        """POST one signed attempt, log it, and schedule a retry if it failed."""
        _, _, event_id, event_type, body, attempt = job
        status, error = None, None
        try:
            status = int(self.deliver(self.url, body, self._headers(body)))
        except Exception as exc:  # noqa: BLE001 - any transport failure is a failed attempt
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        with self._cv:
            self._log.append(
                {
                    "event_id": event_id,
                    "type": event_type,
                    "attempt": attempt,
                    "status_code": status,
                    "error": error,
                    "at": datetime.now(UTC).isoformat(),
                }
            )
            if not ok and attempt <= len(self.retry_delays):
                due = time.monotonic() + self.retry_delays[attempt - 1]
                job = (due, next(self._seq), event_id, event_type, body, attempt + 1)
                heapq.heappush(self._queue, job)
            self._busy = False
            self._cv.notify_all()

    def _headers(self, body: bytes) -> dict:
        """Stripe's webhook headers, signed now."""
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Accept": "*/*; q=0.5, application/xml",
            "Cache-Control": "no-cache",
            "Stripe-Signature": signature_header(body, self.secret, int(time.time())),
        }
