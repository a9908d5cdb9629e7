"""Rules for the suite itself: tests share code only through tests/support/, never through
conftest.py or another test module (fixtures come from conftest.py files, which pytest loads)."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.settings import shell_env

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
    return [
        f"line {line}: imports {module}" for line, module in imported_modules(ast.parse(source)) if forbidden(module)
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(TESTS)))
def test_no_file_imports_a_conftest_or_a_test_module(path):
    assert offences(path.read_text()) == []


def test_the_rule_sees_every_way_of_importing():
    source = "\n".join(
        [
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
        ]
    )
    assert offences(source) == [
        "line 1: imports conftest",
        "line 2: imports conftest",
        "line 3: imports test_features",
        "line 4: imports tests.test_webhooks",
        "line 5: imports .test_journey",
        "line 6: imports .test_account",
        "line 8: imports browser.conftest",
    ]


def test_the_rule_covers_the_support_package_and_the_browser_tests():
    names = {str(path.relative_to(TESTS)) for path in SOURCES}
    assert {"conftest.py", "support/web.py", "browser/conftest.py", "test_suite_rules.py"} <= names


@pytest.mark.slow
def test_under_ci_a_skipped_test_fails_on_xdist_workers_too(tmp_path):
    """The root conftest.py turns a skip into a failure under CI=true, also when pytest-xdist runs the tests."""
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    shutil.copytree(TESTS / "support", tmp_path / "support")
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n\ndef test_runs():\n    pass\n\n\ndef test_skips():\n    pytest.skip('no Chromium here')\n"
    )
    env = shell_env(CI="true", TEST_DATABASE_URL="postgresql://nobody@127.0.0.1:1/unused")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rf",
            "-c",
            os.devnull,
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(TESTS.parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "[gw" in run.stdout, run.stdout + run.stderr  # the failure was reported from a worker
    assert "FAILED test_skips.py::test_skips - skipped under CI=true, which is not allowed" in run.stdout, run.stdout
    assert "1 failed, 1 passed" in run.stdout and run.returncode == 1, run.stdout
