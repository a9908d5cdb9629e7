"""GET /api/openapi.json: the JSON API described in OpenAPI 3.1 (public, like the webhook).

The document is a plain dict kept beside the views it describes; the test suite
checks that it is valid OpenAPI 3.1, that every /api route appears in it, and
fuzzes every operation against it with schemathesis.
"""

from flask import jsonify

from ..models import RunStatus
from . import bp

KEY = {"type": "string", "pattern": "^[a-z0-9_]{1,40}$", "maxLength": 40}
IDEMPOTENCY_KEY = {
    "type": "string",
    "pattern": "^[!-~]{1,255}$",
    "maxLength": 255,
    "description": "1 to 255 visible ASCII characters; the same key charges once.",
}
TIMESTAMP = {"type": "string", "format": "date-time"}


def _object(properties: dict, required: list[str] | None = None, **extra) -> dict:
    return {"type": "object", "properties": properties, "required": required or list(properties), **extra}


def _json(schema: dict, **example) -> dict:
    return {"content": {"application/json": {"schema": schema, **({"example": example} if example else {})}}}


def _ok(description: str, schema: dict) -> dict:
    return {"description": description, **_json(schema)}


def _error(description: str) -> dict:
    return {"description": description, **_json({"$ref": "#/components/schemas/Error"})}


def _errors(*statuses: int) -> dict:
    """The shared error answers, each a `{error, message}` body."""
    return {str(status): {"$ref": f"#/components/responses/{_RESPONSE_NAMES[status]}"} for status in statuses}


_RESPONSE_NAMES = {
    400: "BadRequest",
    401: "Unauthenticated",
    404: "NotFound",
    413: "TooLarge",
    429: "RateLimited",
    503: "Unavailable",
}
READ: list[dict[str, list[str]]] = [{"sessionCookie": []}]
WRITE: list[dict[str, list[str]]] = [{"sessionCookie": [], "csrfHeader": []}]
COMMON = (400, 401, 429, 503)

RUN = _object(
    {
        "run_id": {"type": "string"},
        "feature_key": {"type": "string"},
        "status": {"type": "string", "enum": [status.value for status in RunStatus]},
        "output": {"type": ["object", "null"]},
        "error": {"type": ["string", "null"]},
        "created_at": TIMESTAMP,
    }
)

