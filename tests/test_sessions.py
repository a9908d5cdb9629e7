"""Accounts: server-side sessions (RELIABILITY 32), common passwords, and login timing (16)."""

import statistics
import time

from support.apps import make_app
from support.web import PASSWORD, AuthActions, clone_client, csrf_token, user_id
from tokenapp.extensions import db
from tokenapp.models import User, UserSession

NEW_PASSWORD = "a-new-and-longer-secret"


def session_count(app, email: str) -> int:
    with app.app_context():
        uid = user_id(app, email)
        return db.session.query(UserSession).filter_by(user_id=uid).count()


def change_password(client, current: str, new: str):
    return client.post(
        "/account", data={"csrf_token": csrf_token(client), "current_password": current, "new_password": new}
    )


def test_a_cookie_copied_before_logout_is_refused_after_it(app, client, auth, user):
    copy = clone_client(app, client)
    assert copy.get("/api/tokens/balance").status_code == 200
    assert auth.logout().status_code == 302
    assert copy.get("/api/tokens/balance").status_code == 401
    assert copy.get("/account").status_code == 302
    assert session_count(app, user) == 0


def test_each_login_gets_its_own_session(app, client, auth, user):
    other = app.test_client()
    assert AuthActions(other).login().status_code == 302
    assert session_count(app, user) == 2
    with client.session_transaction() as mine, other.session_transaction() as theirs:
        assert mine["sid"] != theirs["sid"]
    AuthActions(other).logout()
    assert client.get("/api/tokens/balance").status_code == 200


def test_a_forged_or_stale_session_id_signs_nobody_in(app, client, user):
    with client.session_transaction() as session:
        session["sid"] = "not-a-live-session"
    assert client.get("/api/tokens/balance").status_code == 401


def test_changing_the_password_ends_every_other_session_but_this_one(app, client, auth, user):
    laptop = app.test_client()
    AuthActions(laptop).login()
    stolen = clone_client(app, laptop)
    response = change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert client.get("/api/tokens/balance").status_code == 200
    assert laptop.get("/api/tokens/balance").status_code == 401
    assert stolen.get("/api/tokens/balance").status_code == 401
    assert session_count(app, user) == 1
    fresh = AuthActions(app.test_client())
    assert fresh.login(password=PASSWORD).status_code == 422
    assert fresh.login(password=NEW_PASSWORD).status_code == 302


def test_a_wrong_current_password_changes_nothing(app, client, user):
    other = app.test_client()
    AuthActions(other).login()
    with app.app_context():
        before = db.session.get(User, user_id(app, user)).password_hash
    response = change_password(client, "not-my-password", NEW_PASSWORD)
    assert response.status_code == 422
    assert b"not your current password" in response.data and b'aria-invalid="true"' in response.data
    with app.app_context():
        assert db.session.get(User, user_id(app, user)).password_hash == before
    assert other.get("/api/tokens/balance").status_code == 200


def test_the_account_page_needs_a_login_and_csrf(app, client, user):
    page = client.get("/account")
    assert page.status_code == 200
    assert b'name="current_password"' in page.data and b'name="new_password"' in page.data
    refused = client.post("/account", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert refused.status_code == 400
    anonymous = app.test_client()
    assert anonymous.get("/account").status_code == 302


def test_common_passwords_are_refused_at_sign_up(app, client, auth):
    for common in ("password123", "PassWord123", "qwertyuiop"):
        response = auth.register("common@example.com", common)
        assert response.status_code == 422
        assert b"list of common passwords" in response.data
    assert client.get("/api/tokens/balance").status_code == 401
    assert auth.register("common@example.com", "an-uncommon-passphrase").status_code == 302


def test_common_passwords_are_refused_at_password_change(app, client, user):
    response = change_password(client, PASSWORD, "Iloveyou123")
    assert response.status_code == 422
    assert b"list of common passwords" in response.data
    assert AuthActions(app.test_client()).login(password=PASSWORD).status_code == 302


def test_create_admin_refuses_a_common_password(runner):
    result = runner.invoke(args=["create-admin", "boss@example.com", "--password", "password1234"])
    assert result.exit_code != 0
    assert "common passwords" in result.output


def _login_seconds(client, email: str) -> float:
    """The CPU time of one failed login: the test client serves it on this thread, and a busy machine
    preempting the thread (three test workers share two cores) adds nothing to it."""
    token = csrf_token(client)
    started = time.thread_time()
    response = client.post("/auth/login", data={"email": email, "password": "wrong-password", "csrf_token": token})
    elapsed = time.thread_time() - started
    assert response.status_code == 422
    return elapsed


def test_unknown_and_known_emails_cost_the_same(backend, database_urls, app):
    timed = make_app(database_urls[backend], PASSWORD_HASH_METHOD="scrypt")
    client = timed.test_client()
    AuthActions(client).register("known@example.com", "a-real-long-password")
    AuthActions(client).logout()
    known, unknown = [], []
    for _ in range(15):
        known.append(_login_seconds(client, "known@example.com"))
        unknown.append(_login_seconds(client, "unknown@example.com"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.7 <= ratio <= 1.4, f"unknown/known median login time ratio {ratio:.2f}"
    with timed.app_context():
        db.session.remove()
        db.engine.dispose()
