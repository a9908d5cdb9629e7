"""Sign-up, sign-in, sign-out, and what the pages show."""

import re

import pytest

from support.web import PASSWORD, Api, AuthActions, csrf_token, user_id


def balance_badge(html: str) -> str:
    match = re.search(r'<span id="token-balance"[^>]*>([^<]*)</span>', html)
    assert match, "no #token-balance on the page"
    return match.group(1).strip()


def test_register_page_and_welcome_balance_in_navbar(client, auth):
    page = client.get("/auth/register")
    assert page.status_code == 200
    assert b'name="email"' in page.data and b'name="password"' in page.data
    response = auth.register()
    assert response.status_code == 302
    assert balance_badge(client.get("/").get_data(as_text=True)) == "10"


def test_referral_link_prefills_the_code(client):
    assert b'value="ABCD2345"' in client.get("/auth/register?ref=ABCD2345").data


def test_emails_are_normalised_and_unique(app, client, auth):
    auth.register("  Ada@Example.COM ")
    assert user_id(app, "ada@example.com")
    auth.logout()
    response = auth.register("ADA@example.com")
    assert response.status_code == 422
    assert b"already exists" in response.data
    assert b'aria-invalid="true"' in response.data


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", PASSWORD, b"Invalid email address."),
        ("", PASSWORD, b"This field is required."),
        ("bo@example.com", "short", b"Field must be between 8 and 128 characters long."),
    ],
)
def test_register_errors_are_shown_next_to_the_field(client, auth, email, password, message):
    response = auth.register(email, password)
    assert response.status_code == 422
    assert message in response.data
    assert client.get("/api/tokens/balance").status_code == 401


def test_register_without_csrf_token_is_refused(client):
    response = client.post("/auth/register", data={"email": "x@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/api/tokens/balance").status_code == 401


def test_login_and_logout(client, auth, user):
    auth.logout()
    assert client.get("/api/tokens/balance").status_code == 401
    response = auth.login()
    assert response.status_code == 302
    assert client.get("/api/tokens/balance").status_code == 200


def test_wrong_password_and_unknown_email_give_the_same_answer(client, auth, user):
    auth.logout()
    wrong = auth.login(password="wrong-password")
    unknown = auth.login(email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 422
    assert b"do not match an account" in wrong.data and b"do not match an account" in unknown.data
    assert client.get("/api/tokens/balance").status_code == 401


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\\/evil.example", "\\\\evil.example"]
)
def test_login_follows_only_local_next(client, auth, user, target):
    auth.logout()
    token = csrf_token(client)
    response = client.post(
        "/auth/login",
        query_string={"next": target},
        data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(client, auth, user):
    auth.logout()
    token = csrf_token(client)
    response = client.post(
        "/auth/login",
        query_string={"next": "/tokens/buy?x=1"},
        data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/tokens/buy?x=1"


def test_logout_is_post_only(client, user):
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/api/tokens/balance").status_code == 200


def test_session_cookie_flags(client, auth):
    response = auth.register()
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_every_page_carries_csrf_meta_and_htmx(client):
    for path in ("/", "/auth/login", "/auth/register"):
        html = client.get(path).get_data(as_text=True)
        assert '<meta name="csrf-token"' in html
        assert "htmx.min.js" in html
        assert 'hx-headers=\'{"X-CSRFToken": "' in html


@pytest.mark.parametrize("evil", ["<script>alert(1)</script>", '" onmouseover="alert(1)', "javascript:alert(1)"])
def test_user_text_is_escaped_when_echoed(client, evil):
    response = AuthActions(client).register(evil)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<script>alert(1)" not in html
    assert '" onmouseover="alert(1)' not in html


def test_html_pages_get_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"Back to the start" in response.data


def test_referral_is_recorded_for_a_real_referrer_only(app, client, auth):
    from tokenapp.extensions import db
    from tokenapp.models import Referral, User

    auth.register("ref@example.com")
    with app.app_context():
        code = db.session.execute(db.select(User.referral_code)).scalar()
    auth.logout()
    auth.register("new@example.com", referral_code=code)
    auth.logout()
    auth.register("new2@example.com", referral_code="NOSUCH99")
    with app.app_context():
        referrals = db.session.execute(db.select(Referral)).scalars().all()
        assert [(r.referrer_id, r.referred_id) for r in referrals] == [
            (user_id(app, "ref@example.com"), user_id(app, "new@example.com"))
        ]
    assert Api(client).balance() == 10
