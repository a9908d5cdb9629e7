"""A person in Chromium: sign up, spend through the gate, buy tokens, and the edges around it.

Uses only the hooks in CONTRACT.md §4. Screenshots of the main pages land in
test-artifacts/screenshots/.
"""

import re

import pytest

pytest.importorskip("playwright.sync_api", exc_type=ImportError)

from playwright.sync_api import expect

from support.browser import (
    MOBILE,
    api_balance,
    api_deduct,
    document_widths,
    register,
    screenshot,
    sign_up,
    transactions,
)

OK_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
IN_DIALOG = "() => !!(document.activeElement && document.activeElement.closest('#token-gate-dialog'))"


def gated(page, feature_key):
    return page.locator(f'button[data-feature-key="{feature_key}"]')


def main_frame_navigations(page) -> list[str]:
    """A list that records every navigation of the page's main frame from now on."""
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None)
    return seen


def test_sign_up_spend_and_buy(new_page, live_server):
    page = new_page()
    page.goto("/")
    expect(page.get_by_role("link", name="Get 10 free tokens")).to_be_visible()
    screenshot(page, "01-landing")
    page.goto("/auth/register")
    screenshot(page, "02-register")

    # Sign up: the welcome modal names the bonus; dismissed, it stays gone.
    register(page)
    welcome = page.locator("#welcome-modal")
    expect(welcome).to_be_visible()
    expect(welcome).to_have_attribute("role", "dialog")
    expect(welcome).to_contain_text("10 tokens")
    expect(page.locator("#token-balance")).to_have_text("10")
    screenshot(page, "03-welcome-modal", full_page=False)
    welcome.locator("[data-action=dismiss]").click()
    expect(welcome).to_have_count(0)
    page.reload()
    expect(page.locator("#token-balance")).to_have_text("10")
    expect(page.locator("#welcome-modal")).to_have_count(0)

    # Spend through the gate; the badge and the low-balance alert update in place.
    page.goto("/test-tokens")
    expect(page.locator("#low-balance-alert")).to_have_count(0)  # welcome tokens are a welcome state (CONTRACT §4)
    url = page.url
    navigations = main_frame_navigations(page)
    page.evaluate("() => { window.__sameDocument = 'still here'; }")
    gated(page, "resume_parsing").click()
    dialog = page.locator("#token-gate-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Use 8 tokens?")
    expect(dialog).to_contain_text("You have 10")
    screenshot(page, "04-test-tokens-gate-dialog", full_page=False)
    dialog.locator("[data-action=confirm]").click()
    expect(page.locator("#token-balance")).to_have_text("2")
    expect(page.locator("#feature-result")).to_contain_text("Resume Parsing ran for 8 tokens")
    expect(dialog).to_have_count(0)
    alert = page.locator("#low-balance-alert")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text("2 tokens left")
    expect(alert.locator('a[href="/tokens/buy"]')).to_be_visible()
    expect(page.locator("#test-balance")).to_have_text("2 tokens")
    assert navigations == [] and page.url == url, f"the page navigated: {navigations}"
    assert page.evaluate("() => window.__sameDocument") == "still here", "the page was reloaded"
    screenshot(page, "05-low-balance")

    # Buy the Pro pack on the hosted checkout page.
    page.goto("/tokens/buy")
    screenshot(page, "06-buy")
    page.locator('[data-package-key="pro"]').click()
    page.wait_for_url(f"{live_server.standin.url}/checkout/pay/**")
    expect(page.get_by_text("Test mode")).to_be_visible()
    screenshot(page, "07-hosted-checkout")
    page.get_by_label("Card number").fill(OK_CARD)
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(f"{live_server.url}/tokens/success?**")
    expect(page.get_by_role("heading", level=1)).to_have_text("600 tokens added")
    expect(page.locator("#token-balance")).to_have_text("602")
    expect(page.locator("#low-balance-alert")).to_have_count(0)
    screenshot(page, "08-success")

    # The webhook arrives after the return: it finds nothing left to do.
    live_server.wait_for_webhooks()
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("600 tokens added")
    expect(page.locator("#token-balance")).to_have_text("602")
    expect(page.locator("#low-balance-alert")).to_have_count(0)
    assert api_balance(page) == 602
    assert [row["amount"] for row in transactions(page, "purchase")] == [600]

    page.goto("/pricing")
    expect(page.locator('[data-package-key="pro"]')).to_be_visible()
    screenshot(page, "09-pricing")
    page.goto("/dashboard/tokens")
    expect(page.get_by_text("600 tokens · $20.00 · paid")).to_be_visible()
    screenshot(page, "10-dashboard")


