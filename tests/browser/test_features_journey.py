"""The cover-letter journey in Chromium: upload a resume, then write a letter from it."""

import pytest

pytest.importorskip("playwright.sync_api", exc_type=ImportError)

from playwright.sync_api import expect

from support.browser import screenshot, sign_up
from support.uploads import benign_docx
from tokenapp.extensions import db
from tokenapp.services import accounts, ledger


def resume_docx(tmp_path) -> str:
    """The suite's small real resume (support.uploads.benign_docx), saved where the file chooser can take it."""
    name, data = benign_docx()
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def grant(live_server, email: str, tokens: int) -> None:
    with live_server.app.app_context():
        ledger.adjust(accounts.find_by_email(email).id, tokens, reason="browser test")
        db.session.remove()


def test_cover_letter_from_an_uploaded_resume(page, live_server, tmp_path):
    email = sign_up(page)
    grant(live_server, email, 20)
    page.goto("/resume/upload")
    page.get_by_label("Resume file (PDF, DOCX or TXT, up to 5 MB)").set_input_files(resume_docx(tmp_path))
    page.click('button[data-feature-key="resume_parsing"]')
    expect(page.locator("#token-gate-dialog")).to_contain_text("Use 8 tokens?")
    page.click("#token-gate-dialog [data-action=confirm]")
    # The parse runs in a low-priority child (the process's first parse also starts the fork server): on a
    # busy machine it waits for a CPU, which is why the wait is long.
    expect(page.locator("#feature-result")).to_contain_text("Ada Lovelace", timeout=30_000)
    expect(page.locator("#token-balance")).to_have_text("22")
    screenshot(page, "40-resume-parsed")

    page.goto("/cover-letter")
    page.get_by_label("Job description").fill(
        "Acme Robotics is hiring a Senior Python Engineer. Must have Python and PostgreSQL."
    )
    page.locator("#f-resume_id").select_option(index=1)
    page.click('button[data-feature-key="cover_letter"]')
    expect(page.locator("#token-gate-dialog")).to_contain_text("Use 10 tokens?")
    page.click("#token-gate-dialog [data-action=confirm]")
    result = page.locator("#feature-result")
    expect(result).to_contain_text("Acme Robotics", timeout=10_000)
    expect(page.locator("#token-balance")).to_have_text("12")
    screenshot(page, "41-cover-letter")
    page.reload()
    expect(page.locator(".history-list a")).to_have_count(1)
