"""A lean request: the cheaper per-request steps do exactly what the costlier ones did."""

import gc
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import jsonify, request
from itsdangerous import URLSafeTimedSerializer
from limits.storage import MemoryStorage
from psycopg import pq
from sqlalchemy import event, inspect, select, update

from support.apps import make_app
from support.settings import TEST_DATABASE_URL
from tokenapp.api.parsing import BadRequest
from tokenapp.extensions import db
from tokenapp.models import TokenAccount, User, UserSession
from tokenapp.ratelimits import EXTENSION_KEY, Counts, SweptMemoryStorage
from tokenapp.security import CONTENT_SECURITY_POLICY
from tokenapp.services import charges, ledger, sessions


def _cookie_ids(client) -> tuple[str, str]:
    with client.session_transaction() as cookie:
        return cookie["_user_id"], cookie["sid"]


def test_the_signed_in_user_is_loaded_as_the_orm_would_load_it(app, client, user):
    user_id, session_id = _cookie_ids(client)
    dismissed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with app.app_context():
        loaded = sessions.user_for(user_id, session_id)
        assert loaded.email == user and loaded.id == int(user_id) and loaded.created_at.tzinfo is not None
        state = inspect(loaded)
        assert state.persistent and not state.modified and not db.session.dirty
        assert db.session.get(User, loaded.id) is loaded
        assert sessions.user_for(user_id, session_id) is loaded
        loaded.welcome_dismissed_at = dismissed
        db.session.commit()
        db.session.remove()
    with app.app_context():
        assert db.session.get(User, int(user_id)).welcome_dismissed_at == dismissed
        db.session.remove()


def test_no_user_without_the_live_session_record(app, client, user):
    user_id, session_id = _cookie_ids(client)
    with app.app_context():
        assert sessions.user_for(str(int(user_id) + 1), session_id) is None
        assert sessions.user_for(user_id, session_id + "x") is None
        assert sessions.user_for(user_id, None) is None
        too_old = datetime.now(UTC) - app.config["PERMANENT_SESSION_LIFETIME"] - timedelta(minutes=1)
        db.session.execute(update(UserSession).where(UserSession.id == session_id).values(created_at=too_old))
        db.session.commit()
        assert sessions.user_for(user_id, session_id) is None
        db.session.remove()
    assert client.get("/api/tokens/balance").status_code == 401


def _timers_started_by(storage_class, monkeypatch) -> int:
    started = []
    real_start = threading.Timer.start
    monkeypatch.setattr(threading.Timer, "start", lambda timer: (started.append(timer), real_start(timer))[1])
    storage = storage_class()
    started.clear()
    for number in range(5):
        storage.incr(f"key{number}", 60)
        time.sleep(0.03)
    return len(started)


def test_in_memory_limits_start_no_thread_per_hit(monkeypatch):
    assert _timers_started_by(MemoryStorage, monkeypatch) >= 4
    assert _timers_started_by(SweptMemoryStorage, monkeypatch) == 0


def test_in_memory_limits_still_count_expire_and_sweep(monkeypatch):
    storage = SweptMemoryStorage()
    assert [storage.incr("user:1", 0.2) for _ in range(3)] == [1, 2, 3]
    time.sleep(0.25)
    assert storage.get("user:1") == 0
    monkeypatch.setattr(SweptMemoryStorage, "SWEEP_EVERY_SECONDS", 0.0)
    swept = SweptMemoryStorage()
    swept.incr("user:2", 0.05)
    time.sleep(0.06)
    assert set(swept.storage) == {"user:2"}
    swept.incr("user:3", 60)
    assert set(swept.storage) == {"user:3"}


def test_the_app_counts_in_swept_memory_without_redis(database_urls):
    app = make_app(database_urls["sqlite"], RATELIMIT_ENABLED=True, REDIS_URL="")
    assert isinstance(app.extensions[EXTENSION_KEY].storage, SweptMemoryStorage)


def test_a_tiny_json_answer_is_not_compressed_but_varies_on_encoding(client):
    answer = client.get("/healthz", headers={"Accept-Encoding": "gzip, br"})
    assert answer.content_length < 500 and "Content-Encoding" not in answer.headers
    assert "Accept-Encoding" in answer.headers["Vary"]
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in page.headers["Vary"]


