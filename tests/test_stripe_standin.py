"""The offline Stripe stand-in, driven by the official SDK over real HTTP.

Every API call goes through `stripe.StripeClient` pointed at a stand-in served
on loopback; the hosted Checkout page is used with httpx like a browser would;
webhooks go to a recording `deliver` hook and are checked with the SDK's own
`stripe.Webhook.construct_event`.
"""

import json
import threading
import time

import httpx
import pytest
import stripe
from flask import Flask, request

from stripe_standin import create_standin_app, serve_in_thread
from stripe_standin.webhooks import USER_AGENT

SECRET = "whsec_standin_test_secret"
HOOK_URL = "http://receiver.test/api/stripe/webhook"
SUCCESS_URL = "http://app.test/billing/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://app.test/billing"
OK_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
BROKE_CARD = "4000 0000 0000 9995"
DELAYED_CARD = "4000 0000 0000 0101"


class StandinRecorder:
    """A `deliver` hook: records each webhook and answers with queued status codes."""

    def __init__(self):
        self.calls = []
        self.answers = []
        self.lock = threading.Lock()

    def __call__(self, url, body, headers):
        with self.lock:
            self.calls.append((url, body, dict(headers)))
            answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return answer

    def events(self) -> list[dict]:
        """The delivered Event objects, in delivery order."""
        with self.lock:
            return [json.loads(body) for _, body, _ in self.calls]

    def types(self) -> list[str]:
        """The delivered event types, in delivery order."""
        return [event["type"] for event in self.events()]


class Standin:
    """A served stand-in with an SDK client and a plain HTTP client."""

    def __init__(self, handle, recorder):
        self.handle, self.recorder, self.url = handle, recorder, handle.url
        self.sdk_http = stripe.RequestsClient()
        self.stripe = stripe.StripeClient(
            "sk_test_standin", base_addresses={"api": handle.url}, http_client=self.sdk_http
        )
        self.http = httpx.Client(base_url=handle.url, trust_env=False, timeout=10)

    def close(self):
        self.http.close()
        self.sdk_http.close()

    def control(self, path: str, body: dict | None = None, expect: int = 200) -> dict:
        """POST a /_standin control and return its JSON."""
        response = self.http.post(f"/_standin/{path}", json=body or {})
        assert response.status_code == expect, response.text
        return response.json()

    def settle_webhooks(self) -> list[str]:
        """Wait for the dispatcher to drain; the delivered types so far."""
        assert self.control("wait_idle", {"timeout": 10}) == {"idle": True}
        return self.recorder.types()

    def new_types(self, before: int) -> list[str]:
        """Types delivered after the first `before` deliveries."""
        return self.settle_webhooks()[before:]

    def price(self, amount=500, lookup_key=None, recurring=None) -> stripe.Price:
        params = {"product_data": {"name": "100 tokens"}, "unit_amount": amount, "currency": "usd"}
        if lookup_key:
            params["lookup_key"] = lookup_key
        if recurring:
            params["recurring"] = {"interval": recurring}
        return self.stripe.v1.prices.create(params=params)

    def session(self, price, mode="payment", quantity=1, **extra) -> stripe.checkout.Session:
        params = {
            "mode": mode,
            "line_items": [{"price": price.id, "quantity": quantity}],
            "success_url": SUCCESS_URL,
            "cancel_url": CANCEL_URL,
            "customer_email": "ada@example.com",
            **extra,
        }
        return self.stripe.v1.checkout.sessions.create(params=params)

    def pay(self, session, card: str, **form) -> httpx.Response:
        """Fill in and submit the hosted page as a person would."""
        page = self.http.get(session.url)
        assert page.status_code == 200
        return self.http.post(session.url, data={"card_number": card, **form})


@pytest.fixture
def standin_recorder():
    return StandinRecorder()


@pytest.fixture
def standin_env(standin_recorder):
    app = create_standin_app(HOOK_URL, SECRET, deliver=standin_recorder, retry_delays=(0.01, 0.02, 0.03))
    handle = serve_in_thread(app)
    served = Standin(handle, standin_recorder)
    yield served
    served.close()
    handle.shutdown()


