"""
An Administrator invites a colleague in the browser; the colleague opens the
emailed link (read out of the e2e server's mail directory, written by its
outbox worker), chooses a password and lands signed in. Every page on the
way passes axe-core; the invitation form and the acceptance page are in the
screenshots.
"""

import email
import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, new_page, screenshot, sign_in

pytestmark = pytest.mark.e2e

COLLEAGUE = "casey.colleague@northwind.example"
LINK = re.compile(r"https?://[^/\s]+(/invitations/[^\s]+)")


def invitation_link(mail_dir, address: str, *, timeout: float = 30) -> str:
    """The path of the newest invitation link emailed to ``address``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*"), key=lambda p: p.stat().st_mtime, reverse=True):
            message = email.message_from_bytes(path.read_bytes())
            if address not in (message["To"] or ""):
                continue
            part = message.get_payload(0) if message.is_multipart() else message
            found = LINK.search(part.get_payload(decode=True).decode())
            if found:
                return found.group(1)
        time.sleep(0.5)
    raise AssertionError(f"no invitation email to {address} in {mail_dir}")


def test_an_invited_colleague_sets_a_password_and_is_signed_in(page, browser, server):
    sign_in(page, "admin@northwind.example")
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="Invite user").click()
    expect(page.get_by_role("heading", name="Invite user", level=1)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "user-invite")
    page.get_by_label("Email").fill(COLLEAGUE)
    page.get_by_label("Name").fill("Casey Colleague")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent.")).to_be_visible()
    pending = page.get_by_role("row").filter(has_text=COLLEAGUE)
    expect(pending.get_by_role("button", name="Resend")).to_be_visible()
    assert_accessible(page)

    colleague = new_page(browser, server)
    try:
        colleague.goto(invitation_link(server.mail_dir, COLLEAGUE))
        expect(colleague.get_by_role("heading", name="Join Northwind Auto Reconditioning")).to_be_visible()
        assert_accessible(colleague)
        screenshot(colleague, "invitation-accept")
        colleague.get_by_label("Password", exact=True).fill("casey-long-passphrase")
        colleague.get_by_label("Password again").fill("casey-long-passphrase")
        colleague.get_by_role("button", name="Create my account").click()
        colleague.wait_for_url("**/devices/")
        expect(colleague.get_by_text("Casey Colleague")).to_be_visible()
        colleague.watch.check()
    finally:
        colleague.context.close()

    page.reload()
    expect(page.get_by_role("row").filter(has_text=COLLEAGUE).get_by_role("button", name="Resend")).to_have_count(0)
