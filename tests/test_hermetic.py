"""A developer's `.env` and shell change no test: configuration reaches a test app only through
`create_app(environ=...)`, and a process a test starts gets every setting explicitly.

The last test runs part of the suite on a fresh copy of the repository with a hostile `.env`
at its top, where the app's loader looks, and hostile variables in its shell: every test passes.
"""

import ast
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

import tokenapp
from support.apps import make_app
from support.processes import ROOT, fresh_copy
from support.settings import TEST_SETTINGS, shell_env
from tokenapp import create_app

HOSTILE = {
    "TOKENAPP_ENV": "production",
    "SECRET_KEY": "hostile-secret-key",
    "DATABASE_URL": "postgresql://hostile@127.0.0.1:1/hostile",
    "APP_BASE_URL": "https://hostile.invalid",
    "WELCOME_BONUS_TOKENS": "0",
    "LOW_BALANCE_THRESHOLD": "99999",
    "CHARGE_TTL_SECONDS": "1",
    "STRIPE_SECRET_KEY": "sk_live_hostile",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_hostile",
    "STRIPE_WEBHOOK_SECRET": "whsec_hostile",
    "STRIPE_API_BASE": "http://127.0.0.1:1",
    "AI_PROVIDER": "openai",
    "OPENAI_API_KEY": "sk-hostile",
    "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
    "OPENAI_MODEL": "hostile",
    "OPENAI_TIMEOUT": "1",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "RATE_LIMITS": "on",
    "RUN_LEASE_SECONDS": "1",
    "JOB_TIMEOUT_SECONDS": "1",
    "JOB_PERIOD_SECONDS": "1",
    "RESUME_PARSE_SECONDS": "1",
    "RESUME_PARSE_MEMORY_MB": "128",
    "BONUS_TOKEN_EXPIRY_DAYS": "1",
    "PAID_TOKEN_EXPIRY_DAYS": "1",
    "FLASK_DEBUG": "1",
    "FLASK_APP": "hostile_nowhere",
    "WEB_CONCURRENCY": "9",
    "GUNICORN_CMD_ARGS": "--workers 9 --bind 127.0.0.1:1",
}
# In a .env only: the suite's own inputs, which it reads from the shell alone.
HOSTILE_DOTENV = {
    **HOSTILE,
    "TEST_DATABASE_URL": "postgresql://hostile@127.0.0.1:1/hostile",
    "TEST_REDIS_URL": "redis://127.0.0.1:1/0",
    "CI": "true",
}
# Settings, sign-up and the ledger, payments, features, rate limits and a real gunicorn: each reads settings.
REPRESENTATIVE = [
    "tests/test_config.py",
    "tests/test_ledger.py",
    "tests/test_secrets.py::test_explicit_values_win_and_write_nothing",
    "tests/test_secrets.py::test_the_old_constant_signs_no_session_cookie",
    "tests/test_secrets.py::test_the_old_derived_webhook_secret_signs_no_event",
    "tests/test_rate_limits.py::test_rate_limits_off_disables_every_limit",
    "tests/test_rate_limits.py::test_production_refuses_rate_limits_off",
    "tests/test_rate_limits.py::test_production_keys_addresses_by_the_proxy_header",
    "tests/test_rate_limits.py::test_deduct_flood_gets_429_json_with_retry_after_and_charges_nothing",
    "tests/test_payments_checkout.py::test_buy_pro_with_a_card_credits_600_once",
    "tests/test_features.py::test_a_failed_run_refunds_and_says_so",
    "tests/test_product_imports.py::test_a_gunicorn_worker_holds_no_standin_module",
]


def dotenv_text(values: dict) -> str:
    return "".join(f"{name}={value}\n" for name, value in values.items())


def settings_read_by_the_app() -> set[str]:
    """The variable names tokenapp/config.py reads: its upper-case string constants that are not dict keys."""
    tree = ast.parse((ROOT / "tokenapp" / "config.py").read_text())
    keys = {id(key) for node in ast.walk(tree) if isinstance(node, ast.Dict) for key in node.keys if key is not None}
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"[A-Z][A-Z0-9_]+", node.value)
        and id(node) not in keys
    }


