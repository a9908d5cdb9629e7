"""Start-up settings: fail fast with one line naming the variable."""

import pytest

from tokenapp import create_app
from tokenapp.config import ConfigError, load_settings


def test_production_requires_secret_key(tmp_path):
    with pytest.raises(SystemExit) as stop:
        create_app(instance_path=str(tmp_path), environ={"TOKENAPP_ENV": "production"})
    assert str(stop.value) == "tokenapp: configuration error: SECRET_KEY is required in production"


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"TOKENAPP_ENV": "staging"}, "TOKENAPP_ENV"),
        ({"WELCOME_BONUS_TOKENS": "ten"}, "WELCOME_BONUS_TOKENS"),
        ({"LOW_BALANCE_THRESHOLD": "-1"}, "LOW_BALANCE_THRESHOLD"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"AI_PROVIDER": "magic"}, "AI_PROVIDER"),
        ({"AI_PROVIDER": "openai"}, "OPENAI_API_KEY"),
        ({"STRIPE_SECRET_KEY": "sk_live_abc"}, "STRIPE_SECRET_KEY"),
        ({"TOKENAPP_ENV": "production", "SECRET_KEY": "k", "STRIPE_WEBHOOK_SECRET": "whsec_x"}, "STRIPE_SECRET_KEY"),
        ({"TOKENAPP_ENV": "production", "SECRET_KEY": "k", "STRIPE_SECRET_KEY": "sk_test_x"}, "STRIPE_WEBHOOK_SECRET"),
    ],
)
def test_bad_settings_name_the_variable(env, name, tmp_path):
    with pytest.raises(ConfigError, match=name):
        load_settings(env, instance_path=str(tmp_path))


def test_defaults(tmp_path):
    settings = load_settings({}, instance_path=str(tmp_path))
    assert settings.welcome_bonus_tokens == 10
    assert settings.low_balance_threshold == 20
    assert settings.database_url == f"sqlite:///{tmp_path}/tokenapp.db"
    assert settings.ai_provider == "local"
    assert settings.rate_limits is True


def test_postgres_urls_use_psycopg3(tmp_path):
    settings = load_settings({"DATABASE_URL": "postgres://u@h/db"}, instance_path=str(tmp_path))
    assert settings.database_url == "postgresql+psycopg://u@h/db"


PRODUCTION = {
    "TOKENAPP_ENV": "production",
    "SECRET_KEY": "s" * 32,
    "STRIPE_SECRET_KEY": "sk_test_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
}


def test_production_cookies_are_secure():
    config = load_settings(PRODUCTION).as_flask_config()
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_live_key_accepted_in_production_only():
    live = {**PRODUCTION, "STRIPE_SECRET_KEY": "sk_live_abc"}
    assert load_settings(live).stripe_secret_key == "sk_live_abc"
    with pytest.raises(ConfigError, match="live key"):
        load_settings({**live, "TOKENAPP_ENV": "development"})


def test_no_stripe_key_means_the_offline_stand_in(tmp_path):
    settings = load_settings({}, instance_path=str(tmp_path / "one"))
    assert settings.stripe_offline
    assert settings.stripe_api_base.startswith("http://127.0.0.1:")
    assert settings.stripe_webhook_secret.startswith("whsec_offline_")
    assert (
        load_settings({}, instance_path=str(tmp_path / "two")).stripe_webhook_secret != settings.stripe_webhook_secret
    )
    assert not load_settings(PRODUCTION).stripe_offline
