"""Browsing the Active Devices page as a user: sign in, search, chart, report, sign out."""

import csv
import html
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, new_page, screenshot, sign_in

pytestmark = pytest.mark.e2e


def device_rows(page):
    return page.get_by_role("region", name="Registered devices").locator("tbody tr")


def test_sign_in_page_is_accessible(page):
    page.goto("/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "sign-in")


def test_wrong_password_is_announced(page):
    page.goto("/login/")
    page.get_by_label("Email").fill("admin@northwind.example")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("password you specified are not correct")


def test_search_chart_report_and_sign_out(page):
    sign_in(page, "admin@northwind.example")
    expect(page.get_by_role("heading", name="Active Devices")).to_be_visible()
    expect(page.locator("#licenses-total")).to_have_text("90")
    expect(device_rows(page)).to_have_count(40)
    assert_accessible(page)
    screenshot(page, "active-devices")

    # Each search box, then Find.
    for label, value, check in [
        ("Team", "fleet", lambda t: "Fleet Services" in t),
        ("License", "NW-1000", lambda t: "NW-1000" in t),
        ("Nickname", "ios", lambda t: "iOS" in t),
        ("Platform", "windows", lambda t: "Windows" in t),
        ("Version", "6.0", lambda t: "ReconPro 6.0" in t),
    ]:
        page.get_by_role("link", name="Clear", exact=True).click()
        page.get_by_label(label, exact=True).fill(value)
        page.get_by_role("button", name="Find").click()
        expect(page).to_have_url(re.compile(rf"[?&]{label.lower()}={value}"))
        rows = device_rows(page)
        assert rows.count() > 0
        assert all(check(rows.nth(i).inner_text()) for i in range(rows.count()))

    page.get_by_label("Nickname", exact=True).fill("no such device")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_text("No devices match this search")).to_be_visible()
    screenshot(page, "search-no-results")
    page.get_by_role("link", name="Clear", exact=True).click()
    expect(device_rows(page)).to_have_count(40)

    # Click the largest slice of the versions chart.
    slice_link = page.locator(".chart svg a").first
    label = slice_link.get_attribute("aria-label")
    version, count = re.match(r"Version (\S+): (\d+) devices", label).groups()
    slice_link.click()
    expect(page.get_by_text(f"Showing only ReconPro version {version}")).to_be_visible()
    expect(device_rows(page)).to_have_count(int(count))
    screenshot(page, "search-results")

    # The report of that search.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Devices Report").click()
    download = download_info.value
    assert download.suggested_filename == "DeviceReport.csv"
    body = Path(download.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(body)))
    # The statistics block comes first, then the device header and rows.
    assert ["Devices", "Registered devices", count] in table
    assert ["ReconPro version", version, count] in table
    header = next(i for i, row in enumerate(table) if row[:2] == ["Team", "Nickname"])
    assert len(table) - header - 1 == int(count)
    assert {row[6] for row in table[header + 1 :]} == {version}
    spreadsheet_screenshot(page, table, "device-report")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def spreadsheet_screenshot(page, table: list[list[str]], name: str) -> None:
    """The parsed CSV as a spreadsheet shows it (a grid, one cell per field), for the README."""
    cells = "".join(
        "<tr><th>{}</th>{}</tr>".format(n + 1, "".join(f"<td>{html.escape(cell)}</td>" for cell in row))
        for n, row in enumerate(table[:40])
    )
    sheet = page.context.new_page()
    sheet.set_viewport_size({"width": 1280, "height": 800})
    sheet.set_content(
        "<style>body{font:13px sans-serif;margin:0}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;white-space:nowrap}th{background:#eee;color:#555}"
        "</style><table>" + cells + "</table>"
    )
    screenshot(sheet, name)
    sheet.close()


def test_viewer_sees_no_write_controls(page):
    sign_in(page, "viewer@northwind.example")
    expect(device_rows(page)).to_have_count(40)
    for name in ("Add New Devices", "Edit", "Delete", "Replace", "Cancel"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)


def test_team_administrator_sees_only_their_team(page):
    sign_in(page, "teamadmin@northwind.example")
    rows = device_rows(page)
    assert rows.count() == 10
    for i in range(rows.count()):
        assert rows.nth(i).locator('td[data-label="Team"]').inner_text() == "Downtown Detail"


def test_phone_width_is_usable(browser, server):
    page = new_page(browser, server, width=390, height=844)
    sign_in(page, "admin@northwind.example")
    expect(page.get_by_role("button", name="Find")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "active-devices-phone")
    page.context.close()
    page.watch.check()


def test_a_content_security_policy_violation_is_caught(browser, server):
    """The console watch of every browser test sees a violation when one happens."""
    page = new_page(browser, server)
    page.goto("/login/")
    # An inline script added to the page is refused by the policy (script-src 'self').
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1'; document.body.append(s); }"
    )
    page.wait_for_timeout(300)
    page.context.close()
    assert any("script-src" in text for text in page.watch.errors), page.watch.errors
