"""The /v1 blueprint: API-key auth, form parsing, idempotency keys, `expand[]`.

Resource modules register their views with `route`; each view gets the
state and the checked params and returns the object to send (or raises
StripeError), always under the state lock.
"""

import copy

from flask import Blueprint, current_app, request

from .errors import StripeError
from .listing import expand_all
from .params import as_list, check, parse_pairs
from .util import json_response, new_id

bp = Blueprint("stripe_standin_v1", __name__)
INCLUDABLES: dict = {}
NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the "
    "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
    "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details."
)


def current_state():
    """The State of the stand-in app handling this request."""
    return current_app.extensions["stripe_standin"]


def route(rule: str, methods=("GET",), spec: dict | None = None):
    """Register a view under /v1 with the params it accepts."""

    def decorate(fn):
        def view(**url_args):
            return handle(fn, {**(spec or {}), "expand": "strs"}, url_args)

        bp.add_url_rule(rule, fn.__name__, view, methods=list(methods))
        return fn

    return decorate


def includable(kind: str, field: str):
    """Register a field that exists only when expanded, e.g. a session's line_items."""

    def decorate(fn):
        INCLUDABLES[(kind, field)] = fn
        return fn

    return decorate


def api_key() -> str:
    """The secret key from Bearer (or Basic) auth; 401 if absent or not a test key."""
    auth = request.authorization
    key = auth.token if auth and auth.type == "bearer" else auth.username if auth else None
    if not key:
        raise StripeError(NO_KEY, status=401)
    if not key.startswith(("sk_test_", "rk_test_")):
        raise StripeError(f"Invalid API Key provided: {key[:8]}{'*' * 12}{key[-4:]}", status=401)
    return key


def handle(fn, spec: dict, url_args: dict):
    """Authenticate, replay or run the view under the lock, and answer."""
    headers = {"Request-Id": new_id("req", 14)}
    try:
        key = api_key()
    except StripeError as error:
        return error.response(headers)
    pairs = list((request.form if request.method == "POST" else request.args).items(multi=True))
    idem_key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
    state = current_state()
    with state.lock:
        state.requests[(request.method, request.path)] += 1
        saved = state.idempotency.get((key, idem_key)) if idem_key else None
        if saved:
            return replay(saved, request.path, pairs, idem_key, headers)
        status, body = run(state, fn, spec, pairs, url_args, headers["Request-Id"], idem_key)
        if idem_key and status < 500:
            state.idempotency[(key, idem_key)] = (request.path, sorted(pairs), status, body)
    if idem_key:
        headers["Idempotency-Key"] = idem_key
    return json_response(body, status, headers)


def run(state, fn, spec, pairs, url_args, request_id, idem_key):
    """The view's (status, body), events tagged with this request."""
    state.request_info = {"id": request_id, "idempotency_key": idem_key}
    try:
        params = check(parse_pairs(pairs), spec)
        paths = as_list(params.pop("expand", []), "expand")
        body = expand_all(state, fn(state, params, **url_args), paths, INCLUDABLES)
        return 200, copy.deepcopy(body)  # a snapshot: later changes must not leak into it
    except StripeError as error:
        return error.status, error.body()
    finally:
        state.request_info = {"id": None, "idempotency_key": None}


def replay(saved, path, pairs, idem_key, headers):
    """The saved answer for a reused key, or 400 idempotency_error if the request differs."""
    saved_path, saved_pairs, status, body = saved
    if saved_path != path:
        message = (
            f"Keys for idempotent requests can only be used for the same endpoint they "
            f"were first used for ('{saved_path}' vs '{path}'). Try using a key other "
            f"than '{idem_key}' if you meant to execute a different request."
        )
        return StripeError(message, type="idempotency_error").response(headers)
    if saved_pairs != sorted(pairs):
        message = (
            f"Keys for idempotent requests can only be used with the same parameters "
            f"they were first used with. Try using a key other than '{idem_key}' if you "
            f"meant to execute a different request."
        )
        return StripeError(message, type="idempotency_error").response(headers)
    headers.update({"Idempotency-Key": idem_key, "Idempotent-Replayed": "true"})
    return json_response(body, status, headers)
