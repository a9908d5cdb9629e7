"""The webhook endpoint: signatures, duplicates, order, failures and replays."""

import json
import threading
import time

import pytest

from stripe_standin.webhooks import signature_header
from support.payments import app_path, ledger_rows, purchase, start_checkout
from support.web import Api, clone_client, csrf_token, run_threads
from tokenapp.extensions import db
from tokenapp.models import StripeEvent


def signed(app, event: dict, timestamp: int | None = None, secret: str | None = None) -> tuple[bytes, dict]:
    body = json.dumps(event).encode()
    header = signature_header(body, secret or app.config["STRIPE_WEBHOOK_SECRET"], timestamp or int(time.time()))
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


def stored_events(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(db.select(StripeEvent.id, StripeEvent.status)).all())


def completed_event(stripe_standin) -> dict:
    return stripe_standin.events("checkout.session.completed")[-1]


@pytest.fixture
def paid(app, client, api, stripe_standin):
    """A Pro pack paid for and credited (610 tokens)."""
    stripe_standin.pay(start_checkout(client, "pro"))
    stripe_standin.wait()
    assert api.balance() == 610
    return completed_event(stripe_standin)


def test_duplicate_delivery_is_acknowledged_and_changes_nothing(app, api, stripe_standin, paid, audit):
    stripe_standin.control(f"events/{paid['id']}/resend")
    stripe_standin.wait()
    assert stripe_standin.statuses[-1] == ("checkout.session.completed", 200)
    assert api.balance() == 610
    audit()


def test_ten_parallel_duplicates_credit_once(app, api, stripe_standin, paid, audit):
    body, headers = signed(app, paid)
    statuses = []
    run_threads(*[lambda: statuses.append(stripe_standin.post_webhook(body, headers))] * 10)
    assert statuses == [200] * 10
    assert api.balance() == 610
    assert [t for t, _ in ledger_rows(app)].count("purchase") == 1
    audit()