# --- catalog -------------------------------------------------------------------------


def test_products_and_prices_with_lookup_keys_and_archiving(standin_env):
    sdk = standin_env.stripe.v1
    product = sdk.products.create(params={"name": "Tokens", "metadata": {"pack": "small"}})
    assert product.id.startswith("prod_") and product.object == "product"
    assert product.livemode is False and isinstance(product.created, int)
    small = sdk.prices.create(
        params={"product": product.id, "unit_amount": 500, "currency": "USD", "lookup_key": "tokens_small"}
    )
    large = sdk.prices.create(
        params={
            "product": product.id,
            "unit_amount": 2000,
            "currency": "usd",
            "lookup_key": "tokens_large",
            "metadata": {"tokens": "5000"},
        }
    )
    monthly = sdk.prices.create(
        params={"product": product.id, "unit_amount": 900, "currency": "usd", "recurring": {"interval": "month"}}
    )
    assert small.id.startswith("price_") and small.type == "one_time" and small.currency == "usd"
    assert monthly.type == "recurring" and monthly.recurring.interval == "month"

    found = sdk.prices.list(params={"lookup_keys": ["tokens_small", "tokens_large"]})
    assert found.object == "list" and found.has_more is False and found.url == "/v1/prices"
    assert {price.id for price in found.data} == {small.id, large.id}
    assert sdk.prices.retrieve(large.id).metadata.to_dict() == {"tokens": "5000"}

    archived = sdk.prices.update(small.id, params={"active": False})
    assert archived.active is False
    active = sdk.prices.list(params={"active": True, "product": product.id})
    assert {price.id for price in active.data} == {large.id, monthly.id}
    renamed = sdk.products.update(product.id, params={"name": "Token packs", "metadata": {"pack": ""}})
    assert renamed.name == "Token packs" and renamed.metadata.to_dict() == {}
    assert [p.id for p in sdk.products.list(params={"active": True}).data] == [product.id]


def test_a_lookup_key_moves_only_with_transfer_lookup_key(standin_env):
    first = standin_env.price(lookup_key="tokens_small")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        standin_env.price(lookup_key="tokens_small")
    assert refused.value.param == "lookup_key"
    second = standin_env.stripe.v1.prices.create(
        params={
            "product": first.product,
            "unit_amount": 600,
            "currency": "usd",
            "lookup_key": "tokens_small",
            "transfer_lookup_key": True,
        }
    )
    assert standin_env.stripe.v1.prices.retrieve(first.id).lookup_key is None
    listed = standin_env.stripe.v1.prices.list(params={"lookup_keys": ["tokens_small"]})
    assert [price.id for price in listed.data] == [second.id]


def test_lists_paginate_newest_first(standin_env):
    ids = [standin_env.stripe.v1.products.create(params={"name": f"P{i}"}).id for i in range(5)]
    page = standin_env.stripe.v1.products.list(params={"limit": 2})
    assert [p.id for p in page.data] == ids[::-1][:2] and page.has_more is True
    everything = [p.id for p in page.auto_paging_iter()]
    assert everything == ids[::-1]


# --- errors, auth, idempotency -------------------------------------------------------


def test_missing_objects_raise_invalid_request_error_with_resource_missing(standin_env):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        standin_env.stripe.v1.checkout.sessions.retrieve("cs_test_nope")
    error = missing.value
    assert error.http_status == 404 and error.code == "resource_missing"
    assert error.param == "id" and "No such checkout.session: 'cs_test_nope'" in error.user_message
    with pytest.raises(stripe.InvalidRequestError) as bad_price:
        standin_env.session(stripe.Price.construct_from({"id": "price_nope"}, "sk_test_x"))
    assert bad_price.value.param == "line_items[0][price]"


def test_unknown_and_missing_params_are_refused_like_stripe(standin_env):
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        standin_env.stripe.v1.products.create(params={"name": "x", "colour": "red"})
    assert unknown.value.code == "parameter_unknown" and unknown.value.param == "colour"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        standin_env.stripe.v1.products.create(params={"description": "no name"})
    assert missing.value.code == "parameter_missing" and missing.value.param == "name"


