"""The account page in Chromium: a password change ends the other browser's session, not this one."""

import re

from playwright.sync_api import expect

from support.browser import MOBILE, screenshot, sign_up
from support.web import PASSWORD

NEW_PASSWORD = "a-fresh-passphrase-42"


def test_password_change_signs_out_the_other_browser(new_page):
    here = new_page()
    email = sign_up(here)
    there = new_page()
    there.goto("/auth/login")
    there.get_by_label("Email").fill(email)
    there.get_by_label("Password").fill(PASSWORD)
    there.get_by_role("button", name="Log in").click()
    expect(there.locator("#token-balance")).to_be_visible()

    here.goto("/account")
    screenshot(here, "account")
    here.get_by_label("Current password").fill(PASSWORD)
    here.get_by_label("New password").fill(NEW_PASSWORD)
    here.get_by_role("button", name="Change password").click()
    expect(here.get_by_role("status")).to_contain_text("Password changed")
    screenshot(here, "account-changed")

    here.goto("/dashboard/tokens")
    expect(here.locator("#token-balance")).to_be_visible()
    there.goto("/dashboard/tokens")
    expect(there).to_have_url(re.compile(r"/auth/login"))


def test_common_password_is_refused_in_place(new_page):
    page = new_page()
    sign_up(page)
    page.goto("/account")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill("password1")
    page.get_by_role("button", name="Change password").click()
    field = page.get_by_label("New password")
    expect(field).to_have_attribute("aria-invalid", "true")
    screenshot(page, "account-common-password")


def test_account_page_fits_a_phone(new_page):
    page = new_page(MOBILE)
    sign_up(page)
    page.goto("/account")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= MOBILE["width"]
    screenshot(page, "account-phone")