@pytest.mark.parametrize("tamper", ["body", "secret", "stale", "missing", "reserialised"])
def test_bad_signatures_are_refused_without_a_write(app, client, api, stripe_standin, audit, tamper):
    stripe_standin.hold()
    stripe_standin.pay(start_checkout(client, "pro"))
    body, headers = next(
        (b, h) for b, h in stripe_standin.held_events() if json.loads(b)["type"] == "checkout.session.completed"
    )
    event = json.loads(body)
    before = stored_events(app)
    original = body
    if tamper == "body":
        body = body.replace(b'"livemode": false', b'"livemode": true ')
    elif tamper == "secret":
        body, headers = signed(app, event, secret="whsec_wrong")
    elif tamper == "stale":
        body, headers = signed(app, event, timestamp=int(time.time()) - 301)
    elif tamper == "missing":
        headers = {"Content-Type": "application/json"}
    else:
        body = json.dumps(event, separators=(",", ":")).encode()
    assert tamper in ("secret", "stale", "missing") or body != original
    response = app.test_client().post("/api/stripe/webhooks", data=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_webhook"
    assert stored_events(app) == before
    assert api.balance() == 10
    audit()


def test_a_valid_replay_inside_the_window_is_deduplicated(app, api, stripe_standin, paid, audit):
    body, headers = signed(app, paid, timestamp=int(time.time()) - 200)
    assert stripe_standin.post_webhook(body, headers) == 200
    assert api.balance() == 610
    audit()


def test_two_signatures_during_a_secret_roll_are_accepted(app, client, api, stripe_standin, audit):
    stripe_standin.hold()
    stripe_standin.pay(start_checkout(client, "pro"))
    event = next(
        json.loads(b) for b, _ in stripe_standin.held_events() if json.loads(b)["type"] == "checkout.session.completed"
    )
    body = json.dumps(event).encode()
    now = int(time.time())
    old = signature_header(body, "whsec_old_secret", now).split(",v1=")[1]
    new = signature_header(body, app.config["STRIPE_WEBHOOK_SECRET"], now)
    assert stripe_standin.post_webhook(body, {"Stripe-Signature": f"{new},v1={old}"}) == 200
    assert api.balance() == 610
    audit()


def test_unknown_event_types_are_stored_and_acknowledged(app, stripe_standin):
    body, headers = signed(
        app,
        {
            "id": "evt_unknown_1",
            "object": "event",
            "type": "radar.early_fraud_warning.created",
            "data": {"object": {"id": "issfr_1"}},
        },
    )
    assert stripe_standin.post_webhook(body, headers) == 200
    assert stored_events(app)["evt_unknown_1"] == "processed"
    assert stored_events(app)[stripe_standin.events("product.created")[0]["id"]] == "processed"


def test_events_out_of_order_settle_to_the_same_state(app, client, api, stripe_standin, audit):
    stripe_standin.hold()
    checkout_url = start_checkout(client, "pro")
    stripe_standin.pay(checkout_url)
    intent = stripe_standin.events("payment_intent.succeeded")[-1]["data"]["object"]["id"]
    stripe_standin.control(f"payment_intents/{intent}/refund", {"amount": 1000})
    held = stripe_standin.held_events()
    for body, headers in reversed(held):
        assert stripe_standin.post_webhook(body, headers) == 200
    assert api.balance() == 10 + 300
    for body, headers in held:
        assert stripe_standin.post_webhook(body, headers) == 200
    assert api.balance() == 310
    assert purchase(app).tokens_granted == 300
    assert [t for t, _ in ledger_rows(app)] == ["bonus", "purchase"]
    audit()


def test_a_failure_rolls_back_answers_500_and_the_retry_credits_once(
    app, client, api, stripe_standin, monkeypatch, audit
):
    from tokenapp.services import purchases

    real = purchases.apply_session
    calls = []

    def flaky(tx, session):
        calls.append(session["id"])
        result = real(tx, session)
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        return result

    monkeypatch.setattr(purchases, "apply_session", flaky)
    paid = stripe_standin.pay(start_checkout(client, "pro"))
    stripe_standin.wait()
    assert ("checkout.session.completed", 500) in stripe_standin.statuses
    assert stripe_standin.statuses[-1] == ("checkout.session.completed", 200)
    assert api.balance() == 610
    assert client.get(app_path(paid.headers["Location"])).status_code == 200
    assert api.balance() == 610
    audit()


def test_failed_event_is_recorded_and_replayable(app, client, api, stripe_standin, runner, monkeypatch, audit):
    from tokenapp.services import ledger

    def broken(*args, **kwargs):
        raise RuntimeError("bug in fulfilment")

    monkeypatch.setattr(ledger, "grant_purchase", broken)
    stripe_standin.pay(start_checkout(client, "starter"))
    stripe_standin.wait()
    event_id = completed_event(stripe_standin)["id"]
    with app.app_context():
        row = db.session.get(StripeEvent, event_id)
        assert row.status == "failed" and "bug in fulfilment" in row.error
    assert api.balance() == 10
    monkeypatch.undo()
    result = runner.invoke(args=["stripe-replay", event_id])
    assert result.exit_code == 0, result.output
    assert api.balance() == 110
    intent_event = stripe_standin.events("payment_intent.succeeded")[-1]["id"]
    assert stored_events(app)[intent_event] == "failed"
    assert runner.invoke(args=["stripe-replay", intent_event]).exit_code == 0
    assert api.balance() == 110
    assert runner.invoke(args=["stripe-replay", "evt_nope"]).exit_code != 0
    audit()


def test_webhook_and_success_page_racing_credit_once(app, client, api, stripe_standin, audit):
    stripe_standin.hold()
    paid = stripe_standin.pay(start_checkout(client, "pro"))
    success_path = app_path(paid.headers["Location"])
    body, headers = next(
        (b, h) for b, h in stripe_standin.held_events() if json.loads(b)["type"] == "checkout.session.completed"
    )
    gate = threading.Barrier(16)
    results = []

    def webhook():
        gate.wait()
        results.append(stripe_standin.post_webhook(body, headers))

    def success_page():
        browser = clone_client(app, client)
        gate.wait()
        results.append(browser.get(success_path).status_code)

    run_threads(*[webhook if i % 2 else success_page for i in range(16)])
    assert results == [200] * 16
    assert api.balance() == 610
    assert [t for t, _ in ledger_rows(app)].count("purchase") == 1
    audit()


def test_webhook_needs_no_csrf_but_other_posts_do(app, client, api):
    assert client.post("/tokens/checkout", data={"package_key": "pro"}).status_code == 400
    assert csrf_token(client)
    response = app.test_client().post("/api/stripe/webhooks", data=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_webhook"
    assert Api(client).balance() == 10