def test_security_headers_keep_a_view_s_own_and_fill_the_rest(app):
    app.add_url_rule(
        "/own-headers",
        "own_headers",
        lambda: (
            jsonify(ok=True),
            200,
            {"X-Frame-Options": "SAMEORIGIN", "Vary": "Origin", "Cache-Control": "max-age=60"},
        ),
    )
    headers = app.test_client().get("/own-headers", headers={"Accept-Encoding": "gzip"}).headers
    assert headers["X-Frame-Options"] == "SAMEORIGIN" and headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Vary"].startswith("Origin, Accept-Encoding")


def test_a_control_character_in_a_read_header_is_named(api):
    answer = api.get("/api/tokens/balance", headers={"Idempotency-Key": "a\x01b"})
    assert answer.status_code == 400
    assert answer.get_json() == {
        "error": "invalid_request",
        "message": "The Idempotency-Key header contains control characters or invalid Unicode.",
    }


class Wire:
    """What the app sends PostgreSQL: libpq's own trace of every connection the pool makes, until `close`
    (a test app's engine serves the worker's later tests too: `support.apps`)."""

    def __init__(self, engine):
        self.connections = []
        self.engine = engine
        engine.dispose()
        event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_connection, _record) -> None:
        self.connections.append(dbapi_connection)

    def close(self) -> None:
        event.remove(self.engine, "connect", self._connected)

    def round_trips(self, request) -> list[str]:
        """The messages sent during `request()` that each wait for an answer: a simple `Query`
        (BEGIN, COMMIT, ROLLBACK, an empty ping) or the `Sync` closing one statement's exchange."""
        with tempfile.TemporaryFile("w+") as trace:
            for connection in self.connections:
                connection.pgconn.trace(trace.fileno())
                connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            try:
                request()
            finally:
                for connection in self.connections:
                    connection.pgconn.untrace()
            trace.seek(0)
            sent = [line.split("\t") for line in trace.read().splitlines() if line.startswith("F\t")]
        return [
            fields[3].strip() if fields[2] == "Query" else "Sync" for fields in sent if fields[2] in ("Query", "Sync")
        ]


@pytest.mark.parametrize("backend", ["postgresql"] if TEST_DATABASE_URL else [])
def test_a_deduct_is_a_ping_its_user_load_then_one_call_that_is_its_transaction(request, app, api):
    """The pooled connection's ping; the user's load outside a transaction; then the charge INSERT, the account
    UPDATE, the lot UPDATE (ledger v2) and the row INSERT in one call of `tokenapp_charge`, as its own transaction
    (migration 0009): three round trips where BEGIN, four statements and COMMIT took six."""
    with app.app_context():
        wire = Wire(db.engine)
    request.addfinalizer(wire.close)
    assert api.deduct("ats_check").status_code == 201  # on a new connection, which is never pinged
    answers = []
    assert wire.round_trips(lambda: answers.append(api.deduct("ats_check"))) == [
        '";"',
        "Sync",
        "Sync",
    ]
    assert answers[0].status_code == 201
    assert wire.round_trips(lambda: answers.append(api.get("/api/tokens/balance"))) == ['";"', "Sync", "Sync"]
    assert answers[1].get_json()["balance"] == 10 - 2 * 4


@pytest.mark.parametrize("backend", ["sqlite"])
def test_on_sqlite_a_charge_is_one_write_transaction_and_nothing_before_it(app, uid):
    """SQLite has no `tokenapp_charge`: the charge takes its Python path without first opening a transaction
    that the write transaction would then have to commit (an empty BEGIN and COMMIT before BEGIN IMMEDIATE)."""
    sent: list[str] = []

    def trace(dbapi_connection, _record, _proxy):
        dbapi_connection.set_trace_callback(sent.append)

    db.session.remove()
    event.listen(db.engine, "checkout", trace)
    try:
        assert charges.charge(uid, "ats_check").balance == 6
    finally:
        event.remove(db.engine, "checkout", trace)
        db.session.remove()
    words = [statement.split()[0].upper() for statement in sent]
    assert words[0:2] == ["BEGIN", "INSERT"] and sent[0] == "BEGIN IMMEDIATE"
    assert words.count("BEGIN") == 1 and words.count("COMMIT") == 1 and words[-1] == "COMMIT"


