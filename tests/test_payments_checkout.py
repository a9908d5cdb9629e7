"""Buying a token pack through Checkout, end to end against the stand-in."""

import json

import pytest

from support.payments import BROKE_CARD, DECLINED_CARD, DELAYED_CARD, app_path, ledger_rows, purchase, start_checkout
from support.web import Api, AuthActions, csrf_token, user_id
from tokenapp.extensions import db


def test_buy_pro_with_a_card_credits_600_once(app, client, api, stripe_standin, audit):
    checkout_url = start_checkout(client, "pro")
    assert checkout_url.startswith(stripe_standin.url + "/checkout/pay/cs_")
    paid = stripe_standin.pay(checkout_url)
    assert paid.status_code == 303
    success = client.get(app_path(paid.headers["Location"]))
    assert success.status_code == 200
    assert "600 tokens added" in success.get_data(as_text=True)
    stripe_standin.wait()
    assert api.balance() == 610
    assert ledger_rows(app) == [("bonus", 10), ("purchase", 600)]
    row = purchase(app)
    assert (row.status, row.tokens_granted, row.amount_cents) == ("paid", 600, 2000)
    assert row.stripe_payment_intent_id.startswith("pi_")
    assert all(status == 200 for _type, status in stripe_standin.statuses)
    audit()


def test_checkout_session_carries_user_package_and_purchase(app, client, api, stripe_standin):
    import stripe

    checkout_url = start_checkout(client, "basic")
    session_id = checkout_url.rsplit("/", 1)[1]
    session = stripe.StripeClient(
        "sk_test_x", base_addresses={"api": stripe_standin.url}
    ).v1.checkout.sessions.retrieve(session_id)
    row = purchase(app)
    assert session.mode == "payment"
    assert session.client_reference_id == str(user_id(app, "ada@example.com"))
    assert session.customer_email == "ada@example.com"
    assert session.metadata.to_dict() == {
        "user_id": session.client_reference_id,
        "package_key": "basic",
        "purchase_id": str(row.id),
    }
    assert session.amount_total == 1000
    assert session.success_url.endswith("/tokens/success?session_id={CHECKOUT_SESSION_ID}")
    assert session.cancel_url.endswith(f"/tokens/cancel?purchase={row.id}")
    assert row.stripe_checkout_session_id == session_id and row.status == "pending"


def test_ultimate_pack_includes_the_bulk_bonus(app, client, api, stripe_standin, audit):
    stripe_standin.pay(start_checkout(client, "ultimate"))
    stripe_standin.wait()
    assert api.balance() == 10 + 3500 + 350
    audit()


def test_webhook_alone_fulfils_without_the_success_page(app, client, api, stripe_standin, audit):
    stripe_standin.pay(start_checkout(client, "starter"))
    stripe_standin.wait()
    assert api.balance() == 110
    audit()


@pytest.mark.parametrize(
    ("card", "message"), [(DECLINED_CARD, "Your card was declined."), (BROKE_CARD, "Your card has insufficient funds.")]
)
def test_a_failed_card_shows_an_alert_and_credits_nothing(app, client, api, stripe_standin, audit, card, message):
    checkout_url = start_checkout(client, "pro")
    page = stripe_standin.pay(checkout_url, card)
    assert page.status_code == 402
    assert 'role="alert"' in page.text and message in page.text
    stripe_standin.wait()
    assert api.balance() == 10
    row = purchase(app)
    assert row.status == "pending" and row.tokens_granted == 0
    assert row.failure_message
    retried = stripe_standin.pay(checkout_url)
    assert retried.status_code == 303
    stripe_standin.wait()
    assert api.balance() == 610
    audit()


def test_cancelled_checkout_charges_nothing_and_expires_the_session(app, client, api, stripe_standin, audit):
    checkout_url = start_checkout(client, "pro")
    row = purchase(app)
    page = client.get(f"/tokens/cancel?purchase={row.id}")
    assert page.status_code == 200 and b"Nothing was charged" in page.data
    assert b'data-action="cancel-checkout"' in page.data
    closed = client.post("/tokens/cancel", data={"purchase": row.id, "csrf_token": csrf_token(client)})
    assert closed.status_code == 303
    stripe_standin.wait()
    assert purchase(app).status == "expired"
    assert stripe_standin.browser.get(checkout_url).status_code == 410
    assert api.balance() == 10
    audit()


