"""htmx conventions: merged HX-Trigger events, and telling the page its balance changed.

Any request that wrote a ledger row gets `HX-Trigger: tokens-changed`, so the
navbar badge refreshes itself whichever view changed the balance.
"""

import json

from flask import Flask, Response, g, has_request_context, request

from .signals import balance_changed

TOKENS_CHANGED = "tokens-changed"


def is_htmx() -> bool:
    """True when htmx made this request."""
    return request.headers.get("HX-Request") == "true"


def trigger(response: Response, event: str, detail=None) -> Response:
    """Add an event to HX-Trigger, keeping any already set (by a view or a helper)."""
    current = response.headers.get("HX-Trigger")
    events: dict = {}
    if current:
        try:
            parsed = json.loads(current)
            events = parsed if isinstance(parsed, dict) else {current: None}
        except ValueError:
            events = {name.strip(): None for name in current.split(",") if name.strip()}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def note_balance_changed(*_sender, **_details) -> None:
    """Mark this response as one that changed (or found changed) the balance.

    Subscribed to `signals.balance_changed`, which the ledger sends as it writes rows.
    """
    if has_request_context():
        g.tokens_changed = True


def _announce_balance_change(response: Response) -> Response:
    if g.get("tokens_changed") and response.status_code < 500:
        trigger(response, TOKENS_CHANGED)
    if is_htmx():
        response.vary.add("HX-Request")
    return response


def register(app: Flask) -> None:
    """Install the after-request hook, and listen for the ledger's balance changes."""
    balance_changed.connect(note_balance_changed)
    app.after_request(_announce_balance_change)