@pytest.mark.parametrize("backend", ["postgresql"] if TEST_DATABASE_URL else [])
def test_a_read_inside_an_open_transaction_sees_its_writes(app, user):
    with app.app_context():
        user_id = db.session.execute(select(User.id).where(User.email == user)).scalar_one()
        before = ledger.balance_of(user_id).balance
        db.session.execute(
            update(TokenAccount).where(TokenAccount.user_id == user_id).values(balance=TokenAccount.balance + 5)
        )
        assert ledger.balance_of(user_id).balance == before + 5
        db.session.rollback()
        assert ledger.balance_of(user_id).balance == before
        assert db.session.connection().connection.dbapi_connection.autocommit is False
        db.session.remove()


def test_api_answers_set_no_cookie(api):
    for answer in (api.deduct(), api.get("/api/tokens/balance")):
        assert answer.status_code in (200, 201) and "Set-Cookie" not in answer.headers


def test_the_app_remembers_sync_hooks_without_keeping_them_alive(app):
    def per_request_hook(response):
        return response

    assert app.ensure_sync(per_request_hook) is per_request_hook
    assert app.ensure_sync(per_request_hook) is per_request_hook
    assert len(app._known_sync) >= 1
    before = len(app._known_sync)
    del per_request_hook
    gc.collect()
    assert len(app._known_sync) == before - 1


def test_only_limited_views_consult_the_limiter(database_urls, monkeypatch):
    checked = []
    monkeypatch.setattr(Counts, "hit", lambda self, item, key, scope: checked.append(scope) or True)
    app = make_app(database_urls["sqlite"], RATELIMIT_ENABLED=True, REDIS_URL="")
    assert app.test_client().get("/healthz").status_code == 200
    assert checked == []
    app.test_client().post("/api/tokens/deduct")
    assert checked == []  # anonymous: refused before the view
    with app.test_request_context("/api/tokens/deduct", method="POST"), pytest.raises(BadRequest):
        app.view_functions["api.deduct"]()  # the limit is checked, then the missing body refused
    assert checked == ["deductions_per_user"]


def test_a_remembered_session_cookie_is_still_checked_for_expiry_tampering_and_key(app, client, user, monkeypatch):
    name = app.config["SESSION_COOKIE_NAME"]
    assert client.get("/").status_code == 200  # shows (and so drops) the sign-up's flashed message
    cookie = client.get_cookie(name).value
    interface = app.session_interface
    verified = []
    real_loads = URLSafeTimedSerializer.loads
    monkeypatch.setattr(
        URLSafeTimedSerializer, "loads", lambda *args, **kwargs: (verified.append(1), real_loads(*args, **kwargs))[1]
    )

    def opened(value, at=None):
        if at is not None:
            monkeypatch.setattr(time, "time", lambda: at)
        with app.test_request_context("/", headers={"Cookie": f"{name}={value}"}):
            return dict(interface.open_session(app, request))

    first = opened(cookie)
    assert first["sid"] and first["_user_id"] and "_flashes" not in first and len(verified) == 1
    assert [opened(cookie) for _ in range(3)] == [first] * 3 and len(verified) == 1
    assert opened(cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB")) == {}
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    real_time = time.time()
    assert opened(cookie, at=real_time + lifetime - 60) == first
    assert opened(cookie, at=real_time + lifetime + 60) == {}
    assert opened(cookie, at=real_time - 3600) == {}
    monkeypatch.setattr(time, "time", lambda: real_time)
    app.secret_key = "another key"
    assert opened(cookie) == {}


def test_a_remembered_session_is_copied_and_nested_values_are_not_remembered(app, client, user):
    name = app.config["SESSION_COOKIE_NAME"]
    with_flash = client.get_cookie(name).value
    assert client.get("/").status_code == 200
    plain = client.get_cookie(name).value
    interface = app.session_interface
    with app.test_request_context("/", headers={"Cookie": f"{name}={plain}"}):
        opened = interface.open_session(app, request)
        opened["sid"] = "changed"
        opened.setdefault("_flashes", []).append(("message", "hello"))
        again = interface.open_session(app, request)
        assert again["sid"] not in ("changed", None) and "_flashes" not in again
    with app.test_request_context("/", headers={"Cookie": f"{name}={with_flash}"}):
        assert interface.open_session(app, request)["_flashes"]
    assert [key[0] for key in interface._verified] == [plain]
