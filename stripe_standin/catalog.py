"""Products and Prices: create, retrieve, update (archive), list with filters."""

from .api import route
from .errors import StripeError, invalid
from .listing import LIST_SPEC, paginate
from .params import merge_metadata, require
from .state import snapshot_fields
from .util import new_id

INTERVALS = ("day", "week", "month", "year")
PRODUCT_FIELDS = {
    "name": "str",
    "description": "str",
    "metadata": "meta",
    "active": "bool",
    "images": "strs",
    "url": "str",
    "statement_descriptor": "str",
    "unit_label": "str",
    "tax_code": "str",
    "default_price": "str",
}
PRICE_UPDATE = {
    "active": "bool",
    "lookup_key": "str",
    "transfer_lookup_key": "bool",
    "metadata": "meta",
    "nickname": "str",
    "tax_behavior": "str",
}
PRICE_CREATE = {
    **PRICE_UPDATE,
    "product": "str",
    "product_data": {"name": "str", "metadata": "meta"},
    "unit_amount": "int",
    "currency": "str",
    "recurring": {"interval": "str", "interval_count": "int", "usage_type": "str"},
    "billing_scheme": "str",
}


@route("/v1/products", ["POST"], {**PRODUCT_FIELDS, "id": "str"})
def create_product(state, params):
    """POST /v1/products."""
    require(params, "name")
    if params.get("id") and state.find(params["id"]):
        raise StripeError("Product already exists.", param="id", code="resource_already_exists")
    product = state.add(new_product(state, params))
    state.emit("product.created", product)
    return product


def new_product(state, params: dict) -> dict:
    """A Product object with Stripe's fields."""
    now = state.now()
    return {
        "id": params.get("id") or new_id("prod", 14),
        "object": "product",
        "active": params.get("active", True),
        "created": now,
        "default_price": None,
        "description": params.get("description"),
        "images": params.get("images", []),
        "livemode": False,
        "marketing_features": [],
        "metadata": params.get("metadata", {}),
        "name": params["name"],
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": params.get("statement_descriptor"),
        "tax_code": None,
        "type": "service",
        "unit_label": params.get("unit_label"),
        "updated": now,
        "url": params.get("url"),
    }


@route("/v1/products/<product_id>")
def retrieve_product(state, params, product_id):
    """GET /v1/products/:id."""
    return state.get("product", product_id)


@route("/v1/products/<product_id>", ["POST"], PRODUCT_FIELDS)
def update_product(state, params, product_id):
    """POST /v1/products/:id."""
    product = state.get("product", product_id)
    if params.get("default_price"):
        state.get("price", params["default_price"], "default_price")
    previous = snapshot_fields(product, *params)
    metadata = merge_metadata(product["metadata"], params.pop("metadata", None))
    product.update(params, metadata=metadata, updated=state.now())
    state.emit("product.updated", product, previous)
    return product


@route("/v1/products", spec={**LIST_SPEC, "active": "bool", "ids": "strs"})
def list_products(state, params):
    """GET /v1/products, filtered by `active` and `ids`."""
    products = [
        p
        for p in state.all("product")
        if params.get("active") in (None, p["active"]) and ("ids" not in params or p["id"] in params["ids"])
    ]
    return paginate(products, params, "/v1/products")


@route("/v1/prices", ["POST"], PRICE_CREATE)
def create_price(state, params):
    """POST /v1/prices."""
    require(params, "currency")
    product = price_product(state, params)
    if params.get("unit_amount") is None:
        raise invalid("unit_amount", "Missing required param: unit_amount.", "parameter_missing")
    if params["unit_amount"] < 0:
        raise invalid("unit_amount", "This value must be greater than or equal to 0.")
    recurring = recurring_of(params.get("recurring"))
    price = new_price(state, params, product["id"], recurring)
    take_lookup_key(state, price, params.get("lookup_key"), params.get("transfer_lookup_key"))
    state.add(price)
    state.emit("price.created", price)
    return price


def price_product(state, params: dict) -> dict:
    """The price's product: an existing one, or one made from `product_data`."""
    if params.get("product"):
        return state.get("product", params["product"], "product")
    if not params.get("product_data"):
        raise invalid("product", "Missing required param: product.", "parameter_missing")
    require(params["product_data"], "name")
    product = state.add(new_product(state, params["product_data"]))
    state.emit("product.created", product)
    return product


def recurring_of(recurring: dict | None) -> dict | None:
    """A price's `recurring` hash, checked."""
    if recurring is None:
        return None
    if recurring.get("interval") not in INTERVALS:
        raise invalid("recurring[interval]", "Invalid recurring[interval]: must be one of day, week, month, or year")
    return {
        "interval": recurring["interval"],
        "interval_count": recurring.get("interval_count", 1),
        "meter": None,
        "trial_period_days": None,
        "usage_type": recurring.get("usage_type", "licensed"),
    }


def new_price(state, params: dict, product_id: str, recurring) -> dict:
    """A Price object with Stripe's fields."""
    amount = params["unit_amount"]
    return {
        "id": new_id("price"),
        "object": "price",
        "active": params.get("active", True),
        "billing_scheme": "per_unit",
        "created": state.now(),
        "currency": params["currency"].lower(),
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": params.get("metadata", {}),
        "nickname": params.get("nickname"),
        "product": product_id,
        "recurring": recurring,
        "tax_behavior": params.get("tax_behavior", "unspecified"),
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
    }


def take_lookup_key(state, price: dict, key: str | None, transfer: bool | None) -> None:
    """Give `price` the lookup key; another price holding it needs `transfer_lookup_key`."""
    if not key:
        price["lookup_key"] = None
        return
    for other in state.all("price"):
        if other["lookup_key"] == key and other["id"] != price["id"]:
            if not transfer:
                raise invalid("lookup_key", f"A price (`{other['id']}`) already uses that lookup key.")
            other["lookup_key"] = None
            state.emit("price.updated", other, {"lookup_key": key})
    price["lookup_key"] = key


@route("/v1/prices/<price_id>")
def retrieve_price(state, params, price_id):
    """GET /v1/prices/:id."""
    return state.get("price", price_id)


@route("/v1/prices/<price_id>", ["POST"], PRICE_UPDATE)
def update_price(state, params, price_id):
    """POST /v1/prices/:id: archive with active=false, move a lookup key."""
    price = state.get("price", price_id)
    previous = snapshot_fields(price, *(k for k in params if k != "transfer_lookup_key"))
    if "lookup_key" in params:
        take_lookup_key(state, price, params.pop("lookup_key"), params.get("transfer_lookup_key"))
    params.pop("transfer_lookup_key", None)
    metadata = merge_metadata(price["metadata"], params.pop("metadata", None))
    price.update(params, metadata=metadata)
    state.emit("price.updated", price, previous)
    return price


PRICE_FILTERS = {
    "active": "bool",
    "product": "str",
    "currency": "str",
    "type": "str",
    "lookup_keys": "strs",
    "recurring": "any",
}


@route("/v1/prices", spec={**LIST_SPEC, **PRICE_FILTERS})
def list_prices(state, params):
    """GET /v1/prices, filtered by active, product, currency, type, lookup_keys[]."""

    def keep(price):
        return (
            params.get("active") in (None, price["active"])
            and all(params.get(f) in (None, price[f]) for f in ("product", "currency", "type"))
            and ("lookup_keys" not in params or price["lookup_key"] in params["lookup_keys"])
        )

    return paginate([p for p in state.all("price") if keep(p)], params, "/v1/prices")