def test_requests_need_a_test_secret_key(standin_env):
    assert standin_env.http.get("/v1/products").status_code == 401
    sdk_http = stripe.RequestsClient()
    live = stripe.StripeClient("sk_live_nope", base_addresses={"api": standin_env.url}, http_client=sdk_http)
    with pytest.raises(stripe.AuthenticationError):
        live.v1.products.list()
    sdk_http.close()


def test_same_idempotency_key_returns_the_same_object(standin_env):
    options = {"idempotency_key": "create-small-pack"}
    first = standin_env.stripe.v1.products.create(params={"name": "Small"}, options=options)
    again = standin_env.stripe.v1.products.create(params={"name": "Small"}, options=options)
    assert again.id == first.id
    assert len(standin_env.stripe.v1.products.list().data) == 1
    with pytest.raises(stripe.IdempotencyError) as reused:
        standin_env.stripe.v1.products.create(params={"name": "Large"}, options=options)
    assert reused.value.http_status == 400
    assert "same parameters" in reused.value.user_message


def test_parallel_requests_are_safe(standin_env):
    def create(i):
        standin_env.stripe.v1.customers.create(params={"email": f"u{i}@example.com"})

    threads = [threading.Thread(target=create, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = standin_env.stripe.v1.customers.list(params={"limit": 100}).data
    assert len({customer.id for customer in listed}) == 16


# --- Checkout -------------------------------------------------------------------------


def test_checkout_session_create_and_retrieve(standin_env):
    price = standin_env.price(amount=500)
    session = standin_env.session(
        price,
        quantity=2,
        client_reference_id="user-7",
        metadata={"user_id": "7"},
        payment_intent_data={"metadata": {"user_id": "7"}},
    )
    assert session.id.startswith("cs_test_") and session.object == "checkout.session"
    assert session.url == f"{standin_env.url}/checkout/pay/{session.id}"
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert session.amount_total == 1000 and session.amount_subtotal == 1000
    assert session.success_url == SUCCESS_URL and session.payment_intent is None
    assert session.expires_at - session.created == 24 * 3600
    fetched = standin_env.stripe.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    item = fetched.line_items.data[0]
    assert (item.object, item.quantity, item.amount_total, item.price.id) == ("item", 2, 1000, price.id)
    assert fetched.metadata.to_dict() == {"user_id": "7"} and fetched.client_reference_id == "user-7"


def test_recurring_prices_need_subscription_mode(standin_env):
    monthly = standin_env.price(recurring="month")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        standin_env.session(monthly, mode="payment")
    assert "recurring price" in refused.value.user_message


def test_hosted_page_is_an_accessible_form(standin_env):
    session = standin_env.session(standin_env.price(amount=1999))
    page = standin_env.http.get(session.url)
    html = page.text
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<label for="card_number">Card number</label>' in html
    assert 'id="card_number"' in html and '<button type="submit">Pay</button>' in html
    assert f'<a href="{CANCEL_URL}">Cancel and go back</a>' in html
    assert "100 tokens" in html and "$19.99" in html and 'name="viewport"' in html
    assert 'role="alert"' not in html
    assert not any(tag in html for tag in ("<script", "<link", " src=", "url("))


def test_paying_with_4242_completes_the_session(standin_env):
    session = standin_env.session(standin_env.price(amount=500), payment_intent_data={"metadata": {"user_id": "7"}})
    before = len(standin_env.settle_webhooks())
    answer = standin_env.pay(session, OK_CARD, exp="12 / 34", cvc="123")
    assert answer.status_code == 303
    assert answer.headers["location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert standin_env.new_types(before) == [
        "payment_intent.succeeded",
        "charge.succeeded",
        "checkout.session.completed",
    ]

    done = standin_env.stripe.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (done.status, done.payment_status) == ("complete", "paid")
    assert done.customer_details.email == "ada@example.com"
    intent = done.payment_intent
    assert intent.id.startswith("pi_") and intent.status == "succeeded"
    assert intent.amount_received == 500 and intent.metadata.to_dict() == {"user_id": "7"}
    charge = standin_env.stripe.v1.charges.retrieve(intent.latest_charge)
    assert charge.id.startswith("ch_") and charge.payment_intent == intent.id
    assert (charge.status, charge.amount, charge.amount_refunded) == ("succeeded", 500, 0)
    completed = standin_env.recorder.events()[-1]["data"]["object"]
    assert completed["payment_intent"] == intent.id and completed["payment_status"] == "paid"
    by_intent = standin_env.stripe.v1.checkout.sessions.list(params={"payment_intent": intent.id})
    assert [s.id for s in by_intent.data] == [session.id]
    assert standin_env.pay(session, OK_CARD).status_code == 409


@pytest.mark.parametrize(
    "card, message, decline_code",
    [
        (DECLINED_CARD, "Your card was declined.", "generic_decline"),
        (BROKE_CARD, "Your card has insufficient funds.", "insufficient_funds"),
    ],
)
def test_declined_cards_show_an_alert_and_keep_the_session_open(standin_env, card, message, decline_code):
    session = standin_env.session(standin_env.price())
    before = len(standin_env.settle_webhooks())
    answer = standin_env.pay(session, card)
    assert answer.status_code == 402
    assert f'role="alert" id="pay-error">{message}</p>' in answer.text
    assert '<label for="card_number">Card number</label>' in answer.text
    types = standin_env.new_types(before)
    assert types == ["charge.failed", "payment_intent.payment_failed"]
    assert "checkout.session.completed" not in types
    still = standin_env.stripe.v1.checkout.sessions.retrieve(session.id)
    assert (still.status, still.payment_status) == ("open", "unpaid")
    intent = standin_env.stripe.v1.payment_intents.retrieve(still.payment_intent)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == decline_code
    assert intent.last_payment_error.message == message
    assert standin_env.pay(session, OK_CARD).status_code == 303
    assert standin_env.stripe.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_an_unknown_card_number_is_incorrect_and_changes_nothing(standin_env):
    session = standin_env.session(standin_env.price())
    before = len(standin_env.settle_webhooks())
    answer = standin_env.pay(session, "1234 5678 9012 3456")
    assert answer.status_code == 400 and "Your card number is incorrect." in answer.text
    assert standin_env.new_types(before) == []
    assert standin_env.stripe.v1.checkout.sessions.retrieve(session.id).payment_intent is None


def test_email_is_asked_when_checkout_does_not_know_it(standin_env):
    price = standin_env.price()
    session = standin_env.stripe.v1.checkout.sessions.create(
        params={"mode": "payment", "line_items": [{"price": price.id, "quantity": 1}], "success_url": SUCCESS_URL}
    )
    assert '<label for="email">Email</label>' in standin_env.http.get(session.url).text
    assert "email" in standin_env.pay(session, OK_CARD).text.lower()
    assert standin_env.pay(session, OK_CARD, email="grace@example.com").status_code == 303
    done = standin_env.stripe.v1.checkout.sessions.retrieve(session.id)
    assert done.customer_details.email == "grace@example.com"


@pytest.mark.parametrize("succeeded", [True, False])
def test_delayed_card_completes_unpaid_then_settles(standin_env, succeeded):
    session = standin_env.session(standin_env.price())
    before = len(standin_env.settle_webhooks())
    assert standin_env.pay(session, DELAYED_CARD).status_code == 303
    assert standin_env.new_types(before) == ["payment_intent.processing", "checkout.session.completed"]
    assert standin_env.recorder.events()[-1]["data"]["object"]["payment_status"] == "unpaid"
    before = len(standin_env.recorder.calls)
    settled = standin_env.control(f"checkout/sessions/{session.id}/settle", {"succeeded": succeeded})
    assert settled["payment_status"] == ("paid" if succeeded else "unpaid")
    expected = (
        ["payment_intent.succeeded", "charge.succeeded", "checkout.session.async_payment_succeeded"]
        if succeeded
        else ["charge.failed", "payment_intent.payment_failed", "checkout.session.async_payment_failed"]
    )
    assert standin_env.new_types(before) == expected
    standin_env.control(f"checkout/sessions/{session.id}/settle", {"succeeded": True}, expect=400)


def test_sessions_expire_by_api_control_or_time(standin_env):
    price = standin_env.price()
    first, second, third = (standin_env.session(price) for _ in range(3))
    before = len(standin_env.settle_webhooks())
    assert standin_env.stripe.v1.checkout.sessions.expire(first.id).status == "expired"
    assert standin_env.control(f"checkout/sessions/{second.id}/expire")["status"] == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        standin_env.stripe.v1.checkout.sessions.expire(first.id)
    later = time.time() + 25 * 3600
    standin_env.handle.state.clock = lambda: later
    page = standin_env.http.get(third.url)
    assert page.status_code == 410 and "expired" in page.text
    assert standin_env.new_types(before) == ["checkout.session.expired"] * 3
    assert standin_env.http.post(third.url, data={"card_number": OK_CARD}).status_code == 409


# --- refunds and disputes ---------------------------------------------------------------


def paid_intent(standin_env, amount=1000) -> str:
    """The id of a PaymentIntent paid through the hosted page."""
    session = standin_env.session(standin_env.price(amount=amount))
    assert standin_env.pay(session, OK_CARD).status_code == 303
    return standin_env.stripe.v1.checkout.sessions.retrieve(session.id).payment_intent


def test_refunds_accumulate_on_the_charge(standin_env):
    intent_id = paid_intent(standin_env, amount=1000)
    before = len(standin_env.settle_webhooks())
    first = standin_env.stripe.v1.refunds.create(
        params={"payment_intent": intent_id, "amount": 300, "metadata": {"reason": "support"}}
    )
    assert first.id.startswith("re_") and first.amount == 300 and first.status == "succeeded"
    second = standin_env.control(f"payment_intents/{intent_id}/refund", {"amount": 200})
    assert second["object"] == "refund" and second["amount"] == 200
    charge = standin_env.stripe.v1.charges.retrieve(first.charge)
    assert (charge.amount_refunded, charge.refunded) == (500, False)
    standin_env.settle_webhooks()
    events = standin_env.recorder.events()[before:]
    assert [e["type"] for e in events] == ["charge.refunded", "refund.created"] * 2
    assert [e["data"]["object"].get("amount_refunded") for e in events[::2]] == [300, 500]
    rest = standin_env.stripe.v1.refunds.create(params={"payment_intent": intent_id})
    assert rest.amount == 500
    charge = standin_env.stripe.v1.charges.retrieve(first.charge)
    assert (charge.amount_refunded, charge.refunded) == (1000, True)
    assert standin_env.stripe.v1.refunds.retrieve(rest.id).charge == charge.id
    with pytest.raises(stripe.InvalidRequestError) as again:
        standin_env.stripe.v1.refunds.create(params={"payment_intent": intent_id})
    assert again.value.code == "charge_already_refunded"


def test_refunding_more_than_is_left_is_refused(standin_env):
    intent_id = paid_intent(standin_env, amount=1000)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        standin_env.stripe.v1.refunds.create(params={"payment_intent": intent_id, "amount": 1001})
    assert refused.value.param == "amount"


def test_disputes_open_and_close(standin_env):
    intent_id = paid_intent(standin_env)
    before = len(standin_env.settle_webhooks())
    dispute = standin_env.control(f"payment_intents/{intent_id}/dispute", {"reason": "fraudulent"})
    assert dispute["id"].startswith("dp_") and dispute["status"] == "needs_response"
    assert dispute["payment_intent"] == intent_id and dispute["amount"] == 1000
    assert standin_env.stripe.v1.charges.retrieve(dispute["charge"]).disputed is True
    closed = standin_env.control(f"disputes/{dispute['id']}/close", {"status": "lost"})
    assert closed["status"] == "lost"
    assert standin_env.new_types(before) == ["charge.dispute.created", "charge.dispute.closed"]
    standin_env.control(f"disputes/{dispute['id']}/close", {"status": "won"}, expect=400)


# --- subscriptions ---------------------------------------------------------------------


def subscription_session(standin_env):
    """An open subscription-mode session for a $9/month price."""
    return standin_env.session(
        standin_env.price(amount=900, recurring="month"),
        mode="subscription",
        subscription_data={"metadata": {"plan": "pro"}},
    )


def subscribe(standin_env, session=None):
    """A subscription-mode session paid on the hosted page, as retrieved afterwards."""
    session = session or subscription_session(standin_env)
    assert standin_env.pay(session, OK_CARD).status_code == 303
    return standin_env.stripe.v1.checkout.sessions.retrieve(session.id)


def test_subscription_checkout_creates_customer_subscription_and_paid_invoice(standin_env):
    session = subscription_session(standin_env)
    before = len(standin_env.settle_webhooks())
    session = subscribe(standin_env, session)
    assert standin_env.new_types(before) == [
        "customer.created",
        "customer.subscription.created",
        "invoice.paid",
        "checkout.session.completed",
    ]
    assert (session.status, session.payment_status) == ("complete", "paid")
    assert session.customer.startswith("cus_") and session.payment_intent is None
    sub = standin_env.stripe.v1.subscriptions.retrieve(session.subscription)
    assert sub.id.startswith("sub_") and sub.status == "active" and sub.customer == session.customer
    assert sub.metadata.to_dict() == {"plan": "pro"} and sub.cancel_at_period_end is False
    item = sub["items"].data[0]
    assert item.price.recurring.interval == "month"
    assert item.current_period_end == sub.current_period_end > sub.current_period_start
    assert 28 * 86400 <= sub.current_period_end - sub.current_period_start <= 31 * 86400
    invoice = standin_env.stripe.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == ("paid", 900, "subscription_create")
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.customer == sub.customer


def test_subscription_renews_fails_and_cancels(standin_env):
    sub_id = subscribe(standin_env).subscription
    first = standin_env.stripe.v1.subscriptions.retrieve(sub_id)
    before = len(standin_env.settle_webhooks())
    renewed = standin_env.control(f"subscriptions/{sub_id}/renew")
    assert renewed["current_period_start"] == first.current_period_end
    invoice = standin_env.stripe.v1.invoices.retrieve(renewed["latest_invoice"])
    assert (invoice.billing_reason, invoice.status) == ("subscription_cycle", "paid")
    failed = standin_env.control(f"subscriptions/{sub_id}/fail_payment")
    assert failed["status"] == "past_due"
    open_invoice = standin_env.stripe.v1.invoices.retrieve(failed["latest_invoice"])
    assert (open_invoice.status, open_invoice.amount_paid, open_invoice.amount_due) == ("open", 0, 900)
    recovered = standin_env.control(f"subscriptions/{sub_id}/renew")
    assert recovered["status"] == "active"
    assert standin_env.stripe.v1.invoices.retrieve(open_invoice.id).status == "paid"
    assert standin_env.control(f"subscriptions/{sub_id}/cancel")["status"] == "canceled"
    assert standin_env.new_types(before) == [
        "invoice.paid",
        "customer.subscription.updated",
        "invoice.payment_failed",
        "customer.subscription.updated",
        "invoice.paid",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ]
    standin_env.control(f"subscriptions/{sub_id}/renew", expect=400)


def test_subscription_cancel_at_period_end_then_delete(standin_env):
    sub_id = subscribe(standin_env).subscription
    updated = standin_env.stripe.v1.subscriptions.update(
        sub_id, params={"cancel_at_period_end": True, "metadata": {"note": "leaving"}}
    )
    assert updated.cancel_at_period_end is True and updated.cancel_at == updated.current_period_end
    assert updated.metadata.to_dict() == {"plan": "pro", "note": "leaving"}
    before = len(standin_env.settle_webhooks())
    canceled = standin_env.stripe.v1.subscriptions.cancel(sub_id)
    assert canceled.status == "canceled" and canceled.ended_at is not None
    assert standin_env.new_types(before) == ["customer.subscription.deleted"]
    assert standin_env.recorder.events()[-1]["data"]["object"]["status"] == "canceled"


def test_declined_card_in_subscription_mode_creates_nothing(standin_env):
    session = standin_env.session(standin_env.price(recurring="month"), mode="subscription")
    before = len(standin_env.settle_webhooks())
    assert standin_env.pay(session, DECLINED_CARD).status_code == 402
    assert standin_env.new_types(before) == []
    assert standin_env.stripe.v1.checkout.sessions.retrieve(session.id).subscription is None


# --- webhooks ---------------------------------------------------------------------------


def test_webhooks_are_signed_as_construct_event_expects(standin_env):
    standin_env.stripe.v1.products.create(params={"name": "Signed"})
    standin_env.settle_webhooks()
    url, body, headers = standin_env.recorder.calls[-1]
    assert url == HOOK_URL
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["User-Agent"] == USER_AGENT
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
    assert event.type == "product.created" and event.id.startswith("evt_")
    assert event.object == "event" and event.livemode is False and event.pending_webhooks == 1
    assert event.data.object.name == "Signed"
    assert event.request.id.startswith("req_")
    tampered = body.replace(b"Signed", b"Forged")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, headers["Stripe-Signature"], SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_wrong")
    fetched = standin_env.stripe.v1.events.retrieve(event.id)
    assert fetched.type == "product.created"
    assert event.id in [e.id for e in standin_env.stripe.v1.events.list(params={"limit": 100}).data]


def test_failed_deliveries_are_retried(standin_env):
    standin_env.recorder.answers = [500, 503]
    standin_env.stripe.v1.products.create(params={"name": "Retry me"})
    standin_env.settle_webhooks()
    log = standin_env.http.get("/_standin/deliveries").json()
    assert [(entry["attempt"], entry["status_code"]) for entry in log] == [(1, 500), (2, 503), (3, 200)]
    assert len({entry["event_id"] for entry in log}) == 1


def test_retries_stop_when_the_delays_run_out_and_errors_are_logged(standin_env):
    standin_env.recorder.answers = [httpx.ConnectError("refused")] + [500] * 10
    standin_env.stripe.v1.products.create(params={"name": "Never delivered"})
    standin_env.settle_webhooks()
    log = standin_env.http.get("/_standin/deliveries").json()
    assert [entry["attempt"] for entry in log] == [1, 2, 3, 4]
    assert log[0]["status_code"] is None and "refused" in log[0]["error"]


def test_resend_delivers_the_same_event_again(standin_env):
    standin_env.stripe.v1.products.create(params={"name": "Twice"})
    standin_env.settle_webhooks()
    event_id = standin_env.recorder.events()[-1]["id"]
    resent = standin_env.control(f"events/{event_id}/resend")
    assert resent["id"] == event_id
    standin_env.settle_webhooks()
    (_, first_body, _), (_, second_body, second_headers) = standin_env.recorder.calls[-2:]
    assert first_body == second_body
    assert stripe.Webhook.construct_event(second_body, second_headers["Stripe-Signature"], SECRET).id == event_id
    events = standin_env.http.get("/_standin/events").json()
    assert [e["id"] for e in events].count(event_id) == 1


def test_default_delivery_posts_to_the_webhook_url():
    received = []
    receiver = Flask("receiver")

    @receiver.post("/hook")
    def hook():
        received.append((request.get_data(), request.headers.get("Stripe-Signature")))
        return "", 200 if len(received) > 1 else 500

    receiver_handle = serve_in_thread(receiver)
    app = create_standin_app(f"{receiver_handle.url}/hook", SECRET, retry_delays=(0.01,))
    handle = serve_in_thread(app)
    sdk_http = stripe.RequestsClient()
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": handle.url}, http_client=sdk_http)
    try:
        client.v1.customers.create(params={"email": "ada@example.com"})
        assert handle.state.dispatcher.wait_idle(10)
        body, signature = received[-1]
        assert len(received) == 2
        assert stripe.Webhook.construct_event(body, signature, SECRET).type == "customer.created"
    finally:
        sdk_http.close()
        handle.shutdown()
        receiver_handle.shutdown()


def test_controls_answer_json_errors(standin_env):
    assert standin_env.control("subscriptions/sub_nope/renew", expect=404)["error"]["code"] == ("resource_missing")
    assert standin_env.http.get("/v1/nothing_here", headers={"Authorization": "Bearer sk_test_x"}).status_code == 404
