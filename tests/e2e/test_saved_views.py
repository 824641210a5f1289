"""Filters with counts, sorting, page size and saved views on the Active Devices page, in a browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, new_page, screenshot, sign_in

pytestmark = pytest.mark.e2e


def nicknames(page) -> list[str]:
    table = page.get_by_role("region", name="Registered devices")
    return table.locator('tbody td[data-label="Name"] strong').all_inner_texts()


def open_filters(page) -> None:
    """Open the Filters disclosure where it is closed (wide screens show the filters at once)."""
    if not page.get_by_label("Filter by Team").is_visible():
        page.locator("details.filters > summary").click()


def test_filter_sort_save_clear_and_reopen_the_same_list(page, browser, server):
    sign_in(page, "admin@northwind.example")
    open_filters(page)
    platform = page.get_by_label("Filter by Platform")
    # Each choice says how many devices it gives.
    ios = platform.locator("option", has_text="iOS")
    count = int(re.search(r"\((\d+)\)", ios.inner_text()).group(1))
    platform.select_option(label=ios.inner_text().strip())
    page.get_by_label("Per page").select_option("25")
    page.get_by_role("button", name="Find").click()
    expect(page).to_have_url(re.compile(r"[?&]p=iOS"))
    expect(page).to_have_url(re.compile(r"#registered-devices$"))
    page.get_by_role("link", name="Version", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]sort=version"))
    expected = nicknames(page)
    assert len(expected) == min(count, 25)
    expect(page.get_by_role("region", name="Registered devices")).to_contain_text(f"{count} device")
    assert_accessible(page)

    saved = page.get_by_role("complementary", name="Saved views")
    saved.get_by_text("Save current as…").click()
    saved.get_by_label("Name of the view").fill("iOS by version")
    saved.get_by_label("Share with the company").check()
    saved.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("complementary", name="Saved views").get_by_role("status")).to_have_text(
        "View iOS by version saved and shared with the company."
    )
    link = page.get_by_role("complementary", name="Saved views").get_by_role("link", name="iOS by version")
    expect(link).to_have_attribute("aria-current", "true")
    screenshot(page, "saved-views")

    page.get_by_role("link", name="Clear", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"p=iOS"))
    assert len(nicknames(page)) > len(expected)

    page.get_by_role("complementary", name="Saved views").get_by_role("link", name="iOS by version").click()
    expect(page).to_have_url(re.compile(r"[?&]p=iOS"))
    assert nicknames(page) == expected
    expect(page.get_by_label("Per page")).to_have_value("25")

    # Renamed in place; another member sees it as shared.
    saved = page.get_by_role("complementary", name="Saved views")
    saved.locator("summary", has_text="Rename").click()
    saved.get_by_label("New name").fill("Apple devices")
    saved.get_by_role("button", name="Save iOS by version").click()
    expect(page.get_by_role("complementary", name="Saved views")).to_contain_text("View Apple devices saved.")

    viewer = new_page(browser, server)
    try:
        sign_in(viewer, "viewer@northwind.example")
        shared = viewer.get_by_role("complementary", name="Saved views")
        expect(shared).to_contain_text("Shared with the company")
        shared.get_by_role("link", name="Apple devices").click()
        expect(viewer).to_have_url(re.compile(r"[?&]p=iOS"))
        expect(viewer.get_by_role("region", name="Registered devices")).to_contain_text(f"{count} device")
        assert nicknames(viewer) == expected
        assert_accessible(viewer)
        viewer.watch.check()
    finally:
        viewer.context.close()


def test_saved_view_without_javascript(browser, server):
    page = new_page(browser, server, java_script_enabled=False)
    try:
        sign_in(page, "admin@northwind.example")
        page.goto("/devices/?lic=active&sort=last_seen&dir=desc")
        saved = page.get_by_role("complementary", name="Saved views")
        saved.get_by_text("Save current as…").click()
        saved.get_by_label("Name of the view").fill("Active, latest seen first")
        saved.get_by_role("button", name="Save view").click()
        expect(page).to_have_url(re.compile(r"lic=active&sort=last_seen&dir=desc#saved-views$"))
        expect(page.get_by_text("View Active, latest seen first saved.")).to_be_visible()
        before = nicknames(page)
        page.goto("/devices/")
        page.get_by_role("link", name="Active, latest seen first").click()
        expect(page).to_have_url(re.compile(r"lic=active&sort=last_seen&dir=desc#registered-devices$"))
        assert nicknames(page) == before
    finally:
        page.context.close()


def test_filters_fold_into_a_disclosure_on_a_phone(browser, server):
    page = new_page(browser, server, width=390, height=844)
    try:
        sign_in(page, "admin@northwind.example")
        team = page.get_by_label("Filter by Team")
        expect(team).to_be_hidden()
        page.locator("details.filters > summary").click()
        expect(team).to_be_visible()
        page.get_by_label("Filter by Last seen").select_option("offline")
        page.get_by_role("button", name="Find").click()
        expect(page).to_have_url(re.compile(r"[?&]seen=offline"))
        expect(page.get_by_role("list", name="Filters in use")).to_contain_text("Last seen: Offline")
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1]
        assert_accessible(page)
        screenshot(page, "filters-phone", full_page=False)
        page.watch.check()
    finally:
        page.context.close()


def test_the_pending_search_survives_the_poll(page):
    sign_in(page, "admin@northwind.example")
    pending = page.get_by_role("region", name="Pending Registrations")
    names = pending.locator('tbody td[data-label="Name"] strong')
    # Other browser tests may have added pending devices: count them first.
    total = names.count()
    assert total >= 3
    page.goto("/devices/?pq=tablet+2")
    expect(names).to_have_text(["New tablet 2"])
    expect(page.get_by_role("heading", name=re.compile("Pending Registrations"))).to_contain_text(f"1 of {total}")
    # Typed but not sent: the next refresh of the section sends it, and the box keeps it.
    box = page.get_by_label("Search pending", exact=True)
    box.fill("tablet 3")
    with page.expect_response(re.compile(r"/devices/pending/\?pq=tablet(\+|%20)3")):
        page.evaluate("htmx.trigger(document.body, 'registrations-changed')")
    expect(names).to_have_text(["New tablet 3"])
    expect(box).to_have_value("tablet 3")
    assert_accessible(page)
