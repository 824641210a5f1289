"""The Device dialog's Clients and Allowed Functionality tabs in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, screenshot, sign_in

pytestmark = pytest.mark.e2e


def test_tabs_keyboard_clients_and_functionality(page):
    sign_in(page, "admin@northwind.example")
    page.get_by_role("link", name="Add New Devices").click()
    dialog = page.get_by_role("dialog", name="Device")
    expect(dialog).to_be_visible()
    settings_tab = dialog.get_by_role("tab", name="Device Settings")
    clients_tab = dialog.get_by_role("tab", name="Clients")
    functionality_tab = dialog.get_by_role("tab", name="Allowed Functionality")
    expect(settings_tab).to_have_attribute("aria-selected", "true")
    expect(dialog.locator("#device-panel-clients")).to_be_hidden()

    settings_tab.focus()
    page.keyboard.press("ArrowRight")
    expect(clients_tab).to_be_focused()
    expect(clients_tab).to_have_attribute("aria-selected", "true")
    expect(dialog.locator("#device-panel-clients")).to_be_visible()
    expect(dialog.locator("#device-panel-settings")).to_be_hidden()
    assert_accessible(page)
    screenshot(page, "device-dialog-clients", full_page=False)

    preview = dialog.locator("#effective-preview")
    dialog.get_by_label("Wholesale", exact=True).check()
    dialog.locator("input[name=client_scope][value=selected]").check()
    expect(preview).to_contain_text(re.compile(r"\b0 clients\b"))
    dialog.get_by_label("Wholesale client").fill("Bluewater Mazda")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(dialog.get_by_role("button", name="Delete Bluewater Mazda")).to_be_visible()
    expect(clients_tab).to_have_attribute("aria-selected", "true")
    expect(preview).to_contain_text("1 client: Bluewater Mazda.")

    dialog.get_by_label("Retail", exact=True).check()
    expect(dialog.locator("input[name=client_scope][value=selected]")).to_be_disabled()
    expect(dialog.locator("input[name=client_scope][value=all]")).to_be_checked()

    clients_tab.focus()
    page.keyboard.press("ArrowRight")
    expect(functionality_tab).to_be_focused()
    photos = dialog.get_by_label("Photos")
    expect(photos).to_be_disabled()
    dialog.get_by_label("Custom", exact=True).check()
    expect(photos).to_be_enabled()
    dialog.get_by_label("Photos").uncheck()
    expect(preview).not_to_contain_text("Photos")
    assert_accessible(page)
    screenshot(page, "device-dialog-functionality", full_page=False)
