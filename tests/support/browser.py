"""Helpers for the browser tests: sign-up, JSON calls with the page's session, screenshots."""

import itertools
import os
from pathlib import Path

from playwright.sync_api import expect

from .web import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
MOBILE = {"width": 375, "height": 812}

_emails = itertools.count(1)


def unique_email() -> str:
    return f"browser{os.getpid()}-{next(_emails)}@example.com"


def screenshot(page, name: str, full_page: bool = True) -> None:
    """Save a PNG of the page under test-artifacts/screenshots/ (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def register(page, email: str | None = None, password: str = PASSWORD) -> str:
    """Sign up through the real form; returns the email. The welcome modal is left open."""
    email = email or unique_email()
    page.goto("/auth/register")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#token-balance")).to_be_visible()
    return email


def sign_up(page) -> str:
    """A fresh signed-up user (10 tokens) with the welcome modal dismissed."""
    email = register(page)
    page.locator("#welcome-modal [data-action=dismiss]").click()
    expect(page.locator("#welcome-modal")).to_have_count(0)
    return email


def csrf(page) -> str:
    """The CSRF token of the page on screen."""
    return page.locator('meta[name="csrf-token"]').get_attribute("content")


def api_deduct(page, feature_key: str) -> dict:
    """Charge a feature through the JSON API with the page's session (a change made 'elsewhere')."""
    response = page.request.post(
        "/api/tokens/deduct", data={"feature_key": feature_key}, headers={"X-CSRFToken": csrf(page)}
    )
    assert response.status == 201, response.text()
    return response.json()


def api_balance(page) -> int:
    response = page.request.get("/api/tokens/balance")
    assert response.ok, response.text()
    return response.json()["balance"]


def transactions(page, type_: str | None = None, feature_key: str | None = None) -> list[dict]:
    """The signed-in user's ledger rows through the JSON API, newest first."""
    response = page.request.get("/api/tokens/transactions?limit=100")
    assert response.ok, response.text()
    rows = response.json()["transactions"]
    return [
        row
        for row in rows
        if (type_ is None or row["type"] == type_) and (feature_key is None or row["feature_key"] == feature_key)
    ]


def document_widths(page) -> tuple[int, int]:
    """The document's (scrollWidth, clientWidth): a wider scrollWidth means a sideways scroll."""
    width, client = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    return width, client
