"""
The heart of the product in a real browser: Add New Devices with every
Device Settings field → the code in Pending Registrations, counting down →
the emulator redeems it → the device moves to the list without a reload →
Edit → the emulator's config shows the change → Replace → Delete with its
confirmation → the emulator is refused → sign out.
"""

import json
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, assert_accessible, screenshot, sign_in

pytestmark = pytest.mark.e2e

CODE = re.compile(r"^[B-Z]{4}-[B-Z]{4}-[B-Z]{4}$")


def emulator(server, state, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "bin" / "backoffice-device"), *args, "--state", str(state)]
        + (["--server", server.base_url] if args[0] == "register" else []),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_add_redeem_edit_replace_delete(page, server, tmp_path):
    sign_in(page, "admin@northwind.example")
    free = int(page.locator("#licenses-free").inner_text())

    # Add New Devices with every Device Settings field.
    page.get_by_role("link", name="Add New Devices").click()
    dialog = page.get_by_role("dialog", name="Device")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Team").select_option(label="Fleet Services")
    dialog.get_by_label("Time Zone").fill("phoenix")
    dialog.get_by_label("Lic.#").select_option(index=1)
    dialog.get_by_label("Nickname").fill("E2E Service Van")
    dialog.get_by_label("Description").fill("Shared by the night shift.")
    dialog.get_by_label("Expires In").select_option(label="1 hour")
    dialog.get_by_label("Employee").select_option(label="Carla Chen (Fleet Services)")
    dialog.get_by_role("button", name="Add Email").click()
    expect(dialog.get_by_role("button", name="Remove carla.chen@northwind.example")).to_be_visible()
    dialog.get_by_label("Email", exact=True).fill("dispatch@northwind.example")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(dialog.get_by_role("button", name="Remove dispatch@northwind.example")).to_be_visible()
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator("dialog")).to_have_count(0)

    # The code appears in Pending Registrations and its countdown moves.
    pending = page.get_by_role("region", name="Pending Registrations")
    row = pending.locator("tr", has_text="E2E Service Van")
    code = row.locator(".reg-code")
    expect(code).to_have_text(CODE)
    expect(row).to_contain_text("carla.chen@northwind.example")
    expect(row).to_contain_text("dispatch@northwind.example")
    expect(page.locator("#licenses-free")).to_have_text(str(free - 1))
    countdown = row.locator(".countdown")
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3000)
    assert_accessible(page)
    screenshot(page, "pending-registrations", full_page=False)

    # The emulator redeems the code; the list updates without a reload.
    state = tmp_path / "device.json"
    result = emulator(
        server,
        state,
        "register",
        code.inner_text().lower(),
        "--platform",
        "iOS",
        "--version",
        "6.1.0",
        "--name",
        "E2E iPad",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expect(pending.locator("tr", has_text="E2E Service Van")).to_have_count(0, timeout=20_000)
    table = page.get_by_role("region", name="Registered devices")
    device_row = table.locator("tbody tr", has_text="E2E Service Van")
    expect(device_row).to_contain_text("ReconPro 6.1.0", timeout=10_000)
    expect(device_row).to_contain_text("America/Phoenix")

    # Edit: time zone; Clients tab (Wholesale, Selected, add two clients and delete one);
    # Allowed Functionality (Custom, without Photos). The emulator's config shows them.
    device_row.get_by_role("link", name="Edit E2E Service Van").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("E2E iPad")
    dialog.get_by_label("Time Zone").fill("anchorage")
    dialog.get_by_role("tab", name="Clients").click()
    dialog.get_by_label("Wholesale", exact=True).check()
    dialog.get_by_role("radio", name=re.compile(r"Selected")).check()
    for client in ("Metro Ford", "Lakeside Toyota"):
        dialog.get_by_label("Wholesale client").fill(client)
        dialog.get_by_role("button", name="Add", exact=True).click()
        expect(dialog.get_by_role("button", name=f"Delete {client}")).to_be_visible()
    dialog.get_by_role("button", name="Delete Lakeside Toyota").click()
    expect(dialog.get_by_role("button", name="Delete Lakeside Toyota")).to_have_count(0)
    preview = dialog.locator("#effective-preview")
    expect(preview).to_contain_text("1 client: Metro Ford.")
    dialog.get_by_role("tab", name="Allowed Functionality").click()
    dialog.get_by_label("Custom", exact=True).check()
    dialog.get_by_label("Photos").uncheck()
    expect(preview).not_to_contain_text("Photos")
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="E2E Service Van saved.")).to_be_visible()
    result = emulator(server, state, "config")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["time_zone"] == "America/Anchorage"
    assert [(c["name"], c["type"]) for c in config["clients"]] == [("Metro Ford", "wholesale")]
    assert config["functionality"] == [
        "inspections",
        "work_orders",
        "service_requests",
        "invoices",
        "time_sheets",
        "vin_scanner",
        "signatures",
    ]

    # Replace: a new code shows in Pending Registrations; the device keeps working until it is used.
    table.locator("tbody tr", has_text="E2E Service Van").get_by_role(
        "button", name="Replace code of E2E Service Van"
    ).click()
    confirm = page.get_by_role("dialog", name="Please confirm")
    expect(confirm).to_contain_text("Issue a new registration code for E2E Service Van?")
    confirm.get_by_role("button", name="OK").click()
    expect(pending.locator("tr", has_text="E2E Service Van").locator(".reg-code")).to_have_text(CODE)
    assert emulator(server, state, "check-in").returncode == 0

    # Delete with its confirmation message: OK.
    page.get_by_role("region", name="Registered devices").locator("tbody tr", has_text="E2E Service Van").get_by_role(
        "link", name="Delete E2E Service Van"
    ).click()
    expect(confirm).to_contain_text("Delete E2E Service Van?")
    confirm.get_by_role("button", name="OK").click()
    expect(page.get_by_role("status").filter(has_text="E2E Service Van deleted")).to_be_visible()
    expect(page.locator("#licenses-free")).to_have_text(str(free))
    expect(page.get_by_role("region", name="Registered devices")).not_to_contain_text("E2E Service Van")
    refused = emulator(server, state, "check-in")
    assert refused.returncode == 1
    assert "credential_invalid" in refused.stdout + refused.stderr

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_delete_cancel_changes_nothing(page):
    sign_in(page, "admin@northwind.example")
    rows = page.get_by_role("region", name="Registered devices").locator("tbody tr")
    count = rows.count()
    first_name = rows.first.locator('td[data-label="Name"] strong').inner_text()
    rows.first.get_by_role("link", name=f"Delete {first_name}").click()
    page.get_by_role("dialog", name="Please confirm").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog", name="Please confirm")).to_be_hidden()
    page.wait_for_timeout(500)
    expect(rows).to_have_count(count)
    expect(rows.first).to_contain_text(first_name)