def test_declined_card_shows_an_alert_and_credits_nothing(page, live_server):
    sign_up(page)
    page.goto("/tokens/buy")
    page.locator('[data-package-key="starter"]').click()
    page.wait_for_url(f"{live_server.standin.url}/checkout/pay/**")
    page.get_by_label("Card number").fill(DECLINED_CARD)
    page.get_by_role("button", name="Pay").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(re.compile(r"declined", re.I))
    expect(page.get_by_label("Card number")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "11-hosted-checkout-declined")

    page.get_by_role("link", name="Cancel and go back").click()
    page.wait_for_url(f"{live_server.url}/tokens/cancel**")
    expect(page.get_by_text("Nothing was charged.")).to_be_visible()
    live_server.wait_for_webhooks()
    page.goto("/dashboard/tokens")
    expect(page.locator("#token-balance")).to_have_text("10")
    assert api_balance(page) == 10
    assert transactions(page, "purchase") == []


def test_short_balance_is_not_charged(page, live_server):
    sign_up(page)
    api_deduct(page, "resume_parsing")
    page.goto("/test-tokens")
    expect(page.locator("#token-balance")).to_have_text("2")
    gated(page, "cover_letter").click()
    dialog = page.locator("#token-gate-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Not enough tokens")
    expect(dialog).to_contain_text("8 more")
    expect(dialog.locator('a[href="/tokens/buy"]')).to_be_visible()
    expect(dialog.locator("[data-action=confirm]")).to_have_count(0)
    screenshot(page, "12-gate-short", full_page=False)

    dialog.get_by_role("button", name="Not now").click()
    expect(dialog).to_have_count(0)
    expect(page.locator("#token-balance")).to_have_text("2")
    assert api_balance(page) == 2
    assert transactions(page, "spend", "cover_letter") == []
    assert len(transactions(page, "spend")) == 1


def confirm_requests(page) -> list:
    """Every confirm POST the page sends from now on."""
    sent: list = []
    page.on("request", lambda request: sent.append(request) if request.url.endswith("/confirm") else None)
    return sent


def wait_until_answered(requests) -> None:
    for request in requests:
        assert request.response() is not None  # blocks until the response arrives


def test_double_click_on_confirm_charges_once(page, live_server):
    sign_up(page)
    page.goto("/test-tokens")
    sent = confirm_requests(page)

    gated(page, "job_match_detailed").click()
    page.locator("#token-gate-dialog [data-action=confirm]").dblclick()
    expect(page.locator("#token-balance")).to_have_text("5")
    expect(page.locator("#token-gate-dialog")).to_have_count(0)
    wait_until_answered(sent)
    assert len(transactions(page, "spend", "job_match_detailed")) == 1

    # Two separate clicks as fast as the mouse allows (no waiting for the button in between).
    gated(page, "ats_check").click()
    confirm = page.locator("#token-gate-dialog [data-action=confirm]")
    expect(confirm).to_be_visible()
    box = confirm.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.mouse.click(x, y)
    expect(page.locator("#token-balance")).to_have_text("1")
    expect(page.locator("#feature-result")).to_contain_text("ATS Compatibility Check")
    wait_until_answered(sent)
    assert len(transactions(page, "spend", "ats_check")) == 1
    assert len(transactions(page, "spend")) == 2
    assert api_balance(page) == 1


def test_keyboard_only_gate(page, live_server):
    sign_up(page)
    page.goto("/test-tokens")
    costs = {f["key"]: f["cost"] for f in page.request.get("/api/tokens/features").json()["features"]}

    key = None
    for _ in range(40):
        page.keyboard.press("Tab")
        key = page.evaluate("() => document.activeElement && document.activeElement.getAttribute('data-feature-key')")
        if key:
            break
    assert key, "Tab never reached a gated button"
    button = gated(page, key)
    expect(button).to_be_focused()

    page.keyboard.press("Enter")
    dialog = page.locator("#token-gate-dialog")
    confirm = dialog.locator("[data-action=confirm]")
    expect(dialog).to_be_visible()
    expect(confirm).to_be_focused()
    for press in ["Tab"] * 6 + ["Shift+Tab"] * 4:
        page.keyboard.press(press)
        assert page.evaluate(IN_DIALOG), f"focus left the dialog after {press}"

    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(button).to_be_focused()  # back where the person was
    assert api_balance(page) == 10 and transactions(page, "spend") == []

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(confirm).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#token-balance")).to_have_text(str(10 - costs[key]))
    expect(dialog).to_have_count(0)
    assert len(transactions(page, "spend", key)) == 1
    assert api_balance(page) == 10 - costs[key]


