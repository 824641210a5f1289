"""
In the browser: the Device dialog warns (and does not refuse) before a
duplicate pending nickname is saved; an expired pending code says so, tells
when its license is released, and is counted as held on the Licenses page.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, assert_fits, screenshot, sign_in

pytestmark = pytest.mark.e2e

CODE = re.compile(r"^[B-Z]{4}-[B-Z]{4}-[B-Z]{4}$")

EXPIRE_CODE = """
import datetime
from django.utils import timezone
from backoffice.devices.models import RegistrationCode
from backoffice.tenancy.scoping import scopes_disabled
with scopes_disabled():
    codes = RegistrationCode.objects.open().filter(device__nickname={nickname!r})
    print(codes.update(expires_at=timezone.now() - datetime.timedelta(hours=2)))
"""


def add_device(page, nickname: str):
    """Add New Devices with the first free license; return the dialog."""
    page.get_by_role("link", name="Add New Devices").click()
    dialog = page.get_by_role("dialog", name="Device")
    dialog.get_by_label("Lic.#").select_option(index=1)
    dialog.get_by_label("Nickname").fill(nickname)
    dialog.get_by_role("button", name="OK", exact=True).click()
    return dialog


def cancel_row(page, row) -> None:
    row.get_by_role("button", name=re.compile(r"^Cancel ")).click()
    page.get_by_role("dialog", name="Please confirm").get_by_role("button", name="OK").click()
    expect(row).to_have_count(0)


def test_a_duplicate_pending_nickname_warns_then_saves(page):
    sign_in(page, "admin@northwind.example")
    pending = page.get_by_role("region", name="Pending Registrations")
    before = pending.locator("tbody tr", has_text="New tablet 1").count()
    assert before >= 1

    dialog = add_device(page, "New tablet 1")
    warning = dialog.get_by_role("alert").filter(has_text="Check before saving")
    expect(warning).to_contain_text("New tablet 1")
    save_anyway = dialog.get_by_role("button", name="Save anyway")
    expect(save_anyway).to_be_visible()
    expect(dialog.get_by_role("button", name="OK", exact=True)).to_have_count(0)
    # Nothing saved by the first OK.
    expect(pending.locator("tbody tr", has_text="New tablet 1")).to_have_count(before)
    assert_accessible(page)

    save_anyway.click()
    expect(page.locator("dialog[data-modal]")).to_have_count(0)
    expect(pending.locator("tbody tr", has_text="New tablet 1")).to_have_count(before + 1)
    new_row = page.locator("#pending-registrations tbody tr:focus")
    expect(new_row).to_have_count(1)
    row = page.locator(f"#{new_row.get_attribute('id')}")
    cancel_row(page, row)
    expect(pending.locator("tbody tr", has_text="New tablet 1")).to_have_count(before)


def test_an_expired_code_says_so_and_holds_its_license_until_released(page, server):
    sign_in(page, "admin@northwind.example")
    add_device(page, "Expiring tablet")
    expect(page.locator("dialog[data-modal]")).to_have_count(0)
    assert server.manage("shell", "--no-imports", "-c", EXPIRE_CODE.format(nickname="Expiring tablet")).strip() == "1"

    page.reload()
    row = page.get_by_role("region", name="Pending Registrations").locator("tbody tr", has_text="Expiring tablet")
    expect(row).to_contain_text("Expired")
    expect(row).to_contain_text("code not entered in time")
    expect(row).not_to_contain_text("Waiting for registration")
    expect(
        row.get_by_text(re.compile(r"^Released \d{4}-\d\d-\d\d \d\d:\d\d unless you click Replace$"))
    ).to_be_visible()
    expect(row.locator(".reg-code")).to_have_count(0)
    expect(row.get_by_role("button", name="Replace code of Expiring tablet")).to_be_visible()
    expect(row.get_by_role("button", name="Cancel Expiring tablet")).to_be_visible()
    assert_accessible(page)
    row.scroll_into_view_if_needed()
    screenshot(page, "pending-expired", full_page=False)
    for width, height in ((1280, 800), (768, 1024), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        assert_fits(page, f"an expired pending row at {width} px")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto("/licenses/")
    held = page.locator("#held-by-expired-label").locator("xpath=..")
    expect(held).to_contain_text("1")
    expect(page.get_by_role("row", name=re.compile("Expiring tablet"))).to_contain_text("Held by an expired code")

    # Replace gives the row a live code again; then Cancel leaves the demo data as it was.
    page.goto("/devices/")
    row = page.get_by_role("region", name="Pending Registrations").locator("tbody tr", has_text="Expiring tablet")
    row.get_by_role("button", name="Replace code of Expiring tablet").click()
    page.get_by_role("dialog", name="Please confirm").get_by_role("button", name="OK").click()
    expect(row.locator(".reg-code")).to_have_text(CODE)
    expect(row).not_to_contain_text("code not entered in time")
    cancel_row(page, row)
