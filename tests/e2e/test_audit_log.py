"""
The company audit log in the browser: from the menu, filtered by action and
by device, paged, downloaded as CSV; what a Team Administrator sees; the page
at phone, tablet and desktop width, axe clean.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, assert_fits, new_page, screenshot, sign_in

pytestmark = pytest.mark.e2e

MARK = "E2E audit"
# A history for the demo company, recorded through the audit service (and removed afterwards):
# 35 edits of one Downtown Detail device moving between teams, 30 edits of the Fleet Services team.
SEED = f"""
from backoffice.audit.services import audit_record
from backoffice.devices.models import Device
from backoffice.organization.models import Team
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.scoping import company_scope
company = Company.objects.get(name="Northwind Auto Reconditioning")
admin = User.objects.get(email="admin@northwind.example")
with company_scope(company):
    downtown = Team.objects.get(name="Downtown Detail")
    fleet = Team.objects.get(name="Fleet Services")
    device = Device.objects.filter(team=downtown, registered_at__isnull=False).order_by("nickname").first()
    for n in range(35):
        old, new = ("Downtown Detail", "Fleet Services") if n % 2 else ("Fleet Services", "Downtown Detail")
        audit_record(company=company, actor=admin, action="device.changed", obj=device,
                     summary=f"{MARK} {{n}}: device {{device.nickname}} changed",
                     changes=[{{"field": "Team", "old": old, "new": new}}])
    for n in range(30):
        audit_record(company=company, actor=admin, action="team.updated", obj=fleet,
                     summary=f"{MARK} team {{n}}: Fleet Services changed",
                     changes=[{{"field": "Description", "old": "(none)", "new": "Fleet work"}}])
    print("SEEDED", device.pk, downtown.pk, fleet.pk, device.nickname, sep="|")
"""
UNSEED = f"""
from backoffice.audit.models import AuditEvent
from backoffice.tenancy.scoping import scopes_disabled
with scopes_disabled():
    AuditEvent.objects.filter(summary__startswith="{MARK}").delete()
