"""Adding 20 tablets in one Device dialog, then their code sheet, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, assert_fits, new_page, screenshot, sign_in

pytestmark = pytest.mark.e2e

PREFIX = "E2E rollout tablet"
# 20 more free licenses for the demo company while the test runs; removed afterwards with what it added.
SEED = """
from backoffice.licensing.models import License
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope
company = Company.objects.get(name="Northwind Auto Reconditioning")
with company_scope(company):
    License.objects.bulk_create(License(company=company, number=f"E2EB-{i:05d}") for i in range(20))
"""
UNSEED = f"""
from backoffice.devices.models import Device
from backoffice.licensing.models import License
from backoffice.notifications.models import OutboxEmail
from backoffice.tenancy.scoping import scopes_disabled
with scopes_disabled():
    batches = set(Device.objects.filter(nickname__startswith="{PREFIX}").values_list("codes__batch_id", flat=True))
    Device.objects.filter(nickname__startswith="{PREFIX}").delete()
    OutboxEmail.objects.filter(batch_id__in=[b for b in batches if b]).delete()
    License.objects.filter(number__startswith="E2EB-").delete()
"""


@pytest.fixture
def spare_licenses(server):
    server.manage("shell", "-c", SEED)
    yield
    server.manage("shell", "-c", UNSEED)


def test_add_20_tablets_in_one_dialog_and_open_their_code_sheet(page, browser, server, spare_licenses):
    sign_in(page, "admin@northwind.example")
    free_before = int(page.locator("#licenses-free").inner_text())
    page.get_by_role("link", name="Add New Devices").click()
    dialog = page.get_by_role("dialog", name="Device")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Nickname").fill(PREFIX)
    dialog.get_by_label("Quantity").fill("20")
    dialog.get_by_label("Employee").select_option(label="Ana Alvarez (Default Team)")
    dialog.get_by_role("button", name="Add Email").click()
    expect(dialog.get_by_role("button", name="Remove ana.alvarez@northwind.example")).to_be_visible()
    dialog.get_by_label("Expires In").select_option(label="1 day")
    dialog.locator("#batch-box").scroll_into_view_if_needed()
    assert_accessible(page)
    screenshot(page, "batch-add-dialog-1280", full_page=False)
    dialog.get_by_role("button", name="OK", exact=True).click()

    expect(dialog.get_by_role("heading", name="20 devices added.")).to_be_visible()
    expect(dialog).to_contain_text(f"{PREFIX} 01")
    expect(dialog).to_contain_text("and 8 more")
    expect(dialog).to_contain_text("1 recipient will get one email listing all 20 codes")
    assert_accessible(page)
    screenshot(page, "batch-add-done-1280", full_page=False)

    dialog.get_by_role("link", name="Open the code sheet").click()
    page.wait_for_url(re.compile(r"/devices/codes/sheet/\?batch="))
    expect(page.get_by_role("heading", name="Registration codes", level=1)).to_be_visible()
    cards = page.locator("article.sheet-card")
    expect(cards).to_have_count(20)
    expect(page.locator(".sheet-card__code").first).to_have_text(re.compile(r"^[B-Z]{4}-[B-Z]{4}-[B-Z]{4}$"))
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    assert_accessible(page)
    assert_fits(page, "code sheet")
    sheet_url = page.url
    screenshot(page, "code-sheet-pages-1280", full_page=False)

    page.get_by_label("Grid (8 a page)").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("main.sheet--grid")).to_be_visible()
    assert_fits(page, "code sheet grid")
    screenshot(page, "code-sheet-grid-1280", full_page=False)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click(modifiers=["Alt"])
    download = download_info.value
    assert download.suggested_filename == "registration-codes.pdf"

    for width in (768, 390):
        narrow = new_page(browser, server, width=width, height=900)
        sign_in(narrow, "admin@northwind.example")
        narrow.goto(sheet_url)
        expect(narrow.locator("article.sheet-card")).to_have_count(20)
        assert_fits(narrow, f"code sheet at {width}")
        assert_accessible(narrow)
        screenshot(narrow, f"code-sheet-{width}", full_page=False)
        narrow.goto("/devices/add/")
        narrow.get_by_label("Quantity").scroll_into_view_if_needed()
        assert_fits(narrow, f"device dialog page at {width}")
        screenshot(narrow, f"batch-add-{width}", full_page=False)
        narrow.context.close()
        narrow.watch.check()

    page.goto("/devices/")
    expect(page.locator("#licenses-free")).to_have_text(str(free_before - 20))
    pending = page.get_by_role("region", name="Pending Registrations")
    expect(pending.locator("tr", has_text=f"{PREFIX} 20")).to_contain_text("ana.alvarez@northwind.example")
