"""The process's one Stripe stand-in, lent to test after test (`support.standin`): nothing one test
does to it, or leaves queued in it, reaches the next test."""

import time

import pytest
import stripe

from support.apps import make_app
from support.standin import RETRY_DELAYS
from support.waiting import wait_until


def test_a_retry_left_by_one_test_never_reaches_the_next_tests_app(app, seeded_database, standin_server):
    earlier = standin_server.attach(make_app(seeded_database.url))
    try:
        earlier.post_webhook = lambda body, headers: 500  # the earlier test's app fails: Stripe retries
        event = earlier.events()[0]
        earlier.control(f"events/{event['id']}/resend")
        wait_until(lambda: earlier.statuses, 10, "the earlier app to answer a delivery")
    finally:
        earlier.close()
    attempts = list(earlier.statuses)
    assert attempts and set(attempts) == {(event["type"], 500)}

    seeded_database.reset_with(app)  # as the next test's `app` fixture does
    later = standin_server.attach(app)
    try:
        assert standin_server.dispatcher.wait_idle(0), "a retry from the earlier test is still queued"
        time.sleep(2 * RETRY_DELAYS[1])  # when the dropped retries would have been due
        later.wait()
        assert later.statuses == []
        assert earlier.statuses == attempts
        deliveries = later.browser.get("/_standin/deliveries").json()
        assert [entry["status_code"] for entry in deliveries] == [200] * len(later.events())
    finally:
        later.close()


def test_the_next_test_finds_the_stand_in_as_the_sync_left_it(app, seeded_database, standin_server):
    earlier = standin_server.attach(make_app(seeded_database.url))
    try:
        synced_events = [event["id"] for event in earlier.events()]
        sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": earlier.url})
        customer = sdk.v1.customers.create(params={"email": "earlier@example.com"})
        earlier.wait()
        assert len(earlier.events()) > len(synced_events)
    finally:
        earlier.close()

    seeded_database.reset_with(app)  # as the next test's `app` fixture does
    later = standin_server.attach(app)
    try:
        with pytest.raises(stripe.InvalidRequestError):
            sdk.v1.customers.retrieve(customer.id)
        assert [event["id"] for event in later.events()] == synced_events
        result = app.test_cli_runner().invoke(args=["stripe-setup"])  # the app's stored ids are the stand-in's
        assert result.exit_code == 0, result.output
        assert result.output.count("unchanged") == 6
        later.wait()
        assert later.statuses == []
    finally:
        later.close()
