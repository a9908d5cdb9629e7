"""Form bodies in Stripe's bracket notation, checked against a small schema.

A spec maps each accepted name to a kind: "str", "int", "bool", "meta"
(metadata: str → str, "" clears), "strs" (list of str), "any" (accepted and
ignored), a nested spec dict, or a one-element list `[spec]` for a list of
nested objects. Unknown names are refused as Stripe refuses them.
"""

import re

from .errors import invalid, missing, unknown

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_pairs(pairs) -> dict:
    """`[("line_items[0][price]", "p")]` → `{"line_items": {"0": {"price": "p"}}}`."""
    root: dict = {}
    for key, value in pairs:
        match = _KEY.match(key)
        parts = [key] if not match else [match[1], *re.findall(r"\[([^\[\]]*)\]", match[2])]
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            node[part] = child = child if isinstance(child, dict) else {}
            node = child
        last = parts[-1] if parts[-1] != "" else str(len(node))
        node[last] = value
    return root


def as_list(value, name: str) -> list:
    """A dict with integer keys, or a lone value, as a list in index order."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if not all(key.isdigit() for key in value):
            raise invalid(name, f"Invalid array: {name}")
        return [value[key] for key in sorted(value, key=int)]
    return [value] if value != "" else []


def _scalar(kind: str, value, name: str):
    """Coerce one form value to `kind`."""
    if isinstance(value, (dict, list)):
        raise invalid(name, f"Invalid {'string' if kind == 'str' else kind}: {{...}}")
    if kind == "int":
        if not re.fullmatch(r"-?\d+", value):
            raise invalid(name, f"Invalid integer: {value}")
        return int(value)
    if kind == "bool":
        if value not in ("true", "false"):
            raise invalid(name, f"Invalid boolean: {value}")
        return value == "true"
    return value


def _metadata(value, name: str) -> dict:
    """Metadata values stay strings; `metadata=` (empty) means clear all."""
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(name, "Invalid object")
    return {key: _scalar("str", item, f"{name}[{key}]") for key, item in value.items()}


def check(params: dict, spec: dict, prefix: str = "") -> dict:
    """Refuse unknown names and coerce each value to its kind."""
    result = {}
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if key not in spec:
            raise unknown(name)
        result[key] = _coerce(spec[key], value, name)
    return result


def _coerce(kind, value, name: str):
    """Coerce one value of any kind."""
    if kind == "any":
        return value
    if kind == "meta":
        return _metadata(value, name)
    if kind == "strs":
        return [_scalar("str", item, name) for item in as_list(value, name)]
    if isinstance(kind, list):
        items = as_list(value, name)
        return [check(_object(item, f"{name}[{i}]"), kind[0], f"{name}[{i}]") for i, item in enumerate(items)]
    if isinstance(kind, dict):
        return check(_object(value, name), kind, name)
    return _scalar(kind, value, name)


def _object(value, name: str) -> dict:
    """A nested object; an empty string stands for an empty one."""
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(name, f"Invalid object: {name}")
    return value


def require(params: dict, *names: str) -> None:
    """400 parameter_missing for the first absent or empty name."""
    for name in names:
        if params.get(name) in (None, ""):
            raise missing(name)


def merge_metadata(current: dict, update: dict | None) -> dict:
    """Stripe's update rule: new keys set, empty values unset, `metadata=` clears."""
    if update is None:
        return current
    if not update:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
