"""Payments trust Stripe, not the message (RELIABILITY 4, 29; issue 8 items 2, 4 and 6)."""

import json
import logging
import time

import pytest
import stripe

from stripe_standin.webhooks import signature_header
from support.payments import DELAYED_CARD, app_path, ledger_rows, purchase, signed, start_checkout
from support.web import AuthActions, csrf_token
from tokenapp.extensions import db
from tokenapp.models import StripeEvent, TokenPurchase


def events_by_status(app) -> dict[str, list[tuple[str, str | None]]]:
    with app.app_context():
        rows = db.session.execute(db.select(StripeEvent.id, StripeEvent.status, StripeEvent.error)).all()
    grouped: dict[str, list] = {}
    for event_id, status, error in rows:
        grouped.setdefault(status, []).append((event_id, error))
    return grouped


def sdk(stripe_standin):
    return stripe.StripeClient("sk_test_x", base_addresses={"api": stripe_standin.url}).v1


def session_retrieves(stripe_standin, session_id: str) -> int:
    counts = stripe_standin.browser.get("/_standin/requests").json()["data"]
    return sum(
        c["count"] for c in counts if c["method"] == "GET" and c["path"] == f"/v1/checkout/sessions/{session_id}"
    )


def set_purchase(app, **values) -> None:
    with app.app_context():
        db.session.execute(db.update(TokenPurchase).values(**values))
        db.session.commit()


def alerts(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and text in r.getMessage()]


@pytest.mark.parametrize("change", [{"amount_cents": 2500}, {"currency": "eur"}])
def test_paid_amount_or_currency_other_than_the_price_credits_nothing_and_alerts(
    app, client, api, stripe_standin, caplog, audit, change
):
    checkout_url = start_checkout(client, "pro")
    set_purchase(app, **change)  # the order's price no longer matches what Stripe will charge
    paid = stripe_standin.pay(checkout_url)
    stripe_standin.wait()
    assert api.balance() == 10
    row = purchase(app)
    assert row.status == "amount_mismatch" and row.tokens_granted == 0
    assert "2000 usd" in row.payment_alert
    assert alerts(caplog, "payment alert: amount mismatch")
    assert all(status == 200 for _type, status in stripe_standin.statuses)
    # Nothing later credits it: every event again, the success page, the poll.
    for event in stripe_standin.events():
        stripe_standin.control(f"events/{event['id']}/resend")
    stripe_standin.wait()
    page = client.get(app_path(paid.headers["Location"]))
    assert page.status_code == 200 and b"does not match this order" in page.data
    assert client.get(f"/tokens/purchases/{row.id}/status").status_code == 200
    assert api.balance() == 10 and purchase(app).status == "amount_mismatch"
    assert [t for t, _ in ledger_rows(app)] == ["bonus"]
    audit()


@pytest.mark.parametrize("lie", ["paid", "amount", "currency"])
def test_a_signed_event_that_lies_credits_nothing_and_alerts(app, client, api, stripe_standin, caplog, audit, lie):
    checkout_url = start_checkout(client, "pro")
    session_id = checkout_url.rsplit("/", 1)[1]
    session = json.loads(str(sdk(stripe_standin).checkout.sessions.retrieve(session_id)))
    assert session["payment_status"] == "unpaid"
    if lie == "paid":
        session.update(payment_status="paid", status="complete")
    elif lie == "amount":
        session.update(amount_total=1)
    else:
        session.update(currency="jpy")
    event = {
        "id": f"evt_lie_{lie}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {"object": session},
    }
    body, headers = signed(app, event)
    response = app.test_client().post("/api/stripe/webhooks", data=body, headers=headers)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_webhook"
    assert [event_id for event_id, _ in events_by_status(app)["rejected"]] == [f"evt_lie_{lie}"]
    assert "disagrees with Stripe" in events_by_status(app)["rejected"][0][1]
    assert alerts(caplog, "payment alert: event disagrees with Stripe")
    assert api.balance() == 10 and purchase(app).status == "pending"
    audit()


def test_a_lying_payment_intent_event_credits_nothing(app, client, api, stripe_standin, audit):
    checkout_url = start_checkout(client, "pro")
    stripe_standin.pay(checkout_url, DELAYED_CARD)  # the PaymentIntent is processing, not paid
    stripe_standin.wait()
    intent = stripe_standin.events("payment_intent.processing")[-1]["data"]["object"]
    event = {
        "id": "evt_lie_intent",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {**intent, "status": "succeeded", "amount_received": intent["amount"]}},
    }
    assert stripe_standin.post_webhook(*signed(app, event)) == 400
    assert api.balance() == 10 and purchase(app).status == "pending"
    audit()


