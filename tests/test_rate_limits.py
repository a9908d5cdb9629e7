"""Rate limits (RELIABILITY 16, 31): logins, sign-ups, checkouts, purchase checks and deductions.

The suite runs with RATE_LIMITS=off (tests/support/settings.py); these tests build their apps
with the limits on, as a deployment has them.
"""

import secrets
import time
import uuid

import pytest
from limits import parse
from limits.storage import MemoryStorage

from support.apps import make_app
from support.settings import app_environ
from support.web import PASSWORD, Api, AuthActions, csrf_token
from tokenapp import create_app, ratelimits
from tokenapp.config import ConfigError, load_settings
from tokenapp.extensions import db

WRONG = "not-the-password"


def limited_app(url: str, rules: dict | None = None, **overrides):
    """An app on `url` with the limits on (and `rules` replacing some of RULES)."""
    return make_app(url, RATELIMIT_ENABLED=True, RATE_LIMIT_RULES=rules or {}, **overrides)


@pytest.fixture
def limits(app, backend, database_urls):
    """Build a limited app on the test database (emptied and seeded by `app`)."""
    made = []

    def build(rules: dict | None = None, **overrides):
        limited = limited_app(database_urls[backend], rules, **overrides)
        made.append(limited)
        return limited

    yield build
    for limited in made:
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()


