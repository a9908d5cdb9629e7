"""Waiting for something to happen, with a deadline and a message that says what did not."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
UNFINISHED_RUN = ("queued", "running")


def wait_until(condition: Callable[[], T], seconds: float, what: str | Callable[[], str], interval: float = 0.05) -> T:
    """Call `condition` until it returns something true (returned) or `seconds` pass (AssertionError naming `what`)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what() if callable(what) else what}")
        time.sleep(interval)


def finished_run(read_json: Callable[[str], dict], run_id, seconds: float) -> dict:
    """Poll a feature run through `read_json(path)` until it is neither queued nor running; its last body."""
    last: dict = {}

    def finished():
        last.clear()
        last.update(read_json(f"/api/features/runs/{run_id}"))
        return dict(last) if last["status"] not in UNFINISHED_RUN else None

    return wait_until(finished, seconds, lambda: f"run {run_id} to finish (still {last.get('status')})")


def wait_for_run(api, run_id, seconds: float = 15) -> dict:
    """A feature run's body once finished, read with the test client of `api`."""
    return finished_run(lambda path: api.get(path).get_json(), run_id, seconds)


def run_status(browser, base: str, run_id, seconds: float = 30) -> dict:
    """A feature run's body once finished, read over HTTP with `browser` (a requests or httpx session) at `base`."""
    return finished_run(lambda path: browser.get(f"{base}{path}").json(), run_id, seconds)
