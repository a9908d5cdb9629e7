"""List objects with cursor pagination, and `expand[]` of ids into objects."""

from .errors import StripeError, invalid, no_such

LIST_SPEC = {"limit": "int", "starting_after": "str", "ending_before": "str"}


def list_object(items: list, url: str, has_more: bool = False) -> dict:
    """Stripe's list envelope."""
    return {"object": "list", "data": items, "has_more": has_more, "url": url}


def paginate(objects: list[dict], params: dict, url: str) -> dict:
    """Newest first, `limit` (1–100, default 10), `starting_after`/`ending_before` cursors."""
    limit = params.get("limit", 10)
    if not 1 <= limit <= 100:
        raise invalid("limit", "This value must be greater than or equal to 1 and less than or equal to 100.")
    newest = list(reversed(objects))
    ids = [obj["id"] for obj in newest]
    if params.get("starting_after"):
        start = _cursor(ids, params["starting_after"], "starting_after") + 1
        page = newest[start : start + limit]
        return list_object(page, url, start + limit < len(newest))
    if params.get("ending_before"):
        end = _cursor(ids, params["ending_before"], "ending_before")
        page = newest[max(0, end - limit) : end]
        return list_object(page, url, end - limit > 0)
    return list_object(newest[:limit], url, limit < len(newest))


def _cursor(ids: list[str], obj_id: str, param: str) -> int:
    """Where the cursor object sits in the list."""
    if obj_id not in ids:
        raise no_such("object", obj_id, param)
    return ids.index(obj_id)


def expand(state, value, path: str, includables: dict):
    """A copy of `value` with the id at dotted `path` replaced by its object."""
    if isinstance(value, list):
        return [expand(state, item, path, includables) for item in value]
    if not isinstance(value, dict):
        return value
    head, _, rest = path.partition(".")
    include = includables.get((value.get("object"), head))
    if head not in value and include is None:
        raise StripeError(f"This property cannot be expanded ({head}).", param="expand")
    child = value.get(head)
    if include is not None and child is None:
        child = include(state, value)
    elif isinstance(child, str):
        child = state.find(child) or child
    if rest:
        child = expand(state, child, rest, includables)
    return {**value, head: child}


def expand_all(state, body, paths: list[str], includables: dict):
    """Apply every `expand[]` path in turn."""
    for path in paths:
        body = expand(state, body, path, includables)
    return body
