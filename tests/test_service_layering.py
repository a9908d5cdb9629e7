"""Services import nothing from the web layer, and never answer HTTP themselves.

Read with `ast` from every service module (imports inside functions included): everything under
tokenapp/services, and everything under tokenapp/features but its one web module, `views`. No flask
request-scoped name (`request`, `g`, `session`, `abort`, responses, templates, flashes), no
flask_login / flask_wtf / werkzeug.exceptions, and nothing from tokenapp's web modules (htmx,
errors, the API, the blueprints and the features' views). `current_app` for settings, and
`url_for`, are allowed.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tokenapp"
SERVICES = PACKAGE / "services"
FEATURES = PACKAGE / "features"
FEATURE_VIEWS = FEATURES / "views.py"
FLASK_WEB_NAMES = {
    "request",
    "g",
    "session",
    "abort",
    "make_response",
    "redirect",
    "render_template",
    "render_template_string",
    "jsonify",
    "flash",
    "get_flashed_messages",
    "after_this_request",
    "stream_with_context",
    "send_file",
}
WEB_PACKAGES = {"flask_login", "flask_wtf", "werkzeug.exceptions"}
WEB_MODULES = {
    "htmx",
    "errors",
    "api",
    "ratelimits",
    "cookies",
    "compression",
    "security",
    "input_guard",
    "main",
    "auth",
    "account",
    "tokens",
    "payments",
}
WEB_SUBMODULES = {("features", "views")}  # the web module of an area whose other modules are services


def service_modules() -> list[Path]:
    """Every module that must stay out of the web layer."""
    return sorted([*SERVICES.rglob("*.py"), *(path for path in FEATURES.rglob("*.py") if path != FEATURE_VIEWS)])


def _absolute(module: str | None, level: int, path: Path) -> str:
    """The dotted name an import refers to, relative imports resolved against `path`."""
    if level == 0:
        return module or ""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)  # a package's own file ends in __init__
    return ".".join(parts[:-level] + ([module] if module else []))


def web_imports(source: str, path: Path) -> list[str]:
    """Each import of the web layer in one module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            origin = _absolute(node.module, node.level, path)
            targets = [(origin, alias.name) for alias in node.names]
        else:
            continue
        for module, name in targets:
            top = module.split(".")
            if module == "flask" and name in FLASK_WEB_NAMES:
                found.append(f"{node.lineno}: flask.{name}")
            elif any(module == web or module.startswith(web + ".") for web in WEB_PACKAGES):
                found.append(f"{node.lineno}: {module}")
            elif top[0] == "tokenapp" and (
                (len(top) > 1 and top[1] in WEB_MODULES)
                or (len(top) == 1 and name in WEB_MODULES)
                or (len(top) > 2 and tuple(top[1:3]) in WEB_SUBMODULES)
                or (len(top) == 2 and (top[1], name) in WEB_SUBMODULES)
            ):
                found.append(f"{node.lineno}: {module}{'.' + name if name else ''}")
    return found


def test_services_import_nothing_from_the_web_layer():
    offenders = {}
    for path in service_modules():
        found = web_imports(path.read_text(encoding="utf-8"), path)
        if found:
            offenders[str(path.relative_to(PACKAGE.parent))] = found
    assert offenders == {}


def test_services_call_no_abort():
    calls = []
    for path in service_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "abort":
                calls.append(f"{path.name}:{node.lineno}")
    assert calls == []


def test_the_scan_sees_each_kind_of_web_import():
    ledger = SERVICES / "ledger" / "__init__.py"
    module = SERVICES / "gate.py"
    assert web_imports("from ...htmx import note_balance_changed", ledger) == ["1: tokenapp.htmx.note_balance_changed"]
    assert web_imports("from ..htmx import is_htmx", module) == ["1: tokenapp.htmx.is_htmx"]
    assert web_imports("def f():\n    from ..api.parsing import IDEMPOTENCY_PATTERN", module)
    assert web_imports("from .. import htmx", module) == ["1: tokenapp.htmx"]
    assert web_imports("from flask import abort, current_app", module) == ["1: flask.abort"]
    assert web_imports("from flask import g", module) and web_imports("from flask import request", module)
    assert web_imports("import tokenapp.tokens.routes", module)
    assert web_imports("from flask_login import current_user", module)
    assert web_imports("from werkzeug.exceptions import BadRequest", module)
    assert not web_imports("from flask import current_app, url_for", module)
    assert not web_imports("from ..models import TokenAccount\nfrom .errors import NotFound", module)
    assert not web_imports("from ...signals import balance_changed", ledger)


def test_the_features_area_is_services_but_for_its_views():
    runs = FEATURES / "runs.py"
    assert FEATURES / "runner.py" in service_modules() and FEATURES / "__init__.py" in service_modules()
    assert FEATURE_VIEWS not in service_modules() and web_imports(
        FEATURE_VIEWS.read_text(encoding="utf-8"), FEATURE_VIEWS
    )
    assert web_imports("from .views import bp", runs) == ["1: tokenapp.features.views.bp"]
    assert web_imports("from . import views", FEATURES / "__init__.py") == ["1: tokenapp.features.views"]
    assert web_imports("from ..features.views import bp", SERVICES / "gate.py")
    assert web_imports("import tokenapp.features.views", runs)
    assert not web_imports("from . import runner, uploads\nfrom .forms import FORMS", runs)
    assert not web_imports("from ..services import charges\nfrom ..services.errors import NotFound", runs)
    assert not web_imports("from ..features import runs", SERVICES / "gate.py")


def test_a_balance_change_is_announced_by_signal_and_becomes_hx_trigger(app, api):
    from tokenapp.services import ledger
    from tokenapp.services.accounts import find_by_email
    from tokenapp.signals import balance_changed

    heard = []

    def listen(sender, **details):
        heard.append(details["user_id"])

    balance_changed.connect(listen)
    try:
        with app.app_context():
            owner = find_by_email("ada@example.com").id
            ledger.adjust(owner, 5, reason="test")  # outside any request: announced, nothing else happens
        assert heard == [owner]
        response = api.deduct("networking_message")
        assert response.status_code == 201 and heard == [owner, owner]
        assert response.headers["HX-Trigger"] == '{"tokens-changed": null}'
    finally:
        balance_changed.disconnect(listen)
