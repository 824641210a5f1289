"""
Every action confirms itself where the user is looking: a toast naming the
device, the row acted on scrolled into view, flashed and focused; Delete,
Replace and Cancel ask with the product's own dialog; a changed Device
dialog is not discarded without asking.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, screenshot, sign_in

pytestmark = pytest.mark.e2e

CODE = re.compile(r"^[B-Z]{4}-[B-Z]{4}-[B-Z]{4}$")


def toast(page, text: str):
    return page.get_by_role("status").locator(".toast", has_text=text)


def confirm_dialog(page):
    return page.get_by_role("dialog", name="Please confirm")


def add_device(page, nickname: str) -> None:
    page.get_by_role("link", name="Add New Devices").click()
    dialog = page.get_by_role("dialog", name="Device")
    dialog.get_by_label("Lic.#").select_option(index=1)
    dialog.get_by_label("Nickname").fill(nickname)
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator("dialog[data-modal]")).to_have_count(0)


def test_add_replace_and_cancel_confirm_where_the_user_looks(page):
    sign_in(page, "admin@northwind.example")
    free = int(page.locator("#licenses-free").inner_text())

    # Add: the toast names the device; the new row is in view, flashed and focused.
    add_device(page, "Toast tablet")
    expect(toast(page, "Toast tablet added. Its registration code is shown in Pending Registrations.")).to_be_visible()
    pending = page.get_by_role("region", name="Pending Registrations")
    row = pending.locator("tr", has_text="Toast tablet")
    expect(row).to_be_focused()
    expect(row).to_be_in_viewport()
    expect(row).to_have_class(re.compile(r"\bis-highlighted\b"))
    expect(row.locator(".reg-code")).to_have_text(CODE)
    expect(page.locator("#licenses-free")).to_have_text(str(free - 1))
    assert_accessible(page)
    screenshot(page, "toast-after-add", full_page=False)

    # Show QR becomes Hide QR while open.
    row.get_by_text("Show QR").click()
    expect(row.locator("summary")).to_have_text("Hide QR")
    row.get_by_text("Hide QR").click()
    expect(row.locator("summary")).to_have_text("Show QR")

    # Replace asks, naming the device; Escape answers Cancel and changes nothing.
    code = row.locator(".reg-code").inner_text()
    replace = row.get_by_role("button", name="Replace code of Toast tablet")
    replace.click()
    confirm = confirm_dialog(page)
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text(
        "Replace the registration code of Toast tablet? The current code stops working at once."
    )
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    assert_accessible(page)
    screenshot(page, "confirm-dialog", full_page=False)
    page.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(replace).to_be_focused()
    page.wait_for_timeout(300)
    expect(row.locator(".reg-code")).to_have_text(code)

    # OK: a new code, a toast naming the device, the row focused.
    replace.click()
    confirm.get_by_role("button", name="OK").click()
    expect(
        toast(page, "New registration code issued for Toast tablet; the previous one no longer works.")
    ).to_be_visible()
    expect(row.locator(".reg-code")).not_to_have_text(code)
    expect(row).to_be_focused()

    # Cancel: the row goes, its license is free again, focus on the section's heading.
    row.get_by_role("button", name="Cancel Toast tablet").click()
    expect(confirm).to_contain_text("Cancel the registration of Toast tablet?")
    confirm.get_by_role("button", name="OK").click()
    expect(toast(page, "Registration of Toast tablet cancelled; its license is free again.")).to_be_visible()
    expect(row).to_have_count(0)
    expect(pending.get_by_role("heading", name="Pending Registrations")).to_be_focused()
    expect(page.locator("#licenses-free")).to_have_text(str(free))


def test_edit_and_delete_confirm_at_the_row(page):
    sign_in(page, "admin@northwind.example")
    table = page.get_by_role("region", name="Registered devices")
    rows = table.locator("tbody tr")
    count = rows.count()
    free = int(page.locator("#licenses-free").inner_text())

    # Edit a row far down the list: after OK the toast names it and the row is in view and focused.
    last = rows.last
    row_id = last.get_attribute("id")
    assert re.fullmatch(r"device-\d+", row_id)
    name = last.locator('td[data-label="Name"] strong').inner_text()
    last.get_by_role("link", name=f"Edit {name}").click()
    dialog = page.get_by_role("dialog", name="Device")
    dialog.get_by_label("Description").fill("Checked by the browser tests.")
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator("dialog[data-modal]")).to_have_count(0)
    expect(toast(page, f"{name} saved.")).to_be_visible()
    row = page.locator(f"#{row_id}")
    expect(row).to_be_focused()
    expect(row).to_be_in_viewport()
    expect(rows).to_have_count(count)

    # Delete asks with the product's dialog, naming the device; OK deletes it.
    row.get_by_role("link", name=f"Delete {name}").click()
    confirm = confirm_dialog(page)
    expect(confirm).to_contain_text(f"Delete {name}? Its license becomes free at once")
    confirm.get_by_role("button", name="OK").click()
    expect(toast(page, f"{name} deleted")).to_be_visible()
    expect(page.locator(f"#{row_id}")).to_have_count(0)
    expect(rows).to_have_count(count - 1)
    expect(table.get_by_role("heading", name="Registered devices")).to_be_focused()
    expect(page.locator("#licenses-free")).to_have_text(str(free + 1))


def test_a_changed_dialog_asks_before_it_is_discarded(page):
    sign_in(page, "admin@northwind.example")
    add = page.get_by_role("link", name="Add New Devices")
    dialog = page.get_by_role("dialog", name="Device")
    confirm = confirm_dialog(page)

    # Untouched: Escape closes it at once.
    add.click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(confirm).to_have_count(0)

    # Changed: Escape asks; Keep editing keeps what was typed.
    add.click()
    dialog.get_by_label("Nickname").fill("Half-filled tablet")
    page.keyboard.press("Escape")
    expect(confirm).to_contain_text("Discard the changes in this dialog?")
    confirm.get_by_role("button", name="Keep editing").click()
    expect(confirm).to_have_count(0)
    expect(dialog.get_by_label("Nickname")).to_have_value("Half-filled tablet")
    expect(dialog.get_by_label("Nickname")).to_be_focused()

    # The close button and Cancel ask too.
    dialog.get_by_role("button", name="Close").click()
    confirm.get_by_role("button", name="Keep editing").click()
    dialog.get_by_role("link", name="Cancel", exact=True).click()
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Keep editing").click()

    # Reloading asks the browser's own "Leave site?" question; staying keeps the dialog.
    with pytest.raises(Exception, match="Timeout"):
        page.reload(timeout=1500)
    assert page.watch.leave_prompts != []
    expect(dialog.get_by_label("Nickname")).to_have_value("Half-filled tablet")

    # Discard changes closes it; nothing was added.
    dialog.get_by_role("button", name="Close").click()
    confirm.get_by_role("button", name="Discard changes").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("region", name="Pending Registrations")).not_to_contain_text("Half-filled tablet")


def test_typing_in_the_assigned_clients_box_logs_no_error(page):
    """The box's searches are queued, not aborted: no htmx:sendAbort on the console (the fixture checks)."""
    sign_in(page, "admin@northwind.example")
    page.get_by_role("link", name="Add New Devices").click()
    dialog = page.get_by_role("dialog", name="Device")
    dialog.get_by_role("tab", name="Clients").click()
    dialog.get_by_label("Wholesale", exact=True).check()
    dialog.get_by_role("radio", name=re.compile(r"Selected")).check()
    box = dialog.get_by_label("Wholesale client")
    for text in ("M", "Me", "Met", "Metr", "Metro"):
        box.press_sequentially(text[-1], delay=120)
    page.wait_for_timeout(800)
    expect(dialog.locator('#client-options option[value^="Metro Ford"]').first).to_be_attached()