def test_every_setting_the_app_reads_is_given_explicitly():
    read = settings_read_by_the_app()
    assert {"DATABASE_URL", "STRIPE_SECRET_KEY", "AI_PROVIDER", "RATE_LIMITS", "REDIS_URL", "SECRET_KEY"} <= read
    assert read <= set(TEST_SETTINGS), "a setting the app reads is missing from support.settings.TEST_SETTINGS"
    assert set(HOSTILE) >= set(TEST_SETTINGS)


def test_only_create_app_and_config_read_the_environment():
    """No other product module reads os.environ or a .env (`flask serve`'s dev server aside)."""
    readers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "tokenapp").rglob("*.py")
        if re.search(r"os\.environ|os\.getenv|getenv\(|dotenv", path.read_text())
    )
    assert readers == ["tokenapp/__init__.py", "tokenapp/config.py", "tokenapp/dev_server.py"]


def test_an_app_built_from_a_mapping_ignores_the_shell_and_the_dotenv(monkeypatch, tmp_path, database_urls):
    dotenv = tmp_path / ".env"
    dotenv.write_text(dotenv_text(HOSTILE))
    monkeypatch.setattr(tokenapp, "DOTENV_PATH", dotenv)
    clean = make_app(database_urls["sqlite"]).config
    for name, value in HOSTILE.items():
        monkeypatch.setenv(name, value)
    hostile = make_app(database_urls["sqlite"]).config
    assert dict(hostile) == dict(clean)
    assert hostile["SECRET_KEY"] == TEST_SETTINGS["SECRET_KEY"]
    assert hostile["TOKENAPP_ENV"] == "testing" and hostile["STRIPE_OFFLINE"] and not hostile["DEBUG"]
    assert not hostile["RATELIMIT_ENABLED"] and hostile["REDIS_URL"] == "" and hostile["AI_PROVIDER"] == "local"


def test_without_a_mapping_the_app_reads_the_shell_then_the_dotenv(monkeypatch, tmp_path):
    """The other side (`make run`): the process environment first, the `.env` filling in what it lacks."""
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        dotenv_text(
            {
                "TOKENAPP_ENV": "development",
                "WELCOME_BONUS_TOKENS": "7",
                "LOW_BALANCE_THRESHOLD": "3",
                "RATE_LIMITS": "off",
            }
        )
    )
    monkeypatch.setattr(tokenapp, "DOTENV_PATH", dotenv)
    for name in TEST_SETTINGS:
        monkeypatch.delenv(name, raising=False)  # and whatever the .env sets is taken out again afterwards
    monkeypatch.setenv("LOW_BALANCE_THRESHOLD", "5")
    monkeypatch.setenv("SECRET_KEY", "from-the-shell")
    config = create_app(instance_path=str(tmp_path / "instance")).config
    assert (config["WELCOME_BONUS_TOKENS"], config["LOW_BALANCE_THRESHOLD"]) == (7, 5)
    assert config["SECRET_KEY"] == "from-the-shell" and not config["RATELIMIT_ENABLED"]


@pytest.mark.slow
def test_a_hostile_dotenv_and_shell_change_no_test_result(tmp_path):
    copy = tmp_path / "repository"
    fresh_copy(copy)
    (copy / ".env").write_text(dotenv_text(HOSTILE_DOTENV))

    # The .env is live: the app's own loader, run in the copy from a clean shell, takes its values.
    seen = subprocess.run(
        [
            sys.executable,
            "-c",
            "import tokenapp; app = tokenapp.create_app(); "
            "print(tokenapp.DOTENV_PATH, app.config['STRIPE_SECRET_KEY'], app.config['TOKENAPP_ENV'])",
        ],
        cwd=copy,
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seen.stdout.split() == [str(copy / ".env"), "sk_live_hostile", "production"], seen.stderr[-3000:]

    report = tmp_path / "report.xml"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            "-q",
            f"--basetemp={tmp_path / 'basetemp'}",
            f"--junitxml={report}",
            *REPRESENTATIVE,
        ],
        cwd=copy,
        env=shell_env(**HOSTILE),
        capture_output=True,
        text=True,
        timeout=600,
    )
    cases = ElementTree.parse(report).getroot().iter("testcase")
    outcomes = {
        f"{case.get('classname')}::{case.get('name')}": [
            child.tag for child in case if child.tag in ("failure", "error", "skipped")
        ]
        for case in cases
    }
    assert len(outcomes) >= 40, run.stdout[-3000:]
    assert {name: tags for name, tags in outcomes.items() if tags} == {}, run.stdout[-5000:]
    assert run.returncode == 0, run.stdout[-3000:]
