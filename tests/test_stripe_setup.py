"""`flask stripe-setup`: finds its products and prices again; a new price archives the old."""

import pytest
import stripe

from support.standin import StandinServer
from tokenapp.extensions import db
from tokenapp.models import SubscriptionPlan, TokenPackage


@pytest.fixture
def stripe_standin(app):
    """A stand-in of this test's own, synced by this test's app: these tests are about the sync itself."""
    server = StandinServer(app.config["STRIPE_WEBHOOK_SECRET"])
    standin = server.attach_and_sync(app)
    yield standin
    standin.close()
    server.close()


def sdk(stripe_standin):
    return stripe.StripeClient("sk_test_x", base_addresses={"api": stripe_standin.url})


def stored_prices(app) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(db.select(TokenPackage.key, TokenPackage.stripe_price_id)).all()
        plan = db.session.execute(db.select(SubscriptionPlan.key, SubscriptionPlan.stripe_price_id)).all()
        return dict(rows + plan)


def test_second_run_changes_nothing(app, runner, stripe_standin):
    first = stored_prices(app)
    assert all(price.startswith("price_") for price in first.values()) and len(first) == 6
    result = runner.invoke(args=["stripe-setup"])
    assert result.exit_code == 0, result.output
    assert result.output.count("unchanged") == 6
    assert stored_prices(app) == first
    prices = sdk(stripe_standin).v1.prices.list(params={"limit": 100}).data
    assert len(prices) == 6


def test_prices_match_the_catalog(app, stripe_standin):
    client = sdk(stripe_standin)
    ultimate = client.v1.prices.list(params={"lookup_keys": ["tokenapp_ultimate"]}).data[0]
    assert (ultimate.unit_amount, ultimate.currency, ultimate.type) == (10000, "usd", "one_time")
    unlimited = client.v1.prices.list(params={"lookup_keys": ["tokenapp_unlimited"]}).data[0]
    assert unlimited.type == "recurring" and unlimited.recurring.interval == "month"
    product = client.v1.products.retrieve(ultimate.product)
    assert product.name == "Ultimate" and "3850 tokens" in product.description


def test_a_changed_price_makes_a_new_price_and_archives_the_old(app, runner, stripe_standin):
    before = stored_prices(app)
    with app.app_context():
        db.session.execute(db.update(TokenPackage).where(TokenPackage.key == "pro").values(price_cents=2200))
        db.session.commit()
    result = runner.invoke(args=["stripe-setup"])
    assert result.exit_code == 0
    assert "pro" in result.output and "updated" in result.output
    after = stored_prices(app)
    assert after["pro"] != before["pro"]
    assert {k: v for k, v in after.items() if k != "pro"} == {k: v for k, v in before.items() if k != "pro"}
    client = sdk(stripe_standin)
    assert client.v1.prices.retrieve(before["pro"]).active is False
    current = client.v1.prices.list(params={"lookup_keys": ["tokenapp_pro"]}).data
    assert [(p.id, p.unit_amount) for p in current] == [(after["pro"], 2200)]
    assert client.v1.prices.retrieve(after["pro"]).product == client.v1.prices.retrieve(before["pro"]).product


def test_stripe_setup_fails_clearly_when_stripe_is_unreachable(app, runner):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:1"
    result = runner.invoke(args=["stripe-setup"])
    assert result.exit_code != 0
    assert "could not be reached" in result.output
