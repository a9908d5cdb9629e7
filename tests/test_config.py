"""Start-up settings: fail fast with one line naming the variable."""

import pytest

from tokenapp import create_app
from tokenapp.config import ConfigError, load_settings


def test_production_requires_secret_key(monkeypatch):
    monkeypatch.setenv("TOKENAPP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(SystemExit) as stop:
        create_app()
    assert str(stop.value) == "tokenapp: configuration error: SECRET_KEY is required in production"


@pytest.mark.parametrize(("env", "name"), [
    ({"TOKENAPP_ENV": "staging"}, "TOKENAPP_ENV"),
    ({"WELCOME_BONUS_TOKENS": "ten"}, "WELCOME_BONUS_TOKENS"),
    ({"LOW_BALANCE_THRESHOLD": "-1"}, "LOW_BALANCE_THRESHOLD"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"AI_PROVIDER": "magic"}, "AI_PROVIDER"),
    ({"AI_PROVIDER": "openai"}, "OPENAI_API_KEY"),
    ({"STRIPE_SECRET_KEY": "sk_live_abc"}, "STRIPE_SECRET_KEY"),
])
def test_bad_settings_name_the_variable(env, name):
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


def test_defaults():
    settings = load_settings({}, instance_path="/tmp/inst")
    assert settings.welcome_bonus_tokens == 10
    assert settings.low_balance_threshold == 20
    assert settings.database_url == "sqlite:////tmp/inst/tokenapp.db"
    assert settings.ai_provider == "local"


def test_postgres_urls_use_psycopg3():
    settings = load_settings({"DATABASE_URL": "postgres://u@h/db"})
    assert settings.database_url == "postgresql+psycopg://u@h/db"


def test_production_cookies_are_secure():
    config = load_settings({"TOKENAPP_ENV": "production", "SECRET_KEY": "s" * 32}).as_flask_config()
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