def client_from(app, address: str):
    """A test client whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def sign_up(app, email: str = "ada@example.com"):
    """A fresh client signed up as `email` (then signed out)."""
    client = app.test_client()
    auth = AuthActions(client)
    assert auth.register(email).status_code == 302
    assert auth.logout().status_code == 302
    return client, auth


def test_the_contract_numbers():
    assert ratelimits.RULES["login_failures_per_account"] == "10 per 15 minutes"
    assert ratelimits.RULES["login_failures_per_address"] == "50 per 15 minutes"
    assert ratelimits.RULES["signups_per_address"] == "20 per hour"


def test_fifty_wrong_passwords_are_limited_and_unknown_emails_alike(limits):
    app = limits()
    client, auth = sign_up(app)
    known = [auth.login(password=WRONG).status_code for _ in range(50)]
    assert known == [422] * 10 + [429] * 40
    locked = auth.login()
    assert locked.status_code == 429
    assert 800 <= int(locked.headers["Retry-After"]) <= 900
    assert b"Too many requests" in locked.data
    assert client.get("/api/tokens/balance").status_code == 401
    unknown = [auth.login(email="nobody@example.com", password=WRONG).status_code for _ in range(50)]
    assert unknown == known


def test_successful_logins_are_not_counted(limits):
    app = limits()
    _, auth = sign_up(app)
    for _ in range(12):
        assert auth.login().status_code == 302
        assert auth.logout().status_code == 302


def test_the_right_password_works_again_after_the_window(limits):
    app = limits({"login_failures_per_account": "10 per 3 seconds"})
    _, auth = sign_up(app)
    started = time.monotonic()
    assert [auth.login(password=WRONG).status_code for _ in range(10)] == [422] * 10
    locked = auth.login()
    assert locked.status_code == 429, f"10 failures took {time.monotonic() - started:.1f}s"
    time.sleep(int(locked.headers["Retry-After"]) + 0.2)
    assert auth.login().status_code == 302


def test_fifty_failures_from_one_address_block_that_address_only(limits):
    app = limits()
    sign_up(app)
    client = app.test_client()
    auth = AuthActions(client)
    statuses = {auth.login(email=f"guess{i}@example.com", password=WRONG).status_code for i in range(50)}
    assert statuses == {422}
    assert auth.login().status_code == 429
    elsewhere = AuthActions(client_from(app, "192.0.2.44"))
    assert elsewhere.login().status_code == 302


def test_sign_up_flood_is_limited(limits):
    app = limits()
    client = app.test_client()
    auth = AuthActions(client)
    for i in range(20):
        assert auth.register(f"new{i}@example.com").status_code == 302
        auth.logout()
    refused = auth.register("one-more@example.com")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    other = AuthActions(client_from(app, "192.0.2.45"))
    assert other.register("one-more@example.com").status_code == 302


def test_deduct_flood_gets_429_json_with_retry_after_and_charges_nothing(limits):
    app = limits({"deductions_per_user": "3 per minute"})
    client = app.test_client()
    AuthActions(client).register()
    api = Api(client)
    assert [api.deduct("job_match_detailed").status_code for _ in range(3)] == [201, 201, 402]
    balance = api.balance()
    refused = api.deduct("job_match_detailed")
    assert refused.status_code == 429
    assert refused.get_json() == {"error": "rate_limited", "message": refused.get_json()["message"]}
    assert "Too many requests" in refused.get_json()["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert api.balance() == balance
    other = app.test_client()
    AuthActions(other).register("bo@example.com")
    assert Api(other).deduct("job_match_detailed").status_code == 201


def test_feature_runs_share_the_deduct_limit_and_answer_htmx_in_place(limits):
    app = limits({"deductions_per_user": "2 per minute"})
    client = app.test_client()
    AuthActions(client).register()
    api = Api(client)
    assert api.deduct("job_match_detailed").status_code == 201
    assert api.deduct("job_match_detailed").status_code == 201
    response = client.post(
        "/features/job_match_detailed/run",
        data={"csrf_token": api.token},
        headers={"HX-Request": "true", "X-CSRFToken": api.token},
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"]
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and "Too many requests" in html and "<html" not in html
    assert api.balance() == 0


def test_checkout_creation_is_limited_per_user_across_form_and_api(limits):
    app = limits({"checkouts_per_user": "3 per 10 minutes"})
    client = app.test_client()
    AuthActions(client).register()
    api = Api(client)
    answers = [api.post("/api/tokens/checkout", json={"package_key": "no_such_pack"}).status_code for _ in range(3)]
    assert answers == [400, 400, 400]
    refused = api.post("/api/tokens/checkout", json={"package_key": "no_such_pack"})
    assert refused.status_code == 429 and refused.get_json()["error"] == "rate_limited"
    page = client.post("/tokens/checkout", data={"csrf_token": api.token, "package_key": "starter"})
    assert page.status_code == 429
    assert b"Too many requests" in page.data and page.headers["Retry-After"]
    assert client.post("/tokens/subscribe", data={"csrf_token": api.token}).status_code == 429


def test_purchase_checks_are_limited_per_user(limits):
    app = limits({"purchase_checks_per_user": "4 per minute"})
    client = app.test_client()
    AuthActions(client).register()
    assert [client.get("/tokens/purchases/999999/status").status_code for _ in range(3)] == [404] * 3
    assert client.get("/tokens/success").status_code != 429
    polled = client.get("/tokens/purchases/999999/status", headers={"HX-Request": "true"})
    assert polled.status_code == 429
    assert b'role="alert"' in polled.data and b"<html" not in polled.data
    assert client.get("/tokens/success?session_id=cs_test_x").status_code == 429


def test_rate_limits_off_disables_every_limit(app):
    assert app.config["RATELIMIT_ENABLED"] is False
    assert ratelimits.EXTENSION_KEY not in app.extensions
    client = app.test_client()
    auth = AuthActions(client)
    auth.register()
    auth.logout()
    assert {auth.login(password=WRONG).status_code for _ in range(15)} == {422}
    assert auth.login().status_code == 302


PRODUCTION = {
    "TOKENAPP_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "STRIPE_SECRET_KEY": "sk_test_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
}


def test_production_refuses_rate_limits_off(tmp_path):
    with pytest.raises(ConfigError, match="RATE_LIMITS=off is refused in production"):
        load_settings({**PRODUCTION, "RATE_LIMITS": "off"}, instance_path=str(tmp_path))
    with pytest.raises(ConfigError, match="RATE_LIMITS must be on or off"):
        load_settings({"RATE_LIMITS": "maybe"}, instance_path=str(tmp_path))
    with pytest.raises(SystemExit) as stop:
        create_app(instance_path=str(tmp_path), environ={**PRODUCTION, "RATE_LIMITS": "off"})
    assert str(stop.value) == (
        "tokenapp: configuration error: RATE_LIMITS=off is refused in production: "
        "the limits protect logins, sign-ups and payments"
    )


@pytest.mark.parametrize(("environment", "behind_proxy"), [("production", True), ("development", False)])
def test_production_keys_addresses_by_the_proxy_header(backend, database_urls, environment, behind_proxy):
    environ = app_environ(**{**PRODUCTION, "TOKENAPP_ENV": environment, "RATE_LIMITS": "on"})
    app = make_app(
        database_urls[backend],
        environ,
        WTF_CSRF_ENABLED=False,
        RATE_LIMIT_RULES={"login_failures_per_address": "2 per hour"},
    )
    client = app.test_client()

    def login_from(address: str) -> int:
        return client.post(
            "/auth/login", data={"email": "x@example.com", "password": WRONG}, headers={"X-Forwarded-For": address}
        ).status_code

    assert [login_from("203.0.113.7"), login_from("203.0.113.7"), login_from("203.0.113.7")] == [422, 422, 429]
    assert login_from("203.0.113.8") == (422 if behind_proxy else 429)
    with app.app_context():
        db.engine.dispose()


def _alternate_failures(first, second, email: str) -> list[int]:
    one, two = AuthActions(first.test_client()), AuthActions(second.test_client())
    statuses = []
    for attempt in range(10):
        statuses.append((one if attempt % 2 else two).login(email=email, password=WRONG).status_code)
    statuses.append(two.login(email=email, password=WRONG).status_code)
    return statuses


def test_two_app_servers_share_the_limit_through_redis(limits, redis_url):
    first, second = limits(REDIS_URL=redis_url), limits(REDIS_URL=redis_url)
    email = f"shared-{uuid.uuid4().hex[:8]}@example.com"
    assert _alternate_failures(first, second, email) == [422] * 10 + [429]


def test_without_redis_each_app_server_counts_alone(limits):
    first, second = limits(), limits()
    email = f"alone-{secrets.token_hex(4)}@example.com"
    assert _alternate_failures(first, second, email) == [422] * 11


def test_with_redis_down_limits_hold_in_memory_and_nothing_fails(limits):
    app = limits(
        {"deductions_per_user": "3 per minute", "login_failures_per_account": "2 per hour"},
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    client = app.test_client()
    auth = AuthActions(client)
    auth.register()
    api = Api(client)
    assert [api.deduct("job_match_detailed").status_code for _ in range(4)] == [201, 201, 402, 429]
    auth.logout()
    assert [auth.login(password=WRONG).status_code for _ in range(3)] == [422, 422, 429]


class FlakyStorage(MemoryStorage):
    """Counts in memory, or fails every call (as a Redis that went away) while `down`."""

    down = False

    def _maybe_fail(self):
        if self.down:
            raise ConnectionError("storage down")

    def incr(self, *args, **kwargs):
        self._maybe_fail()
        return super().incr(*args, **kwargs)

    def get(self, *args, **kwargs):
        self._maybe_fail()
        return super().get(*args, **kwargs)

    def check(self):
        self._maybe_fail()
        return True


def test_a_storage_outage_counts_in_memory_then_the_storage_takes_over_again(app, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(ratelimits.time, "monotonic", lambda: clock[0])
    storage = FlakyStorage()
    counts = ratelimits.Counts(storage)
    three = parse("3 per hour")
    with app.app_context():
        assert [counts.hit(three, "user:1", "rule") for _ in range(2)] == [True, True]
        storage.down = True
        assert [counts.hit(three, "user:1", "rule") for _ in range(4)] == [True, True, True, False]  # memory, anew
        clock[0] += 0.5
        storage.down = False
        assert counts.hit(three, "user:1", "rule") is False  # no probe before 1 s: still memory
        clock[0] += 1.0
        assert counts.hit(three, "user:1", "rule") is True  # probed, recovered: the storage's count (2 -> 3)
        assert counts.hit(three, "user:1", "rule") is False
        storage.down = True
        assert counts.test(three, "user:2", "rule") is True  # a failing test() falls back too
        clock[0] += 1.0
        assert counts.hit(three, "user:2", "rule") is True  # probe failed: memory, next probe in 2 s
        storage.down = False
        clock[0] += 1.5
        assert counts.hit(three, "user:3", "rule") is True
        assert storage.get(three.key_for("user:3", "rule")) == 0  # still memory: the probe waits 2 s now
        clock[0] += 1.0
        assert counts.hit(three, "user:3", "rule") is True
        assert storage.get(three.key_for("user:3", "rule")) == 1


def test_a_limited_login_page_keeps_the_csrf_meta(limits):
    app = limits({"login_failures_per_account": "1 per hour"})
    client = app.test_client()
    auth = AuthActions(client)
    auth.login(password=WRONG)
    assert auth.login(password=PASSWORD).status_code == 429
    assert csrf_token(client)
