"""`flask stripe-setup`: one Product and Price per package, and the Unlimited plan.

Prices are found again by a stable lookup key (`tokenapp_<key>`), so a second
run changes nothing. When a price changes, a new Price takes over the lookup
key (`transfer_lookup_key`) and the old one is archived, as Stripe prices
cannot be edited.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import stripe

from ..database import write_transaction
from ..extensions import db
from . import catalog, stripe_api

if TYPE_CHECKING:
    from stripe.params import PriceCreateParams


@dataclass(frozen=True)
class SyncedPrice:
    """One line of the table `stripe-setup` prints."""

    key: str
    product_id: str
    price_id: str
    amount_cents: int
    action: str


def _wanted(item, recurring: str | None) -> dict:
    return {
        "lookup_key": f"tokenapp_{item.key}",
        "unit_amount": item.price_cents,
        "currency": item.currency,
        "recurring": recurring,
    }


def _matches(price, wanted: dict) -> bool:
    recurring = stripe_api.field(stripe_api.field(price, "recurring", {}), "interval")
    return (
        price.unit_amount == wanted["unit_amount"]
        and price.currency == wanted["currency"]
        and recurring == wanted["recurring"]
        and price.active
    )


def _product(client: stripe.StripeClient, item, existing_price: stripe.Price | None, description: str) -> str:
    name, metadata = f"{item.name}", {"tokenapp_key": item.key}
    if existing_price is not None:
        product = client.v1.products.retrieve(
            cast(str, stripe_api.object_id(existing_price.product))
        )  # a Price has one
        if (product.name, product.description) != (name, description):
            client.v1.products.update(
                product.id, params={"name": name, "description": description, "metadata": metadata}
            )
        return product.id
    return client.v1.products.create(
        params={"name": name, "description": description, "metadata": metadata},
        options={"idempotency_key": f"tokenapp-product-{item.key}"},
    ).id


def _sync_one(client: stripe.StripeClient, item, description: str, recurring: str | None = None) -> SyncedPrice:
    wanted = _wanted(item, recurring)
    found = client.v1.prices.list(params={"lookup_keys": [wanted["lookup_key"]], "limit": 1}).data
    existing = found[0] if found else None
    product_id = _product(client, item, existing, description)
    if existing is not None and _matches(existing, wanted):
        return SyncedPrice(item.key, product_id, existing.id, item.price_cents, "unchanged")
    params: PriceCreateParams = {
        "product": product_id,
        "unit_amount": wanted["unit_amount"],
        "currency": wanted["currency"],
        "lookup_key": wanted["lookup_key"],
        "transfer_lookup_key": True,
        "metadata": {"tokenapp_key": item.key},
    }
    if recurring:
        params["recurring"] = {"interval": recurring}
    price = client.v1.prices.create(params=params)
    if existing is not None:
        client.v1.prices.update(existing.id, params={"active": False})
    return SyncedPrice(item.key, product_id, price.id, item.price_cents, "updated" if existing else "created")


def sync() -> list[SyncedPrice]:
    """Create or update Stripe's products and prices; store their ids; return what was done."""
    client = stripe_api.client()
    results = []
    for package in catalog.active_packages():
        description = f"{package.total_tokens} tokens for the AI career tools"
        results.append(_sync_one(client, package, description))
    plan = catalog.active_plan()
    if plan is not None:
        results.append(_sync_one(client, plan, plan.description, recurring=plan.interval))
    _store(results)
    return results


def _store(results: list[SyncedPrice]) -> None:
    by_key = {result.key: result for result in results}
    with write_transaction():
        for item in [*catalog.active_packages(), catalog.active_plan()]:
            if item is not None and item.key in by_key:
                item.stripe_product_id = by_key[item.key].product_id
                item.stripe_price_id = by_key[item.key].price_id
        db.session.flush()
