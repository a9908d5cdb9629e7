"""Fail closed: no value in the repository can sign a session cookie or a webhook (RELIABILITY 19, 30)."""

import hashlib
import hmac
import json
import multiprocessing
import stat
import time
from pathlib import Path

import pytest
from flask.sessions import SecureCookieSessionInterface

from stripe_standin.webhooks import signature_header
from support.settings import app_environ
from support.web import user_id
from tokenapp import config, create_app
from tokenapp.config import ConfigError, load_settings

OLD_CONSTANT = "dev-only-not-secret"
PACKAGE = Path(config.__file__).resolve().parent


def test_a_fresh_instance_gets_a_random_private_key_kept_for_the_next_start(tmp_path):
    first = load_settings({}, instance_path=str(tmp_path))
    key_file = tmp_path / config.SECRET_KEY_FILE
    assert key_file.read_text().strip() == first.secret_key
    assert len(first.secret_key) >= 40
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    webhook_file = tmp_path / config.OFFLINE_WEBHOOK_SECRET_FILE
    assert stat.S_IMODE(webhook_file.stat().st_mode) == 0o600
    again = load_settings({}, instance_path=str(tmp_path))
    assert (again.secret_key, again.stripe_webhook_secret) == (first.secret_key, first.stripe_webhook_secret)


def test_two_instances_get_different_secrets(tmp_path):
    one = load_settings({}, instance_path=str(tmp_path / "one"))
    two = load_settings({}, instance_path=str(tmp_path / "two"))
    assert one.secret_key != two.secret_key
    assert one.stripe_webhook_secret != two.stripe_webhook_secret


def test_explicit_values_win_and_write_nothing(tmp_path):
    settings = load_settings(
        {"SECRET_KEY": "k" * 40, "STRIPE_WEBHOOK_SECRET": "whsec_given"}, instance_path=str(tmp_path)
    )
    assert (settings.secret_key, settings.stripe_webhook_secret) == ("k" * 40, "whsec_given")
    assert list(tmp_path.iterdir()) == []


def _load_secrets(instance_path: str, queue) -> None:
    settings = load_settings({}, instance_path=instance_path)
    queue.put((settings.secret_key, settings.stripe_webhook_secret))


def test_concurrent_first_starts_end_with_one_key(tmp_path):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_load_secrets, args=(str(tmp_path), queue)) for _ in range(6)]
    for process in processes:
        process.start()
    results = [queue.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert len(set(results)) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [config.SECRET_KEY_FILE, config.OFFLINE_WEBHOOK_SECRET_FILE]
    )


def test_an_empty_key_file_stops_start_up_with_a_clear_line(tmp_path):
    (tmp_path / config.SECRET_KEY_FILE).write_text("")
    with pytest.raises(ConfigError, match=r"SECRET_KEY is not set.*secret_key is empty"):
        load_settings({}, instance_path=str(tmp_path))


def test_production_still_needs_explicit_values(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is required in production"):
        load_settings({"TOKENAPP_ENV": "production"}, instance_path=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_the_package_holds_no_usable_default():
    assert not hasattr(config, "DEV_SECRET_KEY")
    for source in PACKAGE.rglob("*.py"):
        assert OLD_CONSTANT not in source.read_text(encoding="utf-8"), source


def _cookie_signed_with(app, secret_key: str, uid: int) -> str:
    forger = app.__class__(__name__)
    forger.secret_key = secret_key
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    return serializer.dumps({"_user_id": str(uid), "_fresh": True})


def test_the_old_constant_signs_no_session_cookie(app, client, auth, user):
    uid = user_id(app, user)
    stranger = app.test_client()
    stranger.set_cookie("session", _cookie_signed_with(app, OLD_CONSTANT, uid))
    assert stranger.get("/api/tokens/balance").status_code == 401
    assert app.config["SECRET_KEY"] != OLD_CONSTANT


def test_the_old_derived_webhook_secret_signs_no_event(tmp_path, backend, database_urls):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_urls[backend]},
        instance_path=str(tmp_path),
        environ=app_environ(STRIPE_WEBHOOK_SECRET="", SECRET_KEY=""),
    )
    assert app.config["STRIPE_OFFLINE"]
    assert app.config["STRIPE_WEBHOOK_SECRET"] == (tmp_path / config.OFFLINE_WEBHOOK_SECRET_FILE).read_text().strip()
    digest = hmac.new(OLD_CONSTANT.encode(), b"offline-stripe-webhook", hashlib.sha256).hexdigest()
    old_secret = f"whsec_offline_{digest[:32]}"
    assert app.config["STRIPE_WEBHOOK_SECRET"] != old_secret
    body = json.dumps(
        {
            "id": "evt_forged",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_forged", "object": "checkout.session"}},
        }
    ).encode()
    response = app.test_client().post(
        "/api/stripe/webhooks",
        data=body,
        headers={
            "Stripe-Signature": signature_header(body, old_secret, int(time.time())),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400
    with app.app_context():
        from tokenapp.extensions import db

        db.engine.dispose()
