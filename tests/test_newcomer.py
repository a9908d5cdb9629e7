"""The newcomer's path: a fresh copy, `make run`, sign up, see 10 tokens."""

import os
import re
import signal
import subprocess

import httpx
import pytest

from support.processes import free_port, fresh_copy, wait_until_serving
from support.settings import installer_env
from support.web import CSRF_META

BADGE = re.compile(r'<span id="token-balance"[^>]*>\s*([^<]*?)\s*</span>')
STARTUP_SECONDS = 300


def buy_offline(browser: httpx.Client) -> None:
    """Buy the Pro pack through the offline stand-in's hosted checkout, as a person would."""
    token = CSRF_META.search(browser.get("/tokens/buy").text).group(1)
    to_stripe = browser.post(
        "/tokens/checkout", data={"package_key": "pro", "csrf_token": token}, follow_redirects=False
    )
    assert to_stripe.status_code == 303
    checkout_url = to_stripe.headers["Location"]
    assert "Card number" in browser.get(checkout_url).text
    paid = browser.post(checkout_url, data={"card_number": "4242 4242 4242 4242"}, follow_redirects=True)
    assert "600 tokens added" in paid.text
    assert browser.get("/api/tokens/balance").json()["balance"] == 610
    standin = httpx.URL(checkout_url).copy_with(path="/_standin/wait_idle")
    assert httpx.post(str(standin), json={"timeout": 20}, timeout=30).json() == {"idle": True}
    deliveries = httpx.get(str(standin.copy_with(path="/_standin/deliveries"))).json()
    completed = [d for d in deliveries if d["type"] == "checkout.session.completed"]
    assert completed and all(d["status_code"] == 200 for d in completed)
    assert browser.get("/api/tokens/balance").json()["balance"] == 610


@pytest.mark.slow
def test_make_run_on_a_fresh_copy_serves_and_registers(tmp_path):
    checkout = tmp_path / "tokenapp"
    fresh_copy(checkout)
    port = free_port()
    env = installer_env()  # a newcomer's shell: no settings at all, and no .env in a fresh copy
    log = tmp_path / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=checkout,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base + "/", process, log, STARTUP_SECONDS)
        with httpx.Client(base_url=base, follow_redirects=True, timeout=10) as browser:
            token = CSRF_META.search(browser.get("/auth/register").text).group(1)
            page = browser.post(
                "/auth/register",
                data={"email": "newcomer@example.com", "password": "a-long-password", "csrf_token": token},
            )
            assert page.status_code == 200
            assert BADGE.search(page.text).group(1) == "10"
            assert browser.get("/api/tokens/balance").json()["balance"] == 10
            buy_offline(browser)
        assert (checkout / "instance" / "tokenapp.db").exists()
        assert (checkout / "instance" / "secret_key").stat().st_mode & 0o777 == 0o600
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
