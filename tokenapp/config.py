"""Settings read from the environment (and `.env`), checked once at start-up."""

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .instance_secrets import InstanceSecretError, instance_secret

ENVIRONMENTS = ("development", "testing", "production")
SECRET_KEY_FILE = "secret_key"
OFFLINE_WEBHOOK_SECRET_FILE = "stripe_offline_webhook_secret"
OFFLINE_STRIPE_KEY = "sk_test_offline_standin"
OFFLINE_STRIPE_API_BASE = "http://127.0.0.1:12111"


class ConfigError(Exception):
    """A missing or malformed setting; its message names the variable."""


def _int_setting(env: dict, name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _database_url(env: dict, instance_path: str) -> str:
    url = env.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'tokenapp.db'}"
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not url.startswith(("sqlite:", "postgresql+psycopg:")):
        raise ConfigError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
    return url


def _secret_key(env: dict, production: bool, instance_path: str) -> str:
    """SECRET_KEY; outside production without one, a random key made once and kept in instance/."""
    key = env.get("SECRET_KEY", "")
    if key:
        return key
    if production:
        raise ConfigError("SECRET_KEY is required in production")
    return _instance_secret("SECRET_KEY", instance_path, SECRET_KEY_FILE, lambda: secrets.token_urlsafe(48))


def _instance_secret(variable: str, instance_path: str, name: str, make) -> str:
    try:
        return instance_secret(instance_path, name, make)
    except (OSError, InstanceSecretError) as error:
        raise ConfigError(
            f"{variable} is not set and no generated one can be kept in {instance_path}: {error}"
        ) from None


def _rate_limits(env: dict, production: bool) -> bool:
    """RATE_LIMITS: on (the default) or off; production refuses off."""
    value = (env.get("RATE_LIMITS") or "on").strip().lower()
    if value not in ("on", "off"):
        raise ConfigError(f"RATE_LIMITS must be on or off, got {env.get('RATE_LIMITS')!r}")
    if value == "off" and production:
        raise ConfigError("RATE_LIMITS=off is refused in production: the limits protect logins, sign-ups and payments")
    return value == "on"


def _stripe_settings(env: dict, production: bool, instance_path: str) -> dict:
    """Stripe keys; with none outside production, the offline stand-in on loopback."""
    key = env.get("STRIPE_SECRET_KEY", "")
    webhook_secret = env.get("STRIPE_WEBHOOK_SECRET", "")
    if key.startswith("sk_live_") and not production:
        raise ConfigError("STRIPE_SECRET_KEY is a live key (sk_live_); live keys run only in production")
    if production and not key:
        raise ConfigError("STRIPE_SECRET_KEY is required in production")
    if production and not webhook_secret:
        raise ConfigError("STRIPE_WEBHOOK_SECRET is required in production")
    offline = not key
    if offline and not webhook_secret:
        webhook_secret = _instance_secret(
            "STRIPE_WEBHOOK_SECRET",
            instance_path,
            OFFLINE_WEBHOOK_SECRET_FILE,
            lambda: "whsec_offline_" + secrets.token_hex(24),
        )
    return {
        "stripe_secret_key": key or OFFLINE_STRIPE_KEY,
        "stripe_webhook_secret": webhook_secret,
        "stripe_api_base": env.get("STRIPE_API_BASE", "") or (OFFLINE_STRIPE_API_BASE if offline else ""),
        "stripe_offline": offline,
    }


def _job_settings(env: dict, name: str) -> dict:
    """Background job tuning; the defaults suit production."""
    return {
        "RUN_LEASE_SECONDS": _int_setting(env, "RUN_LEASE_SECONDS", 60, minimum=1),
        "JOB_TIMEOUT_SECONDS": _int_setting(env, "JOB_TIMEOUT_SECONDS", 300, minimum=1),
        "JOB_PERIOD_SECONDS": _int_setting(env, "JOB_PERIOD_SECONDS", 0),
        "SCHEDULER_IN_PROCESS": name != "testing",
    }


def _expiry_settings(env: dict) -> dict:
    """Days until a lot of each kind expires; 0 (or, for paid tokens, empty: the default) means never."""
    return {
        "BONUS_TOKEN_EXPIRY_DAYS": _int_setting(env, "BONUS_TOKEN_EXPIRY_DAYS", 90),
        "PAID_TOKEN_EXPIRY_DAYS": _int_setting(env, "PAID_TOKEN_EXPIRY_DAYS", 0),
    }


