"""
The account pages in the browser, as a person uses them: adding an
authenticator app from the top bar and signing in with its code, the
forgotten password reset from the emailed link, a passkey added and used to
sign in (Chromium's virtual authenticator), every account page axe clean at
desktop width and laid out at phone width, and the README's screenshots.

The authenticator app's codes are computed here as an app computes them
(RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) from the key the page
shows; the server runs on the real clock, so the codes do too.
"""

import base64
import hashlib
import hmac
import re
import struct
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, assert_accessible, assert_fits, new_page, screenshot, sign_in

pytestmark = pytest.mark.e2e

TOTP_STEP = 30
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1"
)


def totp_at(secret: str, step: int) -> str:
    """The code an authenticator app shows for ``secret`` (base32) in the 30-second ``step``."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def fresh_code(secret: str, *, after_step: int = -1) -> tuple[str, int]:
    """
    The app's current code and its step, from a step later than
    ``after_step`` (a code signs in once) and with at least five seconds of
    its window left, so that it is still current when the server checks it.
    """
    while True:
        now = time.time()
        step = int(now) // TOTP_STEP
        if step > after_step and (step + 1) * TOTP_STEP - now >= 5:
            return totp_at(secret, step), step
        time.sleep((step + 1) * TOTP_STEP - now + 0.2)


def new_company(server, name: str, admin_email: str) -> str:
    """A company of its own for a test that changes how its Administrator signs in; returns the address."""
    server.manage(
        "create_company",
        "--name",
        name,
        "--time-zone",
        "America/Los_Angeles",
        "--admin-email",
        admin_email,
        "--admin-password",
        DEMO_PASSWORD,
    )
    return admin_email


def sign_out(page) -> None:
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():  # a phone folds the menu, the account and "Sign out" behind it
        menu.click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def confirm_password(page) -> None:
    """allauth asks for the password again before a second factor is added or removed."""
    expect(page).to_have_url(re.compile(r"/reauthenticate/"))
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Confirm").click()


def newest_email(server, to: str, *, after: set[Path]) -> str:
    """The text of the newest email to ``to`` that the server wrote since ``after`` was listed."""
    deadline = time.monotonic() + 10
    while True:
        for path in sorted(set(server.mail_dir.glob("*.log")) - after, key=lambda p: p.stat().st_mtime, reverse=True):
            for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                message = message_from_bytes(raw.strip(), policy=policy.default)
                if message["To"] == to:
                    part = message.get_body(preferencelist=("plain",))
                    return part.get_content()
        assert time.monotonic() < deadline, f"no email to {to} in {server.mail_dir}"
        time.sleep(0.2)


def test_an_administrator_adds_an_authenticator_app_and_signs_in_with_its_code(page):
    sign_in(page, "admin@bayside.example")
    page.get_by_role("link", name=re.compile(r"· Administrator")).click()
    expect(page.get_by_role("heading", name="Two-factor sign-in", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Two-factor sign-in")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="Add an authenticator app").click()
    confirm_password(page)

    expect(page.get_by_role("heading", name="Add an authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    assert_accessible(page)
    screenshot(page, "totp-activate")
    code, step = fresh_code(secret)
    page.get_by_label("Code from the app").fill(code)
    page.get_by_role("button", name="Turn on").click()

    # The first method comes with recovery codes, shown once they are made.
    expect(page).to_have_url(re.compile(r"/2fa/recovery-codes/$"))
    codes = page.get_by_role("list", name="Unused codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    assert all(re.fullmatch(r"[0-9]{8}", text) for text in codes.all_inner_texts())
    assert_accessible(page)
    page.get_by_role("link", name="Done").click()
    expect(page.locator(".account-panel", has_text="Authenticator app")).to_contain_text("On")
    expect(page.locator(".account-panel", has_text="Recovery codes")).to_contain_text("10 of 10 codes left")
    assert_accessible(page)
    screenshot(page, "two-factor")
    sign_out(page)

    # Back in: the password, then a code the app shows later (a code signs in once).
    page.get_by_label("Email").fill("admin@bayside.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/2fa/authenticate/$"))
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "two-factor-code")
    page.get_by_label("Code").fill("000000" if totp_at(secret, step) != "000000" else "111111")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Incorrect code")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/2fa/authenticate/$"))
    assert_accessible(page)
    code, _ = fresh_code(secret, after_step=step)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/devices/")
    expect(page.get_by_role("heading", name="Active Devices")).to_be_visible()


def test_a_forgotten_password_is_reset_from_the_emailed_link(page, server):
    address = new_company(server, "Harbor Glass Repair", "admin@harbor.example")
    page.goto("/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "password-reset")
    before = set(server.mail_dir.glob("*.log")) if server.mail_dir.exists() else set()
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/password/reset/done/$"))
    assert_accessible(page)

    text = newest_email(server, address, after=before)
    link = re.search(r"http://\S+/password/reset/key/\S+/", text).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert_accessible(page)
    new_password = "harbor-glass-new-passphrase-7"
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password again").fill(new_password)
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    assert_accessible(page)

    # The old password no longer signs in; the new one does.
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("password you specified are not correct")
    page.get_by_label("Password").fill(new_password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/devices/")

    # The link worked once.
    page.goto(link)
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()


def test_a_passkey_is_added_and_signs_in_without_the_password(browser, server):
    address = new_company(server, "Lakeside Paintless Dent", "admin@lakeside.example")
    # WebAuthn needs a valid relying-party id: "localhost" is one, "127.0.0.1" is not.
    page = new_page(browser, server, base_url=server.base_url.replace("127.0.0.1", "localhost"))
    try:
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        authenticator = cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                }
            },
        )["authenticatorId"]
        sign_in(page, address)
        page.get_by_role("link", name=re.compile(r"· Administrator")).click()
        page.get_by_role("link", name="Add a passkey").click()
        confirm_password(page)
        expect(page).to_have_url(re.compile(r"/2fa/webauthn/add/$"))
        assert_accessible(page)
        page.get_by_label("Name").fill("Work laptop")
        page.get_by_label("Sign in with it alone, without the password").check()
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page).to_have_url(re.compile(r"/2fa/recovery-codes/$"))
        credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
        assert len(credentials) == 1
        assert credentials[0]["isResidentCredential"] is True

        page.get_by_role("link", name="Done").click()
        expect(page.locator(".account-panel", has_text="Passkeys")).to_contain_text("1 added")
        page.get_by_role("link", name="Manage").click()
        row = page.locator("tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Work laptop")
        expect(row).to_contain_text("Passkey")
        assert_accessible(page)
        # A name that would read differently than it is stored is a form error, and nothing changes.
        page.get_by_role("link", name="Rename Work laptop").click()
        page.get_by_label("Name").fill("Work \u202elaptop")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Name contains an invisible or text-direction character")).to_be_visible()
        assert_accessible(page)
        page.get_by_role("link", name="Cancel").click()
        expect(page.locator("tbody tr")).to_contain_text("Work laptop")
        sign_out(page)

        page.get_by_role("button", name="Sign in with a passkey").click()
        page.wait_for_url("**/devices/")
        expect(page.get_by_role("heading", name="Active Devices")).to_be_visible()
        assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
    finally:
        page.context.close()
    page.watch.check()


def test_the_account_pages_are_accessible_and_fit_a_phone(browser, server, page):
    address = new_company(server, "Summit Fleet Detailing", "admin@summit.example")
    # A second browser signed in, so that the Sessions page lists two.
    phone = new_page(browser, server, user_agent=IPHONE, width=390, height=844)
    try:
        sign_in(phone, address)
    finally:
        phone.context.close()
    phone.watch.check()

    page.goto("/login/")
    assert_accessible(page)
    for path, heading in [("/password/reset/", "Reset your password")]:
        page.goto(path)
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        assert_accessible(page)

    sign_in(page, address)
    for path, heading in [
        ("/2fa/", "Two-factor sign-in"),
        ("/password/change/", "Change your password"),
        ("/sessions/", "Sessions"),
    ]:
        page.goto(path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        assert_accessible(page)
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.locator("tbody tr", has_text="This browser")).to_have_count(1)
    screenshot(page, "sessions")

    page.goto("/2fa/totp/activate/")
    confirm_password(page)
    expect(page.get_by_role("heading", name="Add an authenticator app")).to_be_visible()
    assert_accessible(page)
    page.goto("/2fa/webauthn/add/")
    expect(page.get_by_label("Name")).to_be_visible()
    assert_accessible(page)

    page.set_viewport_size({"width": 390, "height": 844})
    for path in ["/2fa/", "/sessions/"]:
        page.goto(path)
        assert_fits(page, path)
    sign_out(page)
    assert_fits(page, "/login/")