PATHS = {
    "/api/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "security": [],
            "responses": {
                "200": _ok("The OpenAPI 3.1 description of the JSON API.", {"type": "object"}),
                **_errors(429),
            },
        }
    },
    "/api/tokens/balance": {
        "get": {
            "operationId": "balance",
            "summary": "The caller's balance.",
            "security": READ,
            "responses": {
                "200": _ok(
                    "The balance.",
                    _object(
                        {
                            "balance": {"type": "integer", "minimum": 0},
                            "is_unlimited": {"type": "boolean"},
                            "low_balance": {"type": "boolean"},
                            "debt": {"type": "integer", "minimum": 0},
                        }
                    ),
                ),
                **_errors(*COMMON),
            },
        }
    },
    "/api/tokens/features": {
        "get": {
            "operationId": "features",
            "summary": "Every active AI feature and its cost.",
            "security": READ,
            "responses": {
                "200": _ok(
                    "The features.",
                    _object(
                        {
                            "features": {
                                "type": "array",
                                "items": _object(
                                    {
                                        "key": {"type": "string"},
                                        "name": {"type": "string"},
                                        "description": {"type": "string"},
                                        "cost": {"type": "integer", "minimum": 0},
                                    }
                                ),
                            }
                        }
                    ),
                ),
                **_errors(*COMMON),
            },
        }
    },
    "/api/tokens/packages": {
        "get": {
            "operationId": "packages",
            "summary": "Every token package on sale.",
            "security": READ,
            "responses": {
                "200": _ok(
                    "The packages.",
                    _object(
                        {
                            "packages": {
                                "type": "array",
                                "items": _object(
                                    {
                                        "key": {"type": "string"},
                                        "name": {"type": "string"},
                                        "tokens": {"type": "integer", "minimum": 1},
                                        "bonus_tokens": {"type": "integer", "minimum": 0},
                                        "price_cents": {"type": "integer", "minimum": 0},
                                        "currency": {"type": "string"},
                                    }
                                ),
                            }
                        }
                    ),
                ),
                **_errors(*COMMON),
            },
        }
    },
    "/api/tokens/deduct": {
        "post": {
            "operationId": "deduct",
            "summary": "Hold a feature's cost; the same idempotency key charges once.",
            "security": WRITE,
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": IDEMPOTENCY_KEY}],
            "requestBody": {
                "required": True,
                **_json(
                    _object({"feature_key": KEY, "idempotency_key": IDEMPOTENCY_KEY}, ["feature_key"]),
                    feature_key="cover_letter",
                ),
            },
            "responses": {
                "201": _ok(
                    "The held charge (header Idempotent-Replayed: true when the key was seen before).",
                    _object(
                        {
                            "charge_id": {"type": "string"},
                            "feature_key": {"type": "string"},
                            "cost": {"type": "integer", "minimum": 0},
                            "balance": {"type": "integer", "minimum": 0},
                        }
                    ),
                ),
                "402": _ok(
                    "insufficient_tokens: the balance is short.",
                    {
                        "allOf": [
                            {"$ref": "#/components/schemas/Error"},
                            _object({"balance": {"type": "integer"}, "cost": {"type": "integer"}}),
                        ]
                    },
                ),
                "409": _error("idempotency_conflict: the key was used for another feature."),
                **_errors(*COMMON, 413),
            },
        }
    },
    "/api/tokens/transactions": {
        "get": {
            "operationId": "transactions",
            "summary": "The caller's ledger, newest first, a page at a time.",
            "security": READ,
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                },
                {
                    "name": "cursor",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 40},
                    "description": "next_cursor from the previous page.",
                },
            ],
            "responses": {
                "200": _ok(
                    "A page of transactions.",
                    _object(
                        {
                            "transactions": {
                                "type": "array",
                                "items": _object(
                                    {
                                        "id": {"type": "integer"},
                                        "type": {
                                            "type": "string",
                                            "enum": [
                                                "purchase",
                                                "spend",
                                                "refund",
                                                "bonus",
                                                "gift_in",
                                                "gift_out",
                                                "adjustment",
                                                "reversal",
                                                "expiry",
                                            ],
                                        },
                                        "amount": {"type": "integer"},
                                        "balance_after": {"type": "integer", "minimum": 0},
                                        "feature_key": {"type": ["string", "null"]},
                                        "created_at": TIMESTAMP,
                                    }
                                ),
                            },
                            "next_cursor": {"type": ["string", "null"]},
                        }
                    ),
                ),
                **_errors(*COMMON),
            },
        }
    },
    "/api/tokens/checkout": {
        "post": {
            "operationId": "checkout",
            "summary": "Open a Stripe Checkout Session for a token package.",
            "security": WRITE,
            "requestBody": {"required": True, **_json(_object({"package_key": KEY}), package_key="starter")},
            "responses": {
                "201": _ok(
                    "Send the payer to checkout_url.",
                    _object({"checkout_url": {"type": "string"}, "purchase_id": {"type": "integer"}}),
                ),
                **_errors(*COMMON, 413),
            },
        }
    },
    "/api/stripe/webhooks": {
        "post": {
            "operationId": "stripeWebhook",
            "summary": "Stripe's events, verified by their signature (no CSRF).",
            "security": [],
            "parameters": [
                {"name": "Stripe-Signature", "in": "header", "required": False, "schema": {"type": "string"}}
            ],
            "requestBody": {"required": True, **_json({"type": "object"})},
            "responses": {
                "200": _ok(
                    "Stored and acted on, or a duplicate.",
                    _object({"received": {"type": "boolean"}, "duplicate": {"type": "boolean"}}),
                ),
                "400": {"$ref": "#/components/responses/BadRequest"},
                "429": {"$ref": "#/components/responses/RateLimited"},
                "500": _error("Processing failed; Stripe retries the event."),
            },
        }
    },
    "/api/features/{feature_key}/runs": {
        "post": {
            "operationId": "startRun",
            "summary": "Spend a held charge on one run of its feature.",
            "security": WRITE,
            "parameters": [{"name": "feature_key", "in": "path", "required": True, "schema": KEY}],
            "requestBody": {
                "required": True,
                **_json(
                    _object(
                        {
                            "charge_id": {
                                "type": "string",
                                "minLength": 1,
                                "description": "From POST /api/tokens/deduct.",
                            },
                            "inputs": {
                                "type": "object",
                                "additionalProperties": {"type": ["string", "integer"]},
                                "description": "The feature's form fields by name.",
                            },
                        },
                        ["charge_id"],
                    )
                ),
            },
            "responses": {
                "202": _ok("The run, queued; poll GET /api/features/runs/{run_id}.", RUN),
                "409": _error("charge_not_usable: the charge is used, expired, refunded or not for this feature."),
                **_errors(*COMMON, 404, 413),
            },
        }
    },
    "/api/features/runs/{run_id}": {
        "get": {
            "operationId": "runStatus",
            "summary": "One of the caller's runs, with its output once done.",
            "security": READ,
            "parameters": [
                {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 40}}
            ],
            "responses": {"200": _ok("The run.", RUN), **_errors(*COMMON, 404)},
        }
    },
}

SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "tokenapp JSON API",
        "version": "1",
        "description": "Prepaid tokens for AI features. Session-cookie auth (log in through /auth/login); "
        "every state-changing call also sends X-CSRFToken, the page's csrf-token meta value. "
        "Every error is {error, message}; any call may answer 429 rate_limited.",
    },
    "paths": PATHS,
    "components": {
        "securitySchemes": {
            "sessionCookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": "session",
                "description": "The signed session cookie set by /auth/login.",
            },
            "csrfHeader": {
                "type": "apiKey",
                "in": "header",
                "name": "X-CSRFToken",
                "description": "The csrf-token meta value of any page; required on POST.",
            },
        },
        "schemas": {
            "Error": _object({"error": {"type": "string"}, "message": {"type": "string"}}, additionalProperties=True)
        },
        "responses": {
            "BadRequest": _error(
                "invalid_request and the other refusals of input (unknown_feature, "
                "unknown_package, invalid_input, csrf_failed, ...)."
            ),
            "Unauthenticated": _error("unauthenticated: log in first."),
            "NotFound": _error("not_found."),
            "TooLarge": _error("too_large: the body is over the size limit."),
            "RateLimited": {
                "description": "rate_limited: try again after Retry-After seconds.",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                **_json({"$ref": "#/components/schemas/Error"}),
            },
            "Unavailable": _error("service_unavailable / payments_unavailable: try again later."),
        },
    },
}


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(SPEC)
