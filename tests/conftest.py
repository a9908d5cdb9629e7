"""Fixtures: an app per test on each database backend, built from explicit settings.

SQLite always runs. PostgreSQL runs when TEST_DATABASE_URL is set; under
CI=true it must be set and reachable, or the run stops with an error.

Every app is built from `support.settings.app_environ()`, never from the
process environment or a `.env`. Each database is migrated and seeded once per
process and put back to that state before every test (`support.apps`). Under
pytest-xdist (`-n 3`) each worker has a PostgreSQL database of its own,
`<TEST_DATABASE_URL's database>_gw0`, ... (created and dropped here), and the
tests that use Redis or the browser run on one worker each (`xdist_group`).
"""

import threading

import pytest
from sqlalchemy.engine import make_url

from support.apps import SeededDatabase, create_database, drop_database, empty_schema, make_app, psycopg_url
from support.openai import FakeOpenAI
from support.settings import IN_CI, TEST_DATABASE_URL, TEST_REDIS_URL
from support.standin import StandinServer
from support.web import Api, AuthActions
from tokenapp.extensions import db
from tokenapp.jobs import queue, schedule
from tokenapp.services import accounts

BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])
# Tests using these fixtures share one resource (a Redis database, one browser's live server): one worker runs them.
GROUPED_FIXTURES = {"redis_url": "redis"}
# The longest tests (seconds each on a quiet 2-core machine, about), started first: pytest-xdist hands out
# the groups (largest first), then single tests in collection order, so a long test left for the end would
# run alone on one worker while the other sits idle.
LONG_TESTS = {
    "tests/test_newcomer.py::test_make_run_on_a_fresh_copy_serves_and_registers": 50,
    "tests/test_ledger_properties.py::test_ledger_state_machine": 25,
    "tests/test_tooling.py::test_mypy_checks_stripe_params_against_the_sdk_typeddicts": 20,
    "tests/test_upload_limits.py::test_crafted_uploads_answer_fast_while_others_are_served_and_runs_end_refunded": 15,
    "tests/test_openapi.py::test_api_keeps_to_its_document_under_fuzzing": 15,
    "tests/test_secrets.py::test_concurrent_first_starts_end_with_one_key": 14,
    "tests/test_hermetic.py::test_a_hostile_dotenv_and_shell_change_no_test_result": 12,
    "tests/test_hostile_forms.py::test_hostile_strings_in_every_form_field": 10,
    "tests/test_suite_rules.py::test_under_ci_a_skipped_test_fails_on_xdist_workers_too": 10,
    "tests/test_sessions.py::test_unknown_and_known_emails_cost_the_same": 8,
    "tests/test_product_imports.py::test_a_gunicorn_worker_holds_no_standin_module": 6,
    "tests/test_ai_engine.py::test_output_does_not_depend_on_hash_seed": 5,
}
# Tests that mostly wait (sleeps, retries, periods), spread evenly through the short tests: in collection order they
# came in runs (a file's tests together, both backends of each), so two or three workers waited at once, near the end.
WAITING_TESTS = {
    "tests/test_jobs.py::test_two_running_schedulers_run_a_job_once_per_period",
    "tests/test_rate_limits.py::test_the_right_password_works_again_after_the_window",
    "tests/test_features.py::test_openai_provider_runs_the_prompt_file_and_refunds_on_outage",
    "tests/test_webhooks.py::test_failed_event_is_recorded_and_replayable",
    "tests/test_jobs.py::test_without_redis_the_in_process_scheduler_sweeps_with_no_visit",
}


def pytest_configure(config):
    if IN_CI and not TEST_DATABASE_URL:
        raise pytest.UsageError("CI=true needs TEST_DATABASE_URL: the PostgreSQL leg may not be skipped")


def _test_name(item) -> str:
    """A test's node id without its parameters (`LONG_TESTS` and `WAITING_TESTS` name tests so)."""
    return item.nodeid.split("[")[0]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads xdist_group to place each test
def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, group in GROUPED_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: -LONG_TESTS.get(_test_name(item), 0))  # stable: the rest keep their order
    waiting = [item for item in items if _test_name(item) in WAITING_TESTS]
    ordered = [item for item in items if _test_name(item) not in WAITING_TESTS]
    step = len(ordered) // (len(waiting) + 2)  # none among the longest tests, nor in the last stretch
    for number, item in enumerate(waiting, 1):
        ordered.insert(number * step + number - 1, item)
    items[:] = ordered


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skipped test is a failed one: nothing may be silently left out."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which is not allowed: {report.longrepr}"


def _worker(config) -> str | None:
    """This process's xdist worker id (gw0, gw1, ...), or None when the tests run in one process."""
    workerinput = getattr(config, "workerinput", None)
    return workerinput["workerid"] if workerinput else None


