"""/api/tokens: balance, catalog, deduct and history."""

from flask import jsonify
from flask_login import current_user

from ..ratelimits import limited
from ..services import catalog, charges, history, ledger, purchases
from . import bp, parsing


def _balance_payload(view: ledger.BalanceView) -> dict:
    return {"balance": view.balance, "is_unlimited": view.is_unlimited, "low_balance": view.low, "debt": view.debt}


@bp.get("/tokens/balance")
def balance():
    """The caller's balance."""
    return jsonify(_balance_payload(ledger.balance_of(current_user.id)))


@bp.get("/tokens/features")
def features():
    """Every active AI feature and its cost."""
    return jsonify(features=[feature.to_dict() for feature in catalog.active_features()])


@bp.get("/tokens/packages")
def packages():
    """Every token package on sale."""
    return jsonify(packages=[package.to_dict() for package in catalog.active_packages()])


@bp.post("/tokens/deduct")
@limited("deduct")
def deduct():
    """Charge a feature's cost; the same idempotency key charges once."""
    body = parsing.json_object()
    feature_key = parsing.catalog_key(body, "feature_key")
    key = parsing.idempotency_key(body)
    result = charges.charge(current_user.id, feature_key, key)
    payload = {
        "charge_id": result.charge_id,
        "feature_key": result.feature_key,
        "cost": result.cost,
        "balance": result.balance,
    }
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return jsonify(payload), 201, headers


@bp.get("/tokens/transactions")
def transactions():
    """The caller's ledger, newest first, a page at a time."""
    limit = parsing.bounded_int("limit", default=20, low=1, high=100)
    before_id = parsing.decode_cursor()
    rows, more = history.transactions_page(current_user.id, limit, before_id)
    next_cursor = parsing.encode_cursor(rows[-1].id) if more else None
    return jsonify(transactions=[row.to_dict() for row in rows], next_cursor=next_cursor)


@bp.post("/tokens/checkout")
@limited("checkout")
def checkout():
    """Open a Checkout Session for a token package."""
    body = parsing.json_object()
    package_key = parsing.catalog_key(body, "package_key")
    purchase_id, url = purchases.start_checkout(current_user, package_key)
    return jsonify(checkout_url=url, purchase_id=purchase_id), 201
