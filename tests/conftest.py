"""Fixtures: one app per test on each database backend, migrated once per run.

SQLite always runs. PostgreSQL runs when TEST_DATABASE_URL is set; under
CI=true it must be set and reachable, or the run stops with an error.
"""

import os
import re
import secrets

import pytest

os.environ["TOKENAPP_ENV"] = "testing"
for _name in ("DATABASE_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "AI_PROVIDER"):
    os.environ.pop(_name, None)
# Given here so that no test writes generated secrets into the repository's instance/.
os.environ["SECRET_KEY"] = secrets.token_urlsafe(32)
os.environ["STRIPE_WEBHOOK_SECRET"] = "whsec_test_" + secrets.token_hex(16)
# Tests that are not about limits sign up and log in freely; tests/test_rate_limits.py turns them on.
os.environ["RATE_LIMITS"] = "off"

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from tokenapp import MIGRATIONS_DIR, create_app  # noqa: E402
from tokenapp.extensions import db  # noqa: E402
from tokenapp.services import catalog  # noqa: E402

pytest_plugins = ["stripe_support"]

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
PASSWORD = "correct-horse-battery"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def pytest_configure(config):
    if IN_CI and not PG_URL:
        raise pytest.UsageError("CI=true needs TEST_DATABASE_URL: the PostgreSQL leg may not be skipped")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skipped test is a failed one: nothing may be silently left out."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which is not allowed: {report.longrepr}"


def _pg_url(url: str) -> str:
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)


def _migrate(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    """Each backend's URL, its schema built by the Alembic migrations."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"}
    if PG_URL:
        urls["postgresql"] = _pg_url(PG_URL)
        engine = create_engine(urls["postgresql"])
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    for url in urls.values():
        _migrate(url)
    return urls


def _empty_tables() -> None:
    tables = [table.name for table in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


def make_app(url: str, **overrides):
    """An app on `url` with test settings."""
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 40, "max_overflow": 20, "pool_timeout": 60},
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The name of the database backend under test."""
    return request.param


@pytest.fixture
def app(request, backend, database_urls):
    """A fresh app on empty, seeded tables; the ledger invariant is checked after the test."""
    from tokenapp.services.audit import find_problems

    app = make_app(database_urls[backend])
    with app.app_context():
        _empty_tables()
        catalog.seed()
        db.session.remove()
    yield app
    with app.app_context():
        problems = [] if request.node.get_closest_marker("tampers_ledger") else find_problems()
        db.session.remove()
        db.engine.dispose()
    assert problems == [], "ledger invariant broken after the test"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client) -> str:
    """The CSRF token a page gives this client's session."""
    page = client.get("/")
    match = CSRF_META.search(page.get_data(as_text=True))
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


class AuthActions:
    """Sign up and log in through the real forms, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def register(self, email="ada@example.com", password=PASSWORD, **extra):
        token = csrf_token(self.client)
        return self.client.post("/auth/register", data={"email": email, "password": password,
                                                         "csrf_token": token, **extra})

    def login(self, email="ada@example.com", password=PASSWORD):
        token = csrf_token(self.client)
        return self.client.post("/auth/login", data={"email": email, "password": password, "csrf_token": token})

    def logout(self):
        token = csrf_token(self.client)
        return self.client.post("/auth/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


class Api:
    """JSON calls with the session's CSRF header."""

    def __init__(self, client):
        self.client = client
        self._token = None

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = csrf_token(self.client)
        return self._token

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path, json=None, headers=None, **kwargs):
        headers = {"X-CSRFToken": self.token, **(headers or {})}
        return self.client.post(path, json=json, headers=headers, **kwargs)

    def deduct(self, feature_key="cover_letter", **body):
        return self.post("/api/tokens/deduct", json={"feature_key": feature_key, **body})

    def balance(self) -> int:
        return self.get("/api/tokens/balance").get_json()["balance"]


@pytest.fixture
def user(auth):
    """A signed-up, signed-in user (10 welcome tokens)."""
    response = auth.register()
    assert response.status_code == 302
    return "ada@example.com"


@pytest.fixture
def api(client, user):
    return Api(client)


def user_id(app, email: str) -> int:
    from tokenapp.services.accounts import find_by_email

    with app.app_context():
        return find_by_email(email).id


@pytest.fixture
def audit(app):
    """Assert the ledger invariant for every account."""
    from tokenapp.services.audit import find_problems

    def check():
        with app.app_context():
            problems = find_problems()
            db.session.remove()
        assert problems == []

    return check


def run_threads(*targets) -> None:
    """Start a thread per target and wait for them all."""
    import threading

    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def clone_client(app, client):
    """A new test client sharing `client`'s logged-in session."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other
