"""The interface in Chromium: bytes of a first page load, and the time from a click on
a gate's confirm button to the updated balance badge.
Run: .venv/bin/python bench/ui_bench.py  (needs /usr/bin/chromium)
"""

import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ["TOKENAPP_ENV"] = "testing"

from flask_migrate import upgrade  # noqa: E402 - after the set-up above
from playwright.sync_api import expect, sync_playwright  # noqa: E402 - after the set-up above

from stripe_standin import serve_in_thread  # noqa: E402 - after the set-up above
from support.settings import CHROMIUM_ARGS  # noqa: E402 - after the set-up above
from tokenapp import MIGRATIONS_DIR, create_app  # noqa: E402 - after the set-up above
from tokenapp.services import accounts, catalog, ledger  # noqa: E402 - after the set-up above

CLICKS = 30
BUDGET_BYTES = 60 * 1024
# Runs in the page: click confirm, resolve with the milliseconds until the badge shows a new number.
CLICK_TO_BADGE = """() => new Promise(resolve => {
  const before = document.querySelector('#token-balance').textContent.trim();
  const start = performance.now();
  const observer = new MutationObserver(() => {
    const badge = document.querySelector('#token-balance');
    if (badge && badge.textContent.trim() !== before) { observer.disconnect(); resolve(performance.now() - start); }
  });
  observer.observe(document.querySelector('header'), {subtree: true, childList: true, characterData: true});
  document.querySelector('#token-gate-dialog [data-action=confirm]').click();
})"""


def start_app(tmp: str):
    """A migrated, seeded app with one rich user, served on loopback."""
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/ui.db", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    )
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        catalog.seed()
        user = accounts.register("bench@example.com", "password123")
        accounts.dismiss_welcome(user.id)
        ledger.adjust(user.id, 10_000, reason="bench")
    return serve_in_thread(app)


def first_load(browser, url: str, cookies=None) -> tuple[int, int, int]:
    """(requests, encoded bytes, decoded bytes) of one load with an empty cache."""
    context = browser.new_context()
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    finished = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(url, wait_until="networkidle")
    encoded = sum(request.sizes()["responseBodySize"] for request in finished)
    decoded = sum(len(request.response().body()) for request in finished)
    context.close()
    return len(finished), encoded, decoded


def click_to_badge(page, base: str) -> list[float]:
    """Milliseconds from confirm to the new badge value, CLICKS times."""
    page.goto(base + "/test-tokens")
    times = []
    for _ in range(CLICKS):
        page.click('button[data-feature-key="networking_message"]')
        expect(page.locator("#token-gate-dialog [data-action=confirm]")).to_be_visible()
        times.append(page.evaluate(CLICK_TO_BADGE))
        expect(page.locator("#token-gate-dialog")).to_have_count(0)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        server = start_app(tmp)
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server.url + "/auth/login")
        page.fill("#email", "bench@example.com")
        page.fill("#password", "password123")
        page.click("button[type=submit]")
        cookies = page.context.cookies()
        rows = [
            ("/ (signed out)", *first_load(browser, server.url + "/")),
            ("/cover-letter (signed in)", *first_load(browser, server.url + "/cover-letter", cookies)),
            ("/test-tokens (signed in)", *first_load(browser, server.url + "/test-tokens", cookies)),
        ]
        times = click_to_badge(page, server.url)
        browser.close()
        server.shutdown()
    print(f"{'first load':<26}{'requests':>9}{'transferred':>13}{'uncompressed':>14}{'budget':>9}  result")
    for name, count, encoded, decoded in rows:
        verdict = "PASS" if encoded < BUDGET_BYTES else "FAIL"
        print(f"{name:<26}{count:>9}{encoded / 1024:>11.1f}KB{decoded / 1024:>12.1f}KB{'60KB':>9}  {verdict}")
    cuts = statistics.quantiles(times, n=100)
    print(
        f"\nclick on confirm -> badge updated, {CLICKS} runs: p50 {statistics.median(times):.1f} ms, "
        f"p90 {cuts[89]:.1f} ms, max {max(times):.1f} ms (werkzeug threaded server, SQLite)"
    )


if __name__ == "__main__":
    main()
