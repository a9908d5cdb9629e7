"""Refunds and disputes take tokens back in proportion; spent tokens become visible debt."""

import pytest

from support.payments import ledger_rows, purchase, start_checkout


@pytest.fixture
def bought(app, client, api, stripe_standin):
    """A paid Pro pack (600 tokens for $20); returns its PaymentIntent id."""
    stripe_standin.pay(start_checkout(client, "pro"))
    stripe_standin.wait()
    assert api.balance() == 610
    return stripe_standin.events("payment_intent.succeeded")[-1]["data"]["object"]["id"]


def refund(stripe_standin, intent, amount=None):
    stripe_standin.control(f"payment_intents/{intent}/refund", {"amount": amount} if amount else {})
    stripe_standin.wait()


def test_full_refund_takes_every_token_back(app, api, stripe_standin, bought, audit):
    refund(stripe_standin, bought)
    assert api.balance() == 10
    assert ledger_rows(app)[-1] == ("reversal", -600)
    assert purchase(app).amount_refunded_cents == 2000
    audit()


def test_partial_refunds_are_cumulative_not_replays(app, api, stripe_standin, bought, audit):
    refund(stripe_standin, bought, 500)
    assert api.balance() == 10 + 450
    refund(stripe_standin, bought, 500)
    assert api.balance() == 10 + 300
    stripe_standin.control(f"events/{stripe_standin.events('charge.refunded')[0]['id']}/resend")
    stripe_standin.wait()
    assert api.balance() == 310
    assert [row for row in ledger_rows(app) if row[0] == "reversal"] == [("reversal", -150), ("reversal", -150)]
    audit()


def test_refund_after_spending_leaves_debt_that_blocks_spending_until_repaid(
    app, client, api, stripe_standin, bought, audit
):
    for _ in range(60):
        assert api.deduct("cover_letter").status_code == 201
    assert api.balance() == 10
    refund(stripe_standin, bought)
    body = api.get("/api/tokens/balance").get_json()
    assert (body["balance"], body["debt"]) == (0, 590)
    refused = api.deduct("networking_message")
    assert refused.status_code == 402 and "owes 590 tokens" in refused.get_json()["message"]
    assert b"owes 590 tokens" in client.get("/tokens/buy").data
    stripe_standin.pay(start_checkout(client, "power"))
    stripe_standin.wait()
    body = api.get("/api/tokens/balance").get_json()
    assert (body["balance"], body["debt"]) == (1600 - 590, 0)
    assert api.deduct("networking_message").status_code == 201
    audit()


def test_dispute_freezes_tokens_and_a_won_dispute_restores_them(app, api, stripe_standin, bought, audit):
    dispute = stripe_standin.control(f"payment_intents/{bought}/dispute")
    stripe_standin.wait()
    assert api.balance() == 10
    assert purchase(app).dispute_status == "needs_response"
    stripe_standin.control(f"disputes/{dispute['id']}/close", {"status": "won"})
    stripe_standin.wait()
    assert api.balance() == 610
    assert purchase(app).dispute_status == "won"
    assert [row for row in ledger_rows(app) if row[0] == "reversal"] == [("reversal", -600), ("reversal", 600)]
    audit()


def test_a_lost_dispute_keeps_the_tokens_taken(app, api, stripe_standin, bought, audit):
    dispute = stripe_standin.control(f"payment_intents/{bought}/dispute")
    stripe_standin.control(f"disputes/{dispute['id']}/close", {"status": "lost"})
    stripe_standin.wait()
    assert api.balance() == 10
    created = stripe_standin.events("charge.dispute.created")[-1]["id"]
    stripe_standin.control(f"events/{created}/resend")
    stripe_standin.wait()
    assert purchase(app).dispute_status == "lost" and api.balance() == 10
    audit()


def test_refund_before_completion_credits_only_what_is_kept(app, client, api, stripe_standin, audit):
    stripe_standin.hold()
    stripe_standin.pay(start_checkout(client, "pro"))
    intent = stripe_standin.events("payment_intent.succeeded")[-1]["data"]["object"]["id"]
    stripe_standin.control(f"payment_intents/{intent}/refund", {"amount": 2000})
    held = stripe_standin.held_events()
    refunded = [pair for pair in held if b'"charge.refunded"' in pair[0]]
    for body, headers in refunded + held:
        assert stripe_standin.post_webhook(body, headers) == 200
    assert api.balance() == 10
    assert [t for t, _ in ledger_rows(app)] == ["bonus"]
    audit()
