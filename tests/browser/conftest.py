"""Browser tests: Chromium (Playwright's sync API) against the real app, served live.

One live app on SQLite and one offline Stripe stand-in serve this package's
tests (their webhooks reach the app over HTTP, as Stripe's would); every test
gets a fresh browser context and signs up its own user. The ledger invariant
is checked after every test and once more when the servers stop, before the
rest of the suite reuses the database.

Chromium is Debian's (/usr/bin/chromium); Playwright's own browser download is
never used. Without Chromium or Playwright the tests skip locally; under
CI=true that is an error, never a skip.
"""

import os
import shutil
from pathlib import Path

import pytest

from stripe_standin import create_standin_app, serve_in_thread
from support.apps import SeededDatabase, make_app
from support.settings import CHROMIUM_ARGS, CHROMIUM_PATH, IN_CI
from tokenapp.extensions import db
from tokenapp.services import stripe_setup
from tokenapp.services.audit import find_problems

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # reported by MISSING below
    sync_playwright = None

TIMEOUT_MS = 10_000
EXPECT_TIMEOUT_MS = 5_000
DESKTOP = {"width": 1280, "height": 800}


def _chromium_path() -> str | None:
    """CHROMIUM_PATH if set, else Debian's /usr/bin/chromium, else `chromium` on PATH."""
    if CHROMIUM_PATH:
        return CHROMIUM_PATH if os.path.exists(CHROMIUM_PATH) else None
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _missing() -> str | None:
    if sync_playwright is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if _chromium_path() is None:
        return "Chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)"
    return None


MISSING = _missing()
if MISSING and IN_CI:
    raise pytest.UsageError(f"CI=true needs the browser tests, but {MISSING}")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads xdist_group to place each test
def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))  # one live server and one Chromium, on one worker
            if MISSING:
                item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {MISSING}"))


class LiveServer:
    """The app and the Stripe stand-in, each served from a thread on loopback."""

    def __init__(self, database: SeededDatabase):
        self.app = make_app(database.url)
        database.reset_with(self.app)
        self.handle = serve_in_thread(self.app)
        self.url = self.handle.url
        self.app.config["APP_BASE_URL"] = self.url
        standin = create_standin_app(
            f"{self.url}/api/stripe/webhooks",
            self.app.config["STRIPE_WEBHOOK_SECRET"],
            retry_delays=(0.05, 0.1, 0.2, 0.4, 0.8),
        )
        self.standin = serve_in_thread(standin)
        self.app.config["STRIPE_API_BASE"] = self.standin.url
        with self.app.app_context():
            stripe_setup.sync()
            db.session.remove()
        self.wait_for_webhooks()

    def wait_for_webhooks(self) -> None:
        """Block until the stand-in has delivered every webhook (and retry)."""
        assert self.standin.state.dispatcher.wait_idle(20), "stand-in webhooks did not drain"

    def ledger_problems(self) -> list[str]:
        with self.app.app_context():
            problems = find_problems()
            db.session.remove()
        return problems

    def close(self) -> None:
        self.standin.shutdown()
        self.handle.shutdown()
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="package")
def live_server(seeded_databases):
    """The live app on SQLite with the stand-in wired in; the ledger is audited at the end."""
    if MISSING:
        pytest.skip(MISSING)
    server = LiveServer(seeded_databases["sqlite"])
    yield server
    server.wait_for_webhooks()
    problems = server.ledger_problems()
    server.close()
    assert problems == [], "ledger invariant broken by the browser tests"


@pytest.fixture(autouse=True)
def _ledger_audit(request):
    """After each browser test: webhooks drained and the ledger invariant holds."""
    yield
    if "live_server" in request.fixturenames:
        server = request.getfixturevalue("live_server")
        server.wait_for_webhooks()
        assert server.ledger_problems() == [], "ledger invariant broken after the test"


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the browser tests."""
    if MISSING:
        pytest.skip(MISSING)
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=_chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a fresh context (own cookies) at a given viewport; all closed after the test."""
    contexts = []

    def open_page(viewport=None):
        context = browser.new_context(base_url=live_server.url, viewport=viewport or DESKTOP)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A desktop-sized page (1280x800) in its own context."""
    return new_page()