_REPORTED_SCHEDULERS: set[threading.Thread] = set()


@pytest.fixture(autouse=True)
def no_scheduler_outlives_its_test():
    """A scheduler thread left running ticks on in later tests: it takes connections from their shared engine
    (a disposed pool then drops them open, a ResourceWarning in whichever test the collector runs) and runs
    periodic jobs in their databases. Torn down after every other fixture of the test, so it sees what they left."""
    yield
    left = {thread for thread in threading.enumerate() if thread.name == schedule.SCHEDULER_THREAD}
    new = left - _REPORTED_SCHEDULERS
    _REPORTED_SCHEDULERS.update(new)  # one failure, in the test that left it, not in every test after
    assert not new, "a scheduler thread outlived its test: stop it (schedule.stop_in_process)"


@pytest.fixture(scope="session")
def seeded_databases(request, tmp_path_factory):
    """Each backend's database, migrated and seeded once for this process."""
    databases = {"sqlite": SeededDatabase(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")}
    worker = _worker(request.config)
    own_database = None
    if TEST_DATABASE_URL:
        if worker:
            own_database = f"{make_url(TEST_DATABASE_URL).database}_{worker}"
            databases["postgresql"] = SeededDatabase(create_database(TEST_DATABASE_URL, own_database))
        else:
            databases["postgresql"] = SeededDatabase(psycopg_url(TEST_DATABASE_URL))
            empty_schema(databases["postgresql"].url)
    for database in databases.values():
        database.build()
    yield databases
    if own_database:
        drop_database(TEST_DATABASE_URL, own_database)


@pytest.fixture(scope="session")
def database_urls(seeded_databases):
    """Each backend's URL, its schema built by the Alembic migrations."""
    return {backend: database.url for backend, database in seeded_databases.items()}


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The name of the database backend under test."""
    return request.param


@pytest.fixture
def seeded_database(backend, seeded_databases):
    """The backend's database, to put back to the seeded state (`app` does so itself)."""
    return seeded_databases[backend]


@pytest.fixture
def app(request, seeded_database):
    """A fresh app on freshly seeded tables; the ledger invariant is checked after the test."""
    from tokenapp.services.audit import find_problems

    app = make_app(seeded_database.url)
    seeded_database.reset_with(app)
    yield app
    queue.finish_in_process(app)  # a feature run still under way ends before the audit and the next test
    with app.app_context():
        problems = [] if request.node.get_closest_marker("tampers_ledger") else find_problems()
        db.session.remove()
        db.engine.dispose()
    assert problems == [], "ledger invariant broken after the test"


@pytest.fixture
def ctx(app):
    """An app context for service-level tests; yields the app."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def uid(ctx):
    """A registered user (with the welcome bonus: a bonus lot expiring after BONUS_TOKEN_EXPIRY_DAYS); their id."""
    return accounts.register("lin@example.com", "password123").id


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def user(auth):
    """A signed-up, signed-in user (10 welcome tokens)."""
    response = auth.register()
    assert response.status_code == 302
    return "ada@example.com"


@pytest.fixture
def api(client, user):
    return Api(client)


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


@pytest.fixture(scope="session")
def standin_server(seeded_databases):
    """This process's offline Stripe stand-in, synced once (on the SQLite database, put back after) and checkpointed."""
    server = StandinServer.synced(seeded_databases["sqlite"])
    yield server
    server.close()


@pytest.fixture
def stripe_standin(app, standin_server):
    """The offline Stripe stand-in for this test's app, with products and prices set up in it.

    It is this process's one stand-in rewound to just after its first `stripe_setup.sync()`, and the
    ids that sync stored written into this test's database (`support.standin`).
    """
    standin = standin_server.attach(app)
    yield standin
    standin.close()


@pytest.fixture
def fake_openai():
    """A scripted OpenAI-compatible server on loopback."""
    server = FakeOpenAI()
    yield server
    server.stop()


@pytest.fixture
def redis_url(request):
    """TEST_REDIS_URL's database, emptied before and after; fails under CI when Redis is missing, else skips."""
    from redis import Redis
    from redis.exceptions import RedisError

    if _worker(request.config) and request.config.getvalue("dist") == "loadgroup":
        # pytest-xdist marks a grouped test's id; without the mark two workers could empty Redis under each other.
        assert request.node.nodeid.endswith("@redis"), "the Redis tests are not grouped on one xdist worker"

    connection = Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except RedisError as error:
        if IN_CI:
            pytest.fail(f"CI=true needs Redis at {TEST_REDIS_URL}: {error}")
        pytest.skip(f"no Redis at {TEST_REDIS_URL}")
    connection.flushdb()
    yield TEST_REDIS_URL
    connection.flushdb()
    connection.close()
