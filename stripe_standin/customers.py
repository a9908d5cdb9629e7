"""Customers: create, retrieve, update, list by email."""

from .api import route
from .listing import LIST_SPEC, paginate
from .params import merge_metadata
from .state import snapshot_fields
from .util import new_id

CUSTOMER_FIELDS = {
    "email": "str",
    "name": "str",
    "description": "str",
    "phone": "str",
    "metadata": "meta",
    "address": "any",
    "preferred_locales": "strs",
}


def new_customer(state, email=None, name=None, metadata=None, **fields) -> dict:
    """Store a Customer with Stripe's fields and emit customer.created."""
    customer = state.add(
        {
            "id": new_id("cus", 14),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": state.now(),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": fields.get("description"),
            "email": email,
            "invoice_prefix": new_id("X", 6)[2:].upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": metadata or {},
            "name": name,
            "phone": fields.get("phone"),
            "preferred_locales": fields.get("preferred_locales", []),
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
    )
    state.emit("customer.created", customer)
    return customer


@route("/v1/customers", ["POST"], CUSTOMER_FIELDS)
def create_customer(state, params):
    """POST /v1/customers."""
    params.pop("address", None)
    return new_customer(state, **params)


@route("/v1/customers/<customer_id>")
def retrieve_customer(state, params, customer_id):
    """GET /v1/customers/:id."""
    return state.get("customer", customer_id)


@route("/v1/customers/<customer_id>", ["POST"], CUSTOMER_FIELDS)
def update_customer(state, params, customer_id):
    """POST /v1/customers/:id."""
    customer = state.get("customer", customer_id)
    params.pop("address", None)
    previous = snapshot_fields(customer, *params)
    metadata = merge_metadata(customer["metadata"], params.pop("metadata", None))
    customer.update(params, metadata=metadata)
    state.emit("customer.updated", customer, previous)
    return customer


@route("/v1/customers", spec={**LIST_SPEC, "email": "str"})
def list_customers(state, params):
    """GET /v1/customers, filtered by exact `email`."""
    customers = [c for c in state.all("customer") if params.get("email") in (None, c["email"])]
    return paginate(customers, params, "/v1/customers")
