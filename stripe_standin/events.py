"""Events over the API: retrieve one, list them (filtered by type)."""

from .api import route
from .listing import LIST_SPEC, paginate


@route("/v1/events/<event_id>")
def retrieve_event(state, params, event_id):
    """GET /v1/events/:id."""
    return state.get("event", event_id)


@route("/v1/events", spec={**LIST_SPEC, "type": "str", "types": "strs", "delivery_success": "bool"})
def list_events(state, params):
    """GET /v1/events, filtered by `type` (a trailing `*` matches a prefix) or `types[]`."""

    def keep(event):
        wanted = params.get("type")
        if wanted and not (event["type"] == wanted or (wanted.endswith("*") and event["type"].startswith(wanted[:-1]))):
            return False
        return "types" not in params or event["type"] in params["types"]

    return paginate([e for e in state.all("event") if keep(e)], params, "/v1/events")