@pytest.mark.parametrize("ahead", [301, 3600])
def test_events_signed_in_the_future_are_refused_and_nothing_is_stored(app, client, api, stripe_standin, audit, ahead):
    stripe_standin.hold()
    stripe_standin.pay(start_checkout(client, "pro"))
    body, _ = next((b, h) for b, h in stripe_standin.held_events() if b'"checkout.session.completed"' in b)
    before = events_by_status(app)
    headers = signed(app, json.loads(body), timestamp=int(time.time()) + ahead)[1]
    response = app.test_client().post(
        "/api/stripe/webhooks", data=json.dumps(json.loads(body)).encode(), headers=headers
    )
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_webhook"
    assert events_by_status(app) == before
    assert api.balance() == 10
    a_little_ahead = signed(app, json.loads(body), timestamp=int(time.time()) + 60)
    assert stripe_standin.post_webhook(*a_little_ahead) == 200  # clock drift is tolerated
    assert api.balance() == 610
    audit()


def _malformed(kind: str, session_id: str) -> bytes:
    def event(obj=None, **top):
        return json.dumps(
            {
                "id": "evt_bad_1",
                "object": "event",
                "type": "checkout.session.completed",
                "created": int(time.time()),
                "data": {"object": obj if obj is not None else {"id": session_id, "object": "checkout.session"}},
                **top,
            }
        ).encode()

    return {
        "not json": b"{not json",
        "not an object": b"[1, 2, 3]",
        "no data.object": json.dumps(
            {"id": "evt_bad_1", "object": "event", "type": "charge.refunded", "data": {}}
        ).encode(),
        "object is a string": event(obj="cs_test_abc"),
        "id of the wrong type": event(id=12345),
        "type of the wrong type": event(type=["checkout.session.completed"]),
        "created in the future": event(created=int(time.time()) + 86400),
        "created not a time": event(created="yesterday"),
        "object of another kind": event(obj={"id": session_id, "object": "charge"}),
        "object id of a strange shape": event(obj={"id": "../../v1/balance", "object": "checkout.session"}),
        "session Stripe does not know": event(obj={"id": "cs_test_" + "Z" * 58, "object": "checkout.session"}),
        "charge Stripe does not know": json.dumps(
            {
                "id": "evt_bad_1",
                "object": "event",
                "type": "charge.refunded",
                "data": {"object": {"id": "ch_" + "Q" * 24, "object": "charge"}},
            }
        ).encode(),
        "NUL byte": event(obj={"id": session_id, "object": "checkout.session", "metadata": {"note": "a\u0000b"}}),
        "lone surrogate": event(obj={"id": session_id, "object": "checkout.session", "client_reference_id": "\ud800"}),
        "nested thousands deep": b'{"id": "evt_bad_1", "type": "x.y", "data": {"object": '
        + b"[" * 5000
        + b"]" * 5000
        + b"}}",
        "nested too deep for us": event(
            obj={"id": session_id, "object": "checkout.session", "metadata": json.loads("[" * 40 + "]" * 40)}
        ),
    }[kind]


MALFORMED = [
    "not json",
    "not an object",
    "no data.object",
    "object is a string",
    "id of the wrong type",
    "type of the wrong type",
    "created in the future",
    "created not a time",
    "object of another kind",
    "object id of a strange shape",
    "session Stripe does not know",
    "charge Stripe does not know",
    "NUL byte",
    "lone surrogate",
    "nested thousands deep",
    "nested too deep for us",
]


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_but_signed_events_get_a_recorded_400(app, client, api, stripe_standin, audit, kind):
    session_id = start_checkout(client, "pro").rsplit("/", 1)[1]
    before = events_by_status(app)
    body = _malformed(kind, session_id)
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": signature_header(body, app.config["STRIPE_WEBHOOK_SECRET"], int(time.time())),
    }
    for _delivery in range(2):  # Stripe would retry a 500; a 400 is final, and a redelivery shares the row
        response = app.test_client().post("/api/stripe/webhooks", data=body, headers=headers)
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.get_json()["error"] == "invalid_webhook"
    rejected = events_by_status(app).get("rejected", [])
    assert len(rejected) == 1 and rejected[0][1].startswith("Webhook rejected:")
    assert {k: v for k, v in events_by_status(app).items() if k != "rejected"} == before
    assert api.balance() == 10 and purchase(app).status == "pending"
    audit()


def test_stripe_unreachable_during_a_webhook_is_a_500_and_the_retry_credits(app, client, api, stripe_standin, audit):
    stripe_standin.hold()
    stripe_standin.pay(start_checkout(client, "pro"))
    body, headers = next((b, h) for b, h in stripe_standin.held_events() if b'"checkout.session.completed"' in b)
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:1"
    assert stripe_standin.post_webhook(body, headers) == 500
    event_id = json.loads(body)["id"]
    assert event_id in [e for e, _ in events_by_status(app)["failed"]]
    app.config["STRIPE_API_BASE"] = stripe_standin.url
    assert stripe_standin.post_webhook(body, headers) == 200
    assert api.balance() == 610
    audit()


