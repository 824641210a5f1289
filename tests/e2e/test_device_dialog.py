"""The Device dialog in a real browser: open, keyboard, Add Email over htmx, OK, live section."""

import os
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connections

from backoffice.core.scoping import company_scope
from backoffice.devices.models import Device
from tests.conftest import login
from tests.factories import EmployeeFactory, LicenseFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium is not installed"),
]


@pytest.fixture
def browser_page(live_server, admin_a, monkeypatch):
    """A Chromium page signed in as company A's administrator."""
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an idle event loop in this thread; the
    # test's own ORM calls run between its calls, never inside that loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    session_id = login(admin_a).cookies[settings.SESSION_COOKIE_NAME].value
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        host = urlparse(live_server.url).hostname
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_id, "domain": host, "path": "/"}])
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            yield page
        finally:
            # ORM calls made while Playwright's loop runs use connections of
            # their own (Django's are context-local): close them here.
            connections.close_all()
            browser.close()


def test_dialog_keyboard_add_email_and_ok(live_server, browser_page, company_a, team_a):
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a, number="NW-10041")
        EmployeeFactory(company=company_a, team=team_a, name="Ana Alvarez", email="ana@a.example")
    page = browser_page
    page.goto(f"{live_server.url}/devices/")
    add = page.get_by_role("link", name="Add New Devices")

    add.click()
    dialog = page.get_by_role("dialog", name="Device")
    dialog.wait_for()
    assert page.evaluate("document.activeElement.id") == "id_team"
    page.keyboard.press("Escape")
    page.wait_for_function("!document.querySelector('dialog')")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Add New Devices"

    add.click()
    dialog.wait_for()
    page.select_option("#id_employee", label="Ana Alvarez (Alpha Team)")
    page.get_by_role("button", name="Add Email").click()
    page.get_by_role("button", name="Remove ana@a.example").wait_for()
    assert page.evaluate("document.activeElement.id") == "id_employee"
    page.get_by_role("button", name="OK", exact=True).click()
    page.locator("#id_nickname_error").wait_for()
    assert page.locator("dialog[open]").count() == 1

    page.select_option("#id_license", value=str(lic.pk))
    page.fill("#id_nickname", "Browser tablet")
    page.get_by_role("button", name="OK", exact=True).click()
    page.wait_for_function("!document.querySelector('dialog')")
    page.locator("#pending-registrations .reg-code").wait_for()
    assert "Browser tablet" in page.locator("#pending-registrations").inner_text()
    assert page.locator("#licenses-free").inner_text() == "0"
    countdown = page.locator("#pending-registrations .countdown").inner_text()
    assert countdown.endswith("left")
    assert ":" in countdown  # the script counts down in minutes and seconds
    with company_scope(company_a):
        device = Device.objects.get()
    assert device.recipients == ["ana@a.example"]
