"""The htmx interface as the server renders it: badge events, the gate, first run, fragments."""

import json
import re

import pytest
from sqlalchemy import select

from support.web import Api, csrf_token
from tokenapp.database import write_transaction
from tokenapp.extensions import db
from tokenapp.models import TokenLot, TokenTransaction, User
from tokenapp.services import ledger

HX = {"HX-Request": "true"}


def gate_key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def confirm(client, feature_key, key, htmx=True):
    headers = {**(HX if htmx else {}), "X-CSRFToken": csrf_token(client)}
    return client.post(f"/tokens/gate/{feature_key}/confirm", data={"idempotency_key": key}, headers=headers)


def spends(app, feature_key):
    with app.app_context():
        return db.session.execute(
            db.select(db.func.count()).where(
                TokenTransaction.type == "spend", TokenTransaction.feature_key == feature_key
            )
        ).scalar()


def test_every_balance_change_announces_tokens_changed(api):
    response = api.deduct("job_match_detailed")
    assert json.loads(response.headers["HX-Trigger"]) == {"tokens-changed": None}
    assert "HX-Trigger" not in api.get("/api/tokens/balance").headers
    refused = api.deduct("cover_letter")
    assert refused.status_code == 402 and "HX-Trigger" not in refused.headers


def test_badge_fragment_carries_the_low_balance_slot_out_of_band(client, api):
    api.deduct("networking_message")
    html = client.get("/tokens/badge", headers=HX).get_data(as_text=True)
    assert '<span id="token-balance" aria-live="polite">7</span>' in html
    assert 'id="low-balance-slot" hx-swap-oob="true"' in html and 'id="low-balance-alert"' in html


def test_gate_dialog_asks_before_charging(app, client, api):
    html = client.get("/tokens/gate/resume_parsing", headers=HX).get_data(as_text=True)
    assert 'id="token-gate-dialog"' in html and 'role="dialog"' in html
    assert "Use 8 tokens?" in html and "You have 10." in html
    assert 'data-action="confirm"' in html
    assert "After this you will have 2 tokens left." in html
    assert api.balance() == 10
    assert gate_key(html) != gate_key(client.get("/tokens/gate/resume_parsing", headers=HX).get_data(as_text=True))


def test_short_balance_shows_shortfall_package_and_no_confirm(client, api):
    api.deduct("resume_parsing")
    html = client.get("/tokens/gate/cover_letter", headers=HX).get_data(as_text=True)
    assert "You need <strong>8 more</strong>" in html
    assert "The Starter pack" in html and 'href="/tokens/buy"' in html
    assert 'data-action="confirm"' not in html
    assert api.balance() == 2


def test_confirm_charges_once_per_press(app, client, api):
    key = gate_key(client.get("/tokens/gate/job_match_detailed", headers=HX).get_data(as_text=True))
    first = confirm(client, "job_match_detailed", key)
    again = confirm(client, "job_match_detailed", key)
    assert first.status_code == again.status_code == 200
    assert b"ran for 5 tokens" in first.data and b"Already done" in again.data
    assert b'id="gate-slot" hx-swap-oob="innerHTML"' in first.data
    assert spends(app, "job_match_detailed") == 1 and api.balance() == 5


def test_confirm_without_javascript_renders_a_page(client, api):
    page = client.get("/tokens/gate/job_match_detailed")
    assert b"<!doctype html>" in page.data and b" open" in page.data
    result = confirm(client, "job_match_detailed", gate_key(page.get_data(as_text=True)), htmx=False)
    assert b"<!doctype html>" in result.data and b"ran for 5 tokens" in result.data


def test_confirm_when_short_is_402_and_charges_nothing(app, client, api):
    api.deduct("resume_parsing")
    response = confirm(client, "cover_letter", "gate-key-1")
    assert response.status_code == 402 and b"Not charged" in response.data
    assert spends(app, "cover_letter") == 0


@pytest.mark.parametrize("key", ["", "has space", "x" * 300])
def test_confirm_needs_a_valid_key(client, api, key):
    response = confirm(client, "cover_letter", key)
    assert response.status_code == 400 and b'role="alert"' in response.data
    assert api.balance() == 10


def test_confirm_without_csrf_is_refused(client, api):
    response = client.post("/tokens/gate/cover_letter/confirm", data={"idempotency_key": "k"}, headers=HX)
    assert response.status_code == 400 and b'role="alert"' in response.data
    assert api.balance() == 10


