"""
The Active Devices list's selection in a browser, by labels and roles:
select 5 devices and delete them (Licenses Free goes up by 5), select the
rest of the page and move them to another team; the selection bar and the
confirmation axe clean and screenshotted at desktop, tablet and phone width.
The devices are the test's own (seeded and removed afterwards), so the demo
data is as it was.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, assert_fits, new_page, screenshot, sign_in

pytestmark = pytest.mark.e2e

MARK = "E2E Sel"
SEED = f"""
import datetime
from django.utils import timezone
from backoffice.audit.models import AuditEvent
from backoffice.devices.models import Device
from backoffice.licensing.models import License
from backoffice.organization.models import Team
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope, scopes_disabled
company = Company.objects.get(name="Northwind Auto Reconditioning")
with scopes_disabled():
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
with company_scope(company):
    team = Team.objects.get(name="Downtown Detail")
    now = timezone.now()
    for n in range(1, 9):
        license = License.objects.create(company=company, number=f"E2ESEL-{{n:02d}}", license_type="standard",
                                         expires_on=now.date() + datetime.timedelta(days=365))
        Device.objects.create(company=company, team=team, license=license, nickname=f"{MARK} {{n:02d}}",
                              platform="Android", app_version="5.4.1", device_identifier=f"E2ESEL-{{n}}",
                              registered_at=now, changed_at=now)
print("SEEDED", last, sep="|")
"""
UNSEED = f"""
from backoffice.audit.models import AuditEvent
from backoffice.devices.models import Device
from backoffice.licensing.models import License
from backoffice.tenancy.scoping import scopes_disabled
with scopes_disabled():
    Device.objects.filter(nickname__startswith="{MARK}").delete()
    License.objects.filter(number__startswith="E2ESEL-").delete()
    AuditEvent.objects.filter(pk__gt={{last}}).delete()
"""


@pytest.fixture
def seeded(server):
    output = server.manage("shell", "-c", SEED)
    last = next(line for line in output.splitlines() if line.startswith("SEEDED|")).split("|")[1]
    yield
    server.manage("shell", "-c", UNSEED.format(last=last))


def licenses_free(page) -> int:
    return int(page.locator("#licenses-free").inner_text())


def test_select_five_delete_then_move_the_rest(page, browser, server, seeded):
    sign_in(page, "admin@northwind.example")
    page.goto("/devices/?nickname=E2E+Sel#registered-devices")
    table = page.get_by_role("region", name="Registered devices")
    bar = page.get_by_role("form", name="Selected devices")
    expect(bar).to_be_hidden()
    free = licenses_free(page)

    for n in range(1, 6):
        table.get_by_role("checkbox", name=f"Select {MARK} {n:02d}").check()
    expect(bar.get_by_role("status")).to_have_text("5 devices selected")
    assert_accessible(page)
    screenshot(page, "selection-bar", full_page=False)

    bar.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete")
    expect(dialog).to_contain_text("Delete 5 devices: frees 5 licenses, their apps stop working.")
    expect(dialog).to_contain_text(f"{MARK} 01, {MARK} 02, {MARK} 03, {MARK} 04, {MARK} 05.")
    assert_accessible(page)
    screenshot(page, "selection-confirm", full_page=False)
    dialog.get_by_role("button", name="Delete 5").click()
    expect(page.locator("#toasts")).to_contain_text("5 devices deleted; 5 licenses are free again.")
    expect(page.locator("#licenses-free")).to_have_text(str(free + 5))
    expect(table.get_by_role("checkbox", name=re.compile(f"Select {MARK}"))).to_have_count(3)
    expect(bar).to_be_hidden()

    # The rest of the page, moved to another team.
    page.get_by_role("checkbox", name="Select all devices on this page").check()
    expect(bar.get_by_role("status")).to_have_text("3 devices selected")
    bar.get_by_role("button", name="Move to team").click()
    dialog = page.get_by_role("dialog", name="Move to team")
    dialog.get_by_label("Move to team").select_option(label="Fleet Services")
    dialog.get_by_role("button", name="Continue").click()
    expect(dialog).to_contain_text("Move 3 devices to Fleet Services")
    assert_accessible(page)
    dialog.get_by_role("button", name="OK").click()
    expect(page.locator("#toasts")).to_contain_text("3 devices moved to Fleet Services")
    rows = page.get_by_role("region", name="Registered devices").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.locator('td[data-label="Team"]')).to_have_text(["Fleet Services"] * 3)


@pytest.mark.parametrize("width", [768, 390])
def test_selection_bar_and_confirmation_fit_tablets_and_phones(browser, server, seeded, width):
    page = new_page(browser, server, width=width, height=900)
    try:
        sign_in(page, "admin@northwind.example")
        page.goto("/devices/?nickname=E2E+Sel#registered-devices")
        page.get_by_role("checkbox", name="Select all devices on this page").check()
        bar = page.get_by_role("form", name="Selected devices")
        expect(bar.get_by_role("status")).to_have_text("8 devices selected")
        assert_fits(page, f"selection at {width}")
        screenshot(page, f"selection-bar-{width}", full_page=False)
        bar.get_by_role("button", name="Set time zone").click()
        dialog = page.get_by_role("dialog", name="Set time zone")
        dialog.get_by_label("Time Zone").select_option("Asia/Tokyo")
        dialog.get_by_role("button", name="Continue").click()
        expect(dialog).to_contain_text("Set the time zone of 8 devices to Asia/Tokyo.")
        assert_accessible(page)
        screenshot(page, f"selection-confirm-{width}", full_page=False)
        dialog.get_by_role("link", name="Cancel").click()
        expect(dialog).to_be_hidden()
    finally:
        page.context.close()
    page.watch.check()


def test_print_the_codes_of_checked_pending_devices(page):
    """Two pending devices ticked: Print codes opens their code sheet, and only theirs."""
    sign_in(page, "admin@northwind.example")
    page.goto("/devices/")
    pending = page.locator("#pending-registrations").locator('input[type=checkbox][name="ids"]')
    if pending.count() < 2:
        pytest.skip("the demo has fewer than two pending devices")
    names = []
    for n in range(2):
        box = pending.nth(n)
        box.check()
        names.append(box.get_attribute("aria-label").removeprefix("Select "))
    others = [
        label.removeprefix("Select ")
        for label in (pending.nth(n).get_attribute("aria-label") for n in range(2, pending.count()))
    ]
    bar = page.get_by_role("form", name="Selected devices")
    print_link = bar.get_by_role("link", name="Print codes (2)")
    expect(print_link).to_be_visible()
    with page.expect_popup() as popup_info:
        print_link.click()
    sheet = popup_info.value
    expect(sheet.get_by_role("heading", name="Registration codes", level=1)).to_be_visible()
    for name in names:
        expect(sheet.get_by_role("heading", name=name, exact=True)).to_be_visible()
    for name in others:
        expect(sheet.get_by_role("heading", name=name, exact=True)).to_have_count(0)
    assert_accessible(sheet)
    sheet.close()
    # Unticking both hides the link again.
    for n in range(2):
        pending.nth(n).uncheck()
    expect(bar.get_by_role("link", name=re.compile("Print codes"))).to_be_hidden()