def test_delayed_payment_credits_only_when_it_succeeds(app, client, api, stripe_standin, audit):
    checkout_url = start_checkout(client, "pro")
    returned = stripe_standin.pay(checkout_url, DELAYED_CARD)
    assert returned.status_code == 303
    pending = client.get(app_path(returned.headers["Location"]))
    assert b"adding your tokens" in pending.data and b'hx-get="/tokens/purchases/' in pending.data
    stripe_standin.wait()
    assert api.balance() == 10
    session_id = checkout_url.rsplit("/", 1)[1]
    stripe_standin.control(f"checkout/sessions/{session_id}/settle", {"succeeded": True})
    stripe_standin.wait()
    assert api.balance() == 610
    poll = client.get(f"/tokens/purchases/{purchase(app).id}/status")
    assert b"600 tokens added" in poll.data and json.loads(poll.headers["HX-Trigger"]) == {"tokens-changed": None}
    audit()


def test_delayed_payment_that_fails_gives_nothing(app, client, api, stripe_standin, audit):
    checkout_url = start_checkout(client, "pro")
    stripe_standin.pay(checkout_url, DELAYED_CARD)
    stripe_standin.control(f"checkout/sessions/{checkout_url.rsplit('/', 1)[1]}/settle", {"succeeded": False})
    stripe_standin.wait()
    assert api.balance() == 10
    assert purchase(app).status == "failed"
    page = client.get(f"/tokens/purchases/{purchase(app).id}/status")
    assert b"did not go through" in page.data and b"Try again" in page.data
    audit()


def test_expired_session_event_marks_the_purchase(app, client, api, stripe_standin, audit):
    checkout_url = start_checkout(client, "pro")
    stripe_standin.control(f"checkout/sessions/{checkout_url.rsplit('/', 1)[1]}/expire")
    stripe_standin.wait()
    assert purchase(app).status == "expired"
    assert api.balance() == 10
    audit()


def test_api_checkout(app, client, api, stripe_standin):
    response = api.post("/api/tokens/checkout", json={"package_key": "power"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["checkout_url"].startswith(stripe_standin.url) and isinstance(body["purchase_id"], int)
    unknown = api.post("/api/tokens/checkout", json={"package_key": "mega"})
    assert unknown.status_code == 400 and unknown.get_json()["error"] == "unknown_package"
    assert api.post("/api/tokens/checkout", json={"package_key": 7}).status_code == 400
    assert app.test_client().post("/api/tokens/checkout", json={"package_key": "pro"}).status_code == 401


def test_success_and_status_pages_are_owner_only(app, client, api, stripe_standin):
    paid = stripe_standin.pay(start_checkout(client, "pro"))
    success_path = app_path(paid.headers["Location"])
    intruder = app.test_client()
    AuthActions(intruder).register("mallory@example.com")
    assert intruder.get(success_path).status_code == 404
    assert intruder.get(f"/tokens/purchases/{purchase(app).id}/status").status_code == 404
    assert intruder.get(f"/tokens/cancel?purchase={purchase(app).id}").status_code == 404
    assert intruder.get("/tokens/success?session_id=garbage").status_code == 404
    stripe_standin.wait()
    assert Api(intruder).balance() == 10


def test_buy_page_lists_packs_and_plan(client, api, stripe_standin):
    html = client.get("/tokens/buy").get_data(as_text=True)
    for key in ("starter", "basic", "pro", "power", "ultimate", "unlimited"):
        assert f'data-package-key="{key}"' in html
    assert "Includes 350 bonus tokens" in html
    assert client.get("/pricing-hybrid").headers["Location"] == "/pricing"


def test_checkout_when_stripe_is_down_says_so_and_charges_nothing(app, client, api):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:1"
    with app.app_context():
        from tokenapp.models import TokenPackage

        db.session.execute(db.update(TokenPackage).values(stripe_price_id="price_x"))
        db.session.commit()
    response = api.post("/api/tokens/checkout", json={"package_key": "pro"})
    assert response.status_code == 502
    assert response.get_json()["error"] == "payment_provider_error"
    form = client.post(
        "/tokens/checkout", data={"package_key": "pro", "csrf_token": csrf_token(client)}, follow_redirects=True
    )
    assert b"could not reach the payment provider" in form.data
    assert api.balance() == 10
