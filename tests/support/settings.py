"""The settings a test gives the app: always an explicit mapping, never a `.env` or the shell's variables.

Every test app is built with `create_app(environ=...)`, which reads the mapping it is given
and nothing else, so a developer's `.env` or exported DATABASE_URL, STRIPE_*, AI_PROVIDER,
RATE_LIMITS, REDIS_URL, SECRET_KEY ... change no test. A process a test starts (gunicorn,
`flask worker`, the CLI) gets `process_env()`: every setting the app reads, present and
explicit (so the `.env` loader, which never overrides a variable already set, fills in
nothing), Flask's CLI told to skip `.env`, and from the shell only what a program needs to
run at all (PATH, HOME, locale, pip's settings).

The suite's own inputs are the only variables it reads from the environment: TEST_DATABASE_URL,
TEST_REDIS_URL, CI and CHROMIUM_PATH.
"""

import os
import secrets

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "")
# Headless Chromium on a shared machine (browser tests and bench/ui_bench.py): no sandbox, no GPU, nothing fetched.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Made per run and given to every app, so that no test writes a generated secret into the repository's instance/.
SECRET_KEY = secrets.token_urlsafe(32)
WEBHOOK_SECRET = "whsec_test_" + secrets.token_hex(16)

# Every variable tokenapp/config.py reads (tests/test_hermetic.py keeps this complete); empty means the default.
TEST_SETTINGS: dict[str, str] = {
    "TOKENAPP_ENV": "testing",
    "SECRET_KEY": SECRET_KEY,
    "DATABASE_URL": "",
    "APP_BASE_URL": "http://127.0.0.1:5000",
    "WELCOME_BONUS_TOKENS": "",
    "LOW_BALANCE_THRESHOLD": "",
    "CHARGE_TTL_SECONDS": "",
    "STRIPE_SECRET_KEY": "",
    "STRIPE_PUBLISHABLE_KEY": "",
    "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "STRIPE_API_BASE": "",
    "AI_PROVIDER": "local",
    "OPENAI_API_KEY": "",
    "OPENAI_BASE_URL": "",
    "OPENAI_MODEL": "",
    "OPENAI_TIMEOUT": "",
    "REDIS_URL": "",
    # Tests that are not about limits sign up and log in freely; tests/test_rate_limits.py turns the limits on.
    "RATE_LIMITS": "off",
    "RUN_LEASE_SECONDS": "",
    "JOB_TIMEOUT_SECONDS": "",
    "JOB_PERIOD_SECONDS": "",
    "RESUME_PARSE_SECONDS": "",
    "RESUME_PARSE_MEMORY_MB": "",
    "BONUS_TOKEN_EXPIRY_DAYS": "",
    "PAID_TOKEN_EXPIRY_DAYS": "",
    "FLASK_DEBUG": "",
}

# What a program needs from the shell to run at all; nothing else of the shell reaches a process a test starts.
SHELL_NAMES = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")
SHELL_PREFIXES = ("LC_", "PIP_")
# A program that installs packages may also need the way out to the network.
PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


def app_environ(**overrides: str) -> dict[str, str]:
    """The mapping a test app is built from: the test settings, with `overrides` over them."""
    return {**TEST_SETTINGS, **overrides}


def shell_env(**extra: str) -> dict[str, str]:
    """The shell's PATH, HOME, locale and pip settings, and `extra`: a clean start for a program."""
    kept = {name: value for name, value in os.environ.items() if name in SHELL_NAMES or name.startswith(SHELL_PREFIXES)}
    return {**kept, **extra}


def installer_env(**extra: str) -> dict[str, str]:
    """`shell_env(**extra)` with the shell's proxy settings, for a program that installs packages (`make run`)."""
    return shell_env(**{name: os.environ[name] for name in PROXY_NAMES if name in os.environ}, **extra)


def process_env(**settings: str) -> dict[str, str]:
    """The environment of a product process a test starts: `shell_env()` and the test settings, `settings` over them."""
    return shell_env(**{**TEST_SETTINGS, "FLASK_SKIP_DOTENV": "1", "PYTHONUNBUFFERED": "1", **settings})