def test_unknown_or_foreign_session_ids_on_the_success_page_are_404(app, client, api, stripe_standin):
    assert client.get("/tokens/success?session_id=cs_test_" + "U" * 58).status_code == 404
    intruder = app.test_client()
    AuthActions(intruder).register("mallory@example.com")
    mallory_session = start_checkout(intruder, "basic").rsplit("/", 1)[1]
    page = client.get(f"/tokens/success?session_id={mallory_session}")
    assert page.status_code == 404 and b"Traceback" not in page.data
    assert client.get("/tokens/purchases/99999999999999999999/status").status_code == 404
    assert client.get("/tokens/cancel?purchase=99999999999999999999").status_code == 404
    assert client.get("/tokens/cancel?purchase=\u0661").status_code == 404


def test_stripe_unreachable_on_the_success_page_is_a_503_try_again(app, client, api, stripe_standin):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:1"
    page = client.get("/tokens/success?session_id=cs_test_" + "D" * 58)
    assert page.status_code == 503
    assert b"try again" in page.data and b"Traceback" not in page.data


def test_get_cancel_writes_nothing_and_post_cancels(app, client, api, stripe_standin, audit):
    checkout_url = start_checkout(client, "pro")
    row = purchase(app)
    for _visit in range(3):
        page = client.get(f"/tokens/cancel?purchase={row.id}")
        assert page.status_code == 200 and b"Cancel this checkout" in page.data
    stripe_standin.wait()
    assert purchase(app).status == "pending"
    assert stripe_standin.browser.get(checkout_url).status_code == 200  # still payable
    assert client.post("/tokens/cancel", data={"purchase": row.id}).status_code == 400  # no CSRF token
    intruder = app.test_client()
    AuthActions(intruder).register("mallory@example.com")
    stolen = intruder.post("/tokens/cancel", data={"purchase": row.id, "csrf_token": csrf_token(intruder)})
    assert stolen.status_code == 404 and purchase(app).status == "pending"
    done = client.post("/tokens/cancel", data={"purchase": row.id, "csrf_token": csrf_token(client)})
    assert done.status_code == 303 and done.headers["Location"] == "/tokens/cancel"
    assert purchase(app).status == "expired"
    assert stripe_standin.browser.get(checkout_url).status_code == 410
    again = client.post("/tokens/cancel", data={"purchase": row.id, "csrf_token": csrf_token(client)})
    assert again.status_code == 303 and purchase(app).status == "expired"
    assert b"Cancel this checkout" not in client.get(f"/tokens/cancel?purchase={row.id}").data
    assert api.balance() == 10
    audit()


def test_polls_within_the_window_spend_one_stripe_retrieve(app, client, api, stripe_standin, audit):
    checkout_url = start_checkout(client, "pro")
    session_id = checkout_url.rsplit("/", 1)[1]
    returned = stripe_standin.pay(checkout_url, DELAYED_CARD)
    stripe_standin.wait()
    base = session_retrieves(stripe_standin, session_id)  # the webhooks' own fresh reads
    row_id = purchase(app).id
    assert client.get(app_path(returned.headers["Location"])).status_code == 200
    for _poll in range(20):
        assert b"adding your tokens" in client.get(f"/tokens/purchases/{row_id}/status").data
    polled = session_retrieves(stripe_standin, session_id)
    assert polled - base <= 1
    later = time.monotonic() + 5.1
    app.extensions["tokenapp_stripe_cache"].clock = lambda: later
    client.get(f"/tokens/purchases/{row_id}/status")
    assert session_retrieves(stripe_standin, session_id) == polled + 1  # a window, not forever
    audit()


def test_unknown_session_ids_are_remembered_too(app, client, api, stripe_standin):
    unknown = "cs_test_" + "N" * 58
    for _visit in range(5):
        assert client.get(f"/tokens/success?session_id={unknown}").status_code == 404
    assert session_retrieves(stripe_standin, unknown) == 1


def test_the_redis_store_shares_the_cache_under_its_prefix(app, client, api, stripe_standin):
    import fakeredis

    from tokenapp.services import stripe_cache

    server = fakeredis.FakeServer()
    checkout_url = start_checkout(client, "pro")
    session_id = checkout_url.rsplit("/", 1)[1]
    stripe_standin.pay(checkout_url, DELAYED_CARD)
    stripe_standin.wait()
    base = session_retrieves(stripe_standin, session_id)
    row_id = purchase(app).id
    app.extensions["tokenapp_stripe_cache"] = stripe_cache.RedisStore(fakeredis.FakeRedis(server=server))
    client.get(f"/tokens/purchases/{row_id}/status")
    other_process = fakeredis.FakeRedis(server=server)
    assert other_process.keys("tokenapp:stripe-cache:*") == [
        f"tokenapp:stripe-cache:checkout.session:{session_id}".encode()
    ]
    assert 0 < other_process.pttl(f"tokenapp:stripe-cache:checkout.session:{session_id}") <= 5000
    app.extensions["tokenapp_stripe_cache"] = stripe_cache.RedisStore(fakeredis.FakeRedis(server=server))
    for _poll in range(10):
        client.get(f"/tokens/purchases/{row_id}/status")
    assert session_retrieves(stripe_standin, session_id) - base == 1
