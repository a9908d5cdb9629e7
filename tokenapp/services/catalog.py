"""Reading and seeding the package and feature catalog."""

from sqlalchemy import select

from ..catalog_data import FEATURES, PACKAGES, PLANS, bulk_bonus
from ..database import write_transaction
from ..extensions import db
from ..models import AIFeature, SubscriptionPlan, TokenPackage


def active_features() -> list[AIFeature]:
    """Active features in catalog order."""
    return list(
        db.session.execute(
            select(AIFeature).where(AIFeature.is_active.is_(True)).order_by(AIFeature.sort_order, AIFeature.id)
        ).scalars()
    )


def feature_names() -> dict[str, str]:
    """Every feature's display name by key, inactive ones included (the history still names them)."""
    return {key: name for key, name in db.session.execute(select(AIFeature.key, AIFeature.name))}


def active_packages() -> list[TokenPackage]:
    """Active packages, cheapest first."""
    return list(
        db.session.execute(
            select(TokenPackage)
            .where(TokenPackage.is_active.is_(True))
            .order_by(TokenPackage.sort_order, TokenPackage.id)
        ).scalars()
    )


def active_plan(key: str = "unlimited") -> SubscriptionPlan | None:
    """The subscription plan with this key, if it is on sale."""
    return db.session.execute(
        select(SubscriptionPlan).where(SubscriptionPlan.key == key, SubscriptionPlan.is_active.is_(True))
    ).scalar()


def package_by_key(key: str) -> TokenPackage | None:
    """The active package with this key, if any."""
    return db.session.execute(
        select(TokenPackage).where(TokenPackage.key == key, TokenPackage.is_active.is_(True))
    ).scalar()


def _upsert(model, key: str, fields: dict) -> str:
    row = db.session.execute(select(model).where(model.key == key)).scalar()
    if row is None:
        db.session.add(model(key=key, **fields))
        return "created"
    changed = {name: value for name, value in fields.items() if getattr(row, name) != value}
    for name, value in changed.items():
        setattr(row, name, value)
    return "updated" if changed else "unchanged"


def seed() -> dict[str, int]:
    """Make the catalog match `catalog_data`; safe to run any number of times."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with write_transaction():
        for order, (key, name, tokens, price) in enumerate(PACKAGES):
            fields = {
                "name": name,
                "tokens": tokens,
                "bonus_tokens": bulk_bonus(tokens, price),
                "price_cents": price,
                "currency": "usd",
                "sort_order": order,
                "is_active": True,
            }
            counts[_upsert(TokenPackage, key, fields)] += 1
        for order, (key, name, category, cost, description) in enumerate(FEATURES):
            fields = {
                "name": name,
                "category": category,
                "cost": cost,
                "description": description,
                "sort_order": order,
                "is_active": True,
            }
            counts[_upsert(AIFeature, key, fields)] += 1
        for key, name, description, price, interval in PLANS:
            fields = {
                "name": name,
                "description": description,
                "price_cents": price,
                "interval": interval,
                "currency": "usd",
                "is_active": True,
            }
            counts[_upsert(SubscriptionPlan, key, fields)] += 1
    return counts
