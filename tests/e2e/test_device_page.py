"""The device page in a real browser: from the list by the device's name, why each client is available, Edit."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, assert_fits, new_page, screenshot, sign_in

pytestmark = pytest.mark.e2e

# The demo device with a past (load_demo's device_story).
DEVICE = "Downtown Android 18"


def open_device_page(page) -> None:
    sign_in(page, "admin@northwind.example")
    page.locator("#device-table").get_by_role("link", name=DEVICE, exact=True).click()
    page.wait_for_url(re.compile(r"/devices/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(DEVICE)


def change_team(page, team: str) -> None:
    page.locator(".page-actions").get_by_role("link", name="Edit").click()
    dialog = page.get_by_role("dialog", name="Device")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Team", exact=True).select_option(label=team)
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator("dialog")).to_have_count(0, timeout=15_000)
    expect(page.locator(".toast", has_text=f"{DEVICE} saved.").last).to_be_attached(timeout=15_000)
    # Refreshed in place: the settings show the new team.
    settings = page.locator("section[aria-labelledby=settings-h] dd").first
    expect(settings).to_have_text(team, timeout=15_000)


def test_device_page_from_the_list_reasons_and_edit(page, browser, server):
    open_device_page(page)
    clients = page.locator("#config-clients")
    reason = {
        "Summit Honda": "Assigned to this device",
        "Prime Auto Wholesale": "Used in documents recorded on this device",
        "Jamie Walker": "All retail clients",
    }
    for name, why in reason.items():
        expect(clients.locator("tr", has_text=name)).to_contain_text(why)
    expect(clients).to_contain_text("From area North Metro")
    expect(page.locator("#config-etag")).to_have_text(re.compile(r'^"[0-9a-f]{32}"$'))
    history = page.locator("#history-table")
    expect(history).to_contain_text(re.compile(r"ReconPro 5\.\d\.\d → 5\.4\.2"))
    expect(history).to_contain_text(re.compile(r"Checked in \d+ times between"))
    expect(page.locator("#documents")).to_contain_text("WO-2103")
    expect(page.get_by_role("link", name="See in the audit log")).to_have_attribute(
        "href", re.compile(r"^/audit/\?device=\d+$")
    )
    assert_accessible(page)
    assert_fits(page, "device page at 1280")
    screenshot(page, "device-page-1280")

    trail = page.locator("#trail tbody tr")
    before = trail.count()
    change_team(page, "Fleet Services")
    expect(page.locator("#configuration")).to_contain_text("Fleet Services")
    expect(trail).to_have_count(before + 1)
    expect(trail.first).to_contain_text(f"Device {DEVICE} changed")
    expect(trail.first).to_contain_text("admin@northwind.example")
    expect(trail.first).to_contain_text("Team: Downtown Detail → Fleet Services")

    # The same change in the company audit log, filtered by this device, and in its CSV.
    page.get_by_role("link", name="See in the audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    log = page.locator("main table tbody tr")
    expect(log.first).to_contain_text("Team: Downtown Detail → Fleet Services")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows, "the filtered export is empty"
    assert {row["Device id"] for row in rows} == {page.url.split("device=")[1].split("&")[0]}
    assert "Team: Downtown Detail → Fleet Services" in rows[0]["Changes"]
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text(DEVICE)

    # The shared demo data as they were.
    change_team(page, "Downtown Detail")

    url = page.url
    for width, height in ((768, 1024), (390, 844)):
        narrow = new_page(browser, server, width=width, height=height)
        try:
            sign_in(narrow, "admin@northwind.example")
            narrow.goto(url)
            expect(narrow.get_by_role("heading", level=1)).to_have_text(DEVICE)
            assert_fits(narrow, f"device page at {width}")
            screenshot(narrow, f"device-page-{width}")
            narrow.watch.check()
        finally:
            narrow.context.close()


def test_a_viewer_sees_the_device_page_without_actions(page):
    sign_in(page, "viewer@northwind.example")
    page.locator("#device-table").get_by_role("link", name=DEVICE, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(DEVICE)
    expect(page.locator(".page-actions")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Replace|Delete|Cancel"))).to_have_count(0)
    assert_accessible(page)
    # The company does not let Viewers read the audit log (the demo's setting): no link to it.
    expect(page.get_by_role("link", name="See in the audit log")).to_have_count(0)