def test_welcome_modal_until_dismissed_for_good(app, client, api):
    assert b'id="welcome-modal"' in client.get("/").data
    assert b'id="welcome-modal"' in client.get("/").data
    response = client.post("/welcome/dismiss", headers={**HX, "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 200
    assert b'id="welcome-modal"' not in client.get("/").data
    client.post("/auth/logout", data={"csrf_token": csrf_token(client)})
    from support.web import AuthActions

    AuthActions(client).login()
    assert b'id="welcome-modal"' not in client.get("/").data


def test_expired_login_during_htmx_redirects_instead_of_swapping(app):
    response = app.test_client().get("/tokens/badge", headers=HX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/auth/login")
    assert response.data == b""


def test_htmx_errors_come_back_as_fragments(client, api):
    response = client.get("/tokens/gate/no_such_feature", headers=HX)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert html.startswith('<div class="fragment-error" role="alert">') and "<html" not in html


def test_low_balance_states(client, api):
    assert b'id="low-balance-alert"' not in client.get("/").data  # welcome tokens are a welcome state
    api.deduct("job_match_detailed")
    assert b"Low balance: 5 tokens left." in client.get("/").data
    api.deduct("job_match_detailed")
    page = client.get("/").get_data(as_text=True)
    assert "You are out of tokens." in page and 'class="alert empty"' in page


def test_no_low_balance_alert_above_the_threshold_or_when_unlimited(app, client, api):
    from support.web import user_id
    from tokenapp.services import ledger

    with app.app_context():
        ledger.adjust(user_id(app, "ada@example.com"), 10, reason="test")
    assert b'id="low-balance-alert"' not in client.get("/").data
    with app.app_context():
        ledger.adjust(user_id(app, "ada@example.com"), -20, reason="test")
        ledger.set_unlimited(user_id(app, "ada@example.com"), True)
    page = client.get("/").get_data(as_text=True)
    assert (
        'id="low-balance-alert"' not in page and '<span id="token-balance" aria-live="polite">Unlimited</span>' in page
    )


@pytest.mark.parametrize(
    "path", ["/", "/pricing", "/features", "/tokens/how-it-works", "/test-tokens", "/dashboard/tokens", "/tokens/buy"]
)
def test_pages_render_for_a_signed_in_user(client, api, path):
    page = client.get(path)
    assert page.status_code == 200
    assert b'id="token-balance"' in page.data and b'<meta name="csrf-token"' in page.data


@pytest.mark.parametrize("path", ["/test-tokens", "/dashboard/tokens", "/tokens/buy"])
def test_private_pages_send_anonymous_users_to_login(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_how_it_works_lists_prices_and_ways_to_earn(client):
    html = client.get("/tokens/how-it-works").get_data(as_text=True)
    assert "Cover Letter Generation" in html and "Welcome bonus" in html and "referral" in html


def test_dashboard_shows_paid_and_bonus_tokens_and_what_expires_first(app, client, api):
    html = client.get("/dashboard/tokens").get_data(as_text=True)
    with app.app_context():
        user = db.session.execute(select(User)).scalar_one()
        welcome_expiry = db.session.execute(select(TokenLot.expires_at).where(TokenLot.user_id == user.id)).scalar_one()
        with write_transaction() as tx:
            ledger.grant_purchase(tx, user.id, 100, dedupe_key="purchase:test", note="Pro pack", cost_cents=1900)
        db.session.remove()
    assert "0 paid · 10 bonus" in html
    assert f'10 tokens expire on <time datetime="{welcome_expiry.isoformat()}">' in html
    api.deduct("networking_message")  # 3 tokens, from the bonus lot: it expires first
    html = client.get("/dashboard/tokens").get_data(as_text=True)
    assert "100 paid · 7 bonus" in html and "7 tokens expire on" in html
    assert welcome_expiry.strftime("%b %d, %Y") in html


def test_an_unlimited_dashboard_shows_no_token_kinds(app, client, api):
    with app.app_context():
        ledger.set_unlimited(db.session.execute(select(User.id)).scalar_one(), True)
        db.session.remove()
    html = client.get("/dashboard/tokens").get_data(as_text=True)
    assert "Unlimited" in html and 'id="token-kinds"' not in html and 'id="token-expiry"' not in html


def test_dashboard_shows_history_and_most_used(client, api):
    api.deduct("networking_message")
    api.deduct("networking_message")
    html = client.get("/dashboard/tokens").get_data(as_text=True)
    assert "Networking Message: 2 runs, 6 tokens" in html  # the catalogue's name, not the key
    assert html.count("Spend · Networking Message") == 2
    assert "Welcome bonus" in html and Api(client).balance() == 4
