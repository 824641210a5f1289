"""The Device dialog in a real browser: open, keyboard, Add Email over htmx, OK, live section."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, screenshot, sign_in

pytestmark = pytest.mark.e2e


def test_dialog_keyboard_add_email_and_ok(page):
    sign_in(page, "admin@northwind.example")
    free_before = int(page.locator("#licenses-free").inner_text())
    add = page.get_by_role("link", name="Add New Devices")

    add.click()
    dialog = page.get_by_role("dialog", name="Device")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Team")).to_be_focused()
    assert_accessible(page)
    screenshot(page, "device-dialog-settings", full_page=False)
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)
    expect(add).to_be_focused()

    add.click()
    expect(dialog).to_be_visible()
    dialog.get_by_label("Employee").select_option(label="Ana Alvarez (Default Team)")
    dialog.get_by_role("button", name="Add Email").click()
    expect(dialog.get_by_role("button", name="Remove ana.alvarez@northwind.example")).to_be_visible()
    expect(dialog.get_by_label("Employee")).to_be_focused()
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(dialog.locator("#id_nickname_error")).to_be_visible()
    expect(page.locator("dialog[open]")).to_have_count(1)

    dialog.get_by_label("Lic.#").select_option(index=1)
    dialog.get_by_label("Nickname").fill("Browser tablet")
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator("dialog")).to_have_count(0)
    pending = page.get_by_role("region", name="Pending Registrations")
    row = pending.locator("tr", has_text="Browser tablet")
    expect(row.locator(".reg-code")).to_have_text(re.compile(r"^[B-Z]{4}-[B-Z]{4}-[B-Z]{4}$"))
    expect(row).to_contain_text("ana.alvarez@northwind.example")
    expect(page.locator("#licenses-free")).to_have_text(str(free_before - 1))
    countdown = row.locator(".countdown")
    first = countdown.inner_text()
    assert re.search(r"\d+:\d\d left$", first) or first.endswith("left")
    expect(countdown).not_to_have_text(first, timeout=5000)
