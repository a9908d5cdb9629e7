"""Rules for the suite itself: tests share code only through tests/support/, never through
conftest.py or another test module (fixtures come from conftest.py files, which pytest loads)."""

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SOURCES = sorted(TESTS.rglob("*.py"))


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, dotted name) of every module an `import` or `from ... import` names, anywhere in the file."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, "." * node.level + (node.module or "")))
            if node.module is None:  # `from . import test_x` names the module in the imported names
                found += [(node.lineno, "." * node.level + alias.name) for alias in node.names]
    return found


def forbidden(module: str) -> bool:
    """True for conftest and for any test module, however it is reached (`tests.test_x`, `.test_x`, `test_x`)."""
    return any(part == "conftest" or part.startswith("test_") for part in module.lstrip(".").split("."))


def offences(source: str) -> list[str]:
    return [f"line {line}: imports {module}" for line, module in imported_modules(ast.parse(source))
            if forbidden(module)]


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(TESTS)))
def test_no_file_imports_a_conftest_or_a_test_module(path):
    assert offences(path.read_text()) == []


def test_the_rule_sees_every_way_of_importing():
    source = "\n".join([
        "from conftest import make_app",
        "import conftest",
        "from test_features import run_through_gate",
        "import tests.test_webhooks as webhooks",
        "from .test_journey import sign_up",
        "from . import test_account",
        "def helper():",
        "    from browser.conftest import LiveServer",
        "from support.web import csrf_token",
        "import testing_tools",
    ])
    assert offences(source) == [
        "line 1: imports conftest", "line 2: imports conftest", "line 3: imports test_features",
        "line 4: imports tests.test_webhooks", "line 5: imports .test_journey", "line 6: imports .test_account",
        "line 8: imports browser.conftest",
    ]


def test_the_rule_covers_the_support_package_and_the_browser_tests():
    names = {str(path.relative_to(TESTS)) for path in SOURCES}
    assert {"conftest.py", "support/web.py", "browser/conftest.py", "test_suite_rules.py"} <= names