"""


@pytest.fixture
def history(server):
    output = server.manage("shell", "-c", SEED)
    line = next(line for line in output.splitlines() if line.startswith("SEEDED|"))
    _, device, downtown, fleet, nickname = line.split("|", 4)
    yield {"device": int(device), "nickname": nickname, "downtown": int(downtown), "fleet": int(fleet)}
    server.manage("shell", "-c", UNSEED)


def rows(page):
    return page.get_by_role("region", name="Events").locator("tbody tr")


def cells(page, label: str) -> list[str]:
    return [text.strip() for text in rows(page).locator(f'td[data-label="{label}"]').all_inner_texts()]


def download_csv(page) -> list[list[str]]:
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == "AuditLog.csv"
    return list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))


def test_an_administrator_filters_pages_and_downloads_the_log(page, history):
    sign_in(page, "admin@northwind.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log")).to_have_attribute(
        "aria-current", "page"
    )
    expect(rows(page)).to_have_count(50)
    assert_accessible(page)
    screenshot(page, "audit-log-1280", full_page=False)

    # Paging: 65 seeded events and the demo's own, newest first; Older, then Newer again.
    # (The demo's outbox worker may have recorded a sent email since: look at the seeded rows.)
    first_page = cells(page, "What happened")
    seeded_first = [text for text in first_page if text.startswith(MARK)]
    assert seeded_first[0].startswith(f"{MARK} team 29")
    expect(page.get_by_role("link", name="‹ Newer")).to_have_count(0)
    page.get_by_role("link", name="Older ›").click()
    second_page = cells(page, "What happened")
    assert not set(first_page) & set(second_page)
    page.get_by_role("link", name="‹ Newer").click()
    assert cells(page, "What happened") == first_page

    # By action, with the labels of the registry.
    page.get_by_label("Action").select_option(label="Device changed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"action=device\.changed"))
    # The 35 seeded edits are the newest; the demo's own (and other tests') edits follow them.
    expect(rows(page).first).to_contain_text(f"{MARK} 34:")
    changed = cells(page, "What happened")
    assert len(changed) >= 35
    assert all(text.startswith(MARK) for text in changed[:35])
    assert sum(text.startswith(MARK) for text in changed) == 35
    assert set(cells(page, "Action")) == {"Device changed"}
    expect(rows(page).first.locator(".audit-changes")).to_contain_text("Team:")

    # By device: from the device's link in a row to the log of that device, its nickname as the active filter.
    page.goto(f"/audit/?device={history['device']}")
    chips = page.get_by_role("list", name="Filters in use")
    expect(chips).to_contain_text(f"Device: {history['nickname']}")
    object_links = rows(page).locator('td[data-label="Object"] a')
    assert set(object_links.all_inner_texts()) == {history["nickname"]}
    assert object_links.first.get_attribute("href") == f"/devices/{history['device']}/"
    assert_accessible(page)
    screenshot(page, "audit-log-device", full_page=False)
    table = download_csv(page)
    expect(rows(page)).to_have_count(len(table) - 1)
    assert table[0][:3] == ["Time (America/Chicago)", "Actor", "Action"]
    seeded = [row for row in table[1:] if row[8].startswith(MARK)]
    assert len(seeded) == 35
    assert {row[6] for row in table[1:]} == {str(history["device"])}
    assert seeded[0][9] in ("Team: Downtown Detail → Fleet Services", "Team: Fleet Services → Downtown Detail")
    chips.get_by_role("link", name="Remove the device filter").click()
    expect(page.get_by_role("list", name="Filters in use")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/audit/\?$|/audit/$"))

    # A bad date range is a clear error, and nothing is listed.
    page.goto("/audit/?date_from=2026-03-10&date_to=2026-03-01")
    expect(page.get_by_role("alert")).to_contain_text("The filters could not be used")
    expect(page.get_by_text("The end date is before the start date.")).to_be_visible()
    expect(rows(page)).to_have_count(0)
    assert_accessible(page)


def test_a_team_administrator_sees_only_the_teams_events(page, history):
    sign_in(page, "teamadmin@northwind.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.get_by_text("your team (Downtown Detail)")).to_be_visible()
    expect(page.get_by_text(f"{MARK} team")).to_have_count(0)  # Fleet Services' events are not theirs
    expect(page.get_by_text(f"{MARK} 34:")).to_be_visible()
    assert_accessible(page)
    table = download_csv(page)
    assert {row[7] for row in table[1:]} == {str(history["downtown"])}
    page.goto(f"/audit/?team={history['fleet']}")
    expect(rows(page)).to_have_count(0)
    expect(page.get_by_role("alert")).to_be_visible()


def test_viewers_have_no_audit_log_unless_the_company_allows_it(page):
    sign_in(page, "viewer@northwind.example")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log")).to_have_count(0)
    page.watch.allow("404")
    assert page.goto("/audit/").status == 404


@pytest.mark.parametrize(("width", "height"), [(768, 1024), (390, 844)])
def test_the_log_fits_on_tablets_and_phones(browser, server, history, width, height):
    page = new_page(browser, server, width=width, height=height)
    sign_in(page, "admin@northwind.example")
    page.goto("/audit/")
    expect(rows(page)).to_have_count(50)
    assert_fits(page, f"audit log at {width} px")
    assert_accessible(page)
    screenshot(page, f"audit-log-{width}", full_page=False)
    page.context.close()
    page.watch.check()


@pytest.mark.parametrize("width", [1280, 1440])
def test_the_menu_stays_on_one_row_at_desktop_widths(browser, server, width):
    page = new_page(browser, server, width=width, height=800)
    sign_in(page, "admin@northwind.example")
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    tops = {round(box["y"]) for box in (link.bounding_box() for link in links.all())}
    assert len(tops) == 1, f"the menu wraps at {width} px: rows at {sorted(tops)}"
    bar = page.locator(".topbar__inner").bounding_box()
    assert bar["height"] < 80, f"the top bar is {bar['height']} px high at {width} px"
    assert_fits(page, f"menu at {width} px")
    page.context.close()
    page.watch.check()
