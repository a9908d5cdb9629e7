"""The Unlimited plan: a Checkout subscription that switches charging off while active."""

import stripe

from support.payments import app_path, ledger_rows, start_checkout
from support.web import csrf_token, user_id
from tokenapp.extensions import db
from tokenapp.models import Subscription


def subscribe(client, stripe_standin) -> str:
    response = client.post("/tokens/subscribe", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    paid = stripe_standin.pay(response.headers["Location"])
    assert paid.status_code == 303
    page = client.get(app_path(paid.headers["Location"]))
    assert b"Unlimited is active" in page.data
    stripe_standin.wait()
    return stripe_standin.events("customer.subscription.created")[-1]["data"]["object"]["id"]


def status(app, subscription_id):
    with app.app_context():
        return db.session.get(Subscription, subscription_id).status


def test_subscription_lifecycle(app, client, api, stripe_standin, audit):
    stripe_standin.pay(start_checkout(client, "starter"))
    sub = subscribe(client, stripe_standin)
    balance = api.get("/api/tokens/balance").get_json()
    assert balance["is_unlimited"] is True and balance["balance"] == 110
    assert "Unlimited" in client.get("/").get_data(as_text=True)
    charged = api.deduct("cover_letter").get_json()
    assert (charged["cost"], charged["balance"]) == (0, 110)

    stripe_standin.control(f"subscriptions/{sub}/renew")
    stripe_standin.wait()
    assert api.get("/api/tokens/balance").get_json()["is_unlimited"] is True

    stripe_standin.control(f"subscriptions/{sub}/fail_payment")
    stripe_standin.wait()
    assert status(app, sub) == "past_due"
    assert api.get("/api/tokens/balance").get_json()["is_unlimited"] is False
    assert api.deduct("cover_letter").get_json()["cost"] == 10

    stripe_standin.control(f"subscriptions/{sub}/renew")
    stripe_standin.wait()
    assert status(app, sub) == "active" and api.get("/api/tokens/balance").get_json()["is_unlimited"]

    stripe_standin.control(f"subscriptions/{sub}/cancel")
    stripe_standin.wait()
    assert status(app, sub) == "canceled"
    balance = api.get("/api/tokens/balance").get_json()
    assert balance["is_unlimited"] is False and balance["balance"] == 100
    assert [row for row in ledger_rows(app) if row[0] == "spend"] == [("spend", 0), ("spend", -10)]
    audit()


def test_subscription_checkout_reuses_one_customer(app, client, api, stripe_standin):
    subscribe(client, stripe_standin)
    with app.app_context():
        from tokenapp.models import User

        customer = db.session.get(User, user_id(app, "ada@example.com")).stripe_customer_id
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": stripe_standin.url})
    assert sdk.v1.customers.retrieve(customer).email == "ada@example.com"
    session = stripe_standin.events("checkout.session.completed")[-1]["data"]["object"]
    assert session["mode"] == "subscription" and session["customer"] == customer


def test_stale_subscription_events_cannot_revive_a_cancelled_plan(app, client, api, stripe_standin):
    sub = subscribe(client, stripe_standin)
    stripe_standin.control(f"subscriptions/{sub}/cancel")
    stripe_standin.wait()
    from support.payments import signed

    for event_type in ("customer.subscription.created", "invoice.paid"):
        late = {**stripe_standin.events(event_type)[-1], "id": f"evt_late_{event_type}"}
        assert late["data"]["object"]["status"] in ("active", "paid")
        assert stripe_standin.post_webhook(*signed(app, late)) == 200
    assert status(app, sub) == "canceled"
    assert api.get("/api/tokens/balance").get_json()["is_unlimited"] is False


def test_success_page_racing_subscription_webhooks_stores_one_subscription(app, client, api, stripe_standin):
    import threading

    from support.web import clone_client, run_threads

    stripe_standin.hold()
    response = client.post("/tokens/subscribe", data={"csrf_token": csrf_token(client)})
    paid = stripe_standin.pay(response.headers["Location"])
    held = stripe_standin.held_events()
    gate = threading.Barrier(len(held) + 4)
    results = []

    def deliver(body, headers):
        gate.wait()
        results.append(stripe_standin.post_webhook(body, headers))

    def success_page():
        browser = clone_client(app, client)
        gate.wait()
        results.append(browser.get(app_path(paid.headers["Location"])).status_code)

    targets = [lambda pair=pair: deliver(*pair) for pair in held] + [success_page] * 4
    run_threads(*targets)
    assert results == [200] * len(targets)
    with app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(Subscription)).scalar() == 1
    assert api.get("/api/tokens/balance").get_json()["is_unlimited"] is True