@dataclass(frozen=True)
class Settings:
    """The validated settings, turned into Flask config keys by `as_flask_config`."""

    env: str
    secret_key: str
    database_url: str
    app_base_url: str
    welcome_bonus_tokens: int
    low_balance_threshold: int
    charge_ttl_seconds: int
    stripe_secret_key: str
    stripe_publishable_key: str
    stripe_webhook_secret: str
    stripe_api_base: str
    stripe_offline: bool
    ai_provider: str
    openai: dict
    redis_url: str
    rate_limits: bool
    jobs: dict
    expiry: dict
    resume_parse_seconds: int = 5
    resume_parse_memory_mb: int = 512

    def as_flask_config(self) -> dict:
        """The Flask config mapping for these settings."""
        production = self.env == "production"
        return {
            "TOKENAPP_ENV": self.env,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "APP_BASE_URL": self.app_base_url,
            "WELCOME_BONUS_TOKENS": self.welcome_bonus_tokens,
            "LOW_BALANCE_THRESHOLD": self.low_balance_threshold,
            "CHARGE_TTL_SECONDS": self.charge_ttl_seconds,
            "STRIPE_SECRET_KEY": self.stripe_secret_key,
            "STRIPE_PUBLISHABLE_KEY": self.stripe_publishable_key,
            "STRIPE_WEBHOOK_SECRET": self.stripe_webhook_secret,
            "STRIPE_API_BASE": self.stripe_api_base,
            "STRIPE_OFFLINE": self.stripe_offline,
            "AI_PROVIDER": self.ai_provider,
            **self.openai,
            "REDIS_URL": self.redis_url,
            "RATELIMIT_ENABLED": self.rate_limits,
            **self.jobs,
            **self.expiry,
            "RESUME_PARSE_SECONDS": self.resume_parse_seconds,
            "RESUME_PARSE_MEMORY_MB": self.resume_parse_memory_mb,
            "TESTING": self.env == "testing",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": production,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": production,
            "WTF_CSRF_TIME_LIMIT": None,
            "MAX_CONTENT_LENGTH": 6 * 1024 * 1024,
            "COMPRESS_MIN_SIZE": 500,
            "SEND_FILE_MAX_AGE_DEFAULT": 3600,
        }


def load_settings(env: Mapping[str, str] | None = None, instance_path: str = "instance") -> Settings:
    """Read and check every setting from `env` (default: the process environment); raise ConfigError naming the first bad one."""
    env = dict(os.environ if env is None else env)
    name = env.get("TOKENAPP_ENV", "development")
    if name not in ENVIRONMENTS:
        raise ConfigError(f"TOKENAPP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {name!r}")
    production = name == "production"
    secret_key = _secret_key(env, production, instance_path)
    rate_limits = _rate_limits(env, production)
    stripe = _stripe_settings(env, production, instance_path)
    ai_provider = env.get("AI_PROVIDER", "local")
    if ai_provider not in ("local", "openai"):
        raise ConfigError(f"AI_PROVIDER must be local or openai, got {ai_provider!r}")
    if ai_provider == "openai" and not env.get("OPENAI_API_KEY"):
        raise ConfigError("OPENAI_API_KEY is required when AI_PROVIDER=openai")
    return Settings(
        env=name,
        secret_key=secret_key,
        database_url=_database_url(env, instance_path),
        app_base_url=env.get("APP_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        welcome_bonus_tokens=_int_setting(env, "WELCOME_BONUS_TOKENS", 10),
        low_balance_threshold=_int_setting(env, "LOW_BALANCE_THRESHOLD", 20),
        charge_ttl_seconds=_int_setting(env, "CHARGE_TTL_SECONDS", 600, minimum=1),
        stripe_publishable_key=env.get("STRIPE_PUBLISHABLE_KEY", ""),
        **stripe,
        ai_provider=ai_provider,
        openai={
            name: env[name]
            for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "OPENAI_TIMEOUT")
            if env.get(name)
        },
        redis_url=env.get("REDIS_URL", ""),
        rate_limits=rate_limits,
        jobs=_job_settings(env, name),
        expiry=_expiry_settings(env),
        resume_parse_seconds=_int_setting(env, "RESUME_PARSE_SECONDS", 5, minimum=1),
        resume_parse_memory_mb=_int_setting(env, "RESUME_PARSE_MEMORY_MB", 512, minimum=128),
    )