MOBILE_PAGES = [
    ("/", "landing"),
    ("/pricing", "pricing"),
    ("/tokens/buy", "buy"),
    ("/test-tokens", "test-tokens"),
    ("/dashboard/tokens", "dashboard"),
]


def test_no_horizontal_scroll_on_a_phone(new_page, live_server):
    page = new_page(viewport=MOBILE)
    page.goto("/")
    width, client = document_widths(page)
    assert width <= client, f"/ logged out scrolls sideways: {width} > {client}"

    register(page)
    expect(page.locator("#welcome-modal")).to_be_visible()
    screenshot(page, "20-mobile-welcome-modal", full_page=False)
    page.locator("#welcome-modal [data-action=dismiss]").click()
    api_deduct(page, "resume_parsing")  # history rows and the low-balance alert on every page
    for path, name in MOBILE_PAGES:
        page.goto(path)
        expect(page.locator("#token-balance")).to_have_text("2")
        width, client = document_widths(page)
        screenshot(page, f"21-mobile-{name}")
        assert width <= client, f"{path} scrolls sideways at 375px: {width} > {client}"
    page.goto("/test-tokens")
    gated(page, "ats_check").click()
    expect(page.locator("#token-gate-dialog")).to_be_visible()
    screenshot(page, "22-mobile-gate-dialog", full_page=False)


def test_badge_refreshes_when_the_tab_comes_back(page, live_server):
    sign_up(page)
    page.goto("/test-tokens")
    expect(page.locator("#token-balance")).to_have_text("10")
    api_deduct(page, "ats_check")  # spent elsewhere: this page has not heard of it
    expect(page.locator("#token-balance")).to_have_text("10")
    # Headless Chromium keeps every tab visible, so announce the return the way the browser would.
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator("#token-balance")).to_have_text("6")
    expect(page.locator("#low-balance-alert")).to_contain_text("6 tokens left")
    expect(page.locator("#test-balance")).to_have_text("6 tokens")


RAW_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>"
)


def test_failed_htmx_requests_say_so_in_place(page, live_server):
    sign_up(page)
    gate_url = "**/tokens/gate/ats_check"
    scenarios = [
        # The network is down: the request never reaches the server.
        ("network-down", lambda route: route.abort("internetdisconnected"), "Could not reach the server"),
        # A proxy in front answers with its own page: not swapped in raw.
        (
            "proxy-502",
            lambda route: route.fulfill(status=502, content_type="text/html", body=RAW_502),
            "The server could not answer (error 502)",
        ),
        # An empty 500: still a message, never a blank.
        ("empty-500", lambda route: route.fulfill(status=500, body=""), "The server could not answer (error 500)"),
        # The app's own error fragment (here for an unknown feature) is shown as it is.
        (
            "app-404",
            lambda route: route.continue_(url=route.request.url.replace("ats_check", "no_such_feature")),
            "No feature called 'no_such_feature'",
        ),
    ]
    for name, handler, message in scenarios:
        page.goto("/test-tokens")
        url = page.url
        button = gated(page, "ats_check")
        page.route(gate_url, handler)
        button.click()
        problem = page.locator("#feature-result [role=alert]")
        expect(problem, name).to_be_visible()
        expect(problem, name).to_contain_text(message)
        expect(page.get_by_text("Bad Gateway"), name).to_have_count(0)
        expect(page.get_by_text("nginx"), name).to_have_count(0)
        expect(page.locator("#token-gate-dialog"), name).to_have_count(0)
        expect(button, name).to_be_enabled()
        assert page.url == url, name
        if name == "proxy-502":
            screenshot(page, "30-htmx-error", full_page=False)
        page.unroute(gate_url)

    assert api_balance(page) == 10 and transactions(page, "spend") == []
    # Once the server answers again, the gate works.
    gated(page, "ats_check").click()
    expect(page.locator("#token-gate-dialog")).to_be_visible()


def test_a_failed_badge_refresh_keeps_the_badge(page, live_server):
    sign_up(page)
    page.goto("/test-tokens")
    page.route("**/tokens/badge", lambda route: route.fulfill(status=500, body=""))
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_timeout(300)
    expect(page.locator("#token-balance")).to_have_text("10")
    expect(page.locator("#history #test-balance")).to_have_text("10 tokens")
    page.unroute("**/tokens/badge")
    api_deduct(page, "ats_check")
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator("#token-balance")).to_have_text("6")
