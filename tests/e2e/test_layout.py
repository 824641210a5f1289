"""
Every page of the Back Office at phone (390 px), tablet (768 px) and desktop
(1280 px) width: nothing wider than the screen, axe clean; and the phone
menu, with and without JavaScript.
"""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, assert_fits, new_page, screenshot, sign_in

pytestmark = pytest.mark.e2e

WIDTHS = {390: 844, 768: 1024, 1280: 800}
DESTINATIONS = [
    "Active Devices",
    "Teams",
    "Employees",
    "Clients",
    "Areas",
    "Licenses",
    "Users",
    "Settings",
    "Audit log",
]


def admin_pages(page) -> list[str]:
    """Every page an administrator reaches, the detail pages of one device and one team included."""
    page.goto("/devices/")
    delete = page.get_by_role("region", name="Registered devices").locator("tbody tr").first
    delete_href = delete.get_by_role("link", name="Delete").first.get_attribute("href")
    page.goto("/teams/")
    team_href = page.get_by_role("link", name="Fleet Services").get_attribute("href")
    return [
        "/devices/",
        "/devices/add/",
        delete_href.replace("/delete/", "/"),
        delete_href.replace("/delete/", "/edit/"),
        delete_href,
        "/licenses/",
        "/teams/",
        team_href,
        "/teams/add/",
        "/employees/",
        "/employees/add/",
        "/clients/",
        "/clients/add/",
        "/areas/",
        "/users/",
        "/users/invite/",
        "/settings/",
        "/audit/",
    ]


def visit_at_every_width(page, paths: list[str]) -> None:
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for path in paths:
            response = page.goto(path)
            assert response.status == 200, path
            assert_fits(page, f"{path} at {width} px")
            assert_accessible(page)


def test_every_administrator_page_fits_and_is_accessible_at_every_width(page):
    sign_in(page, "admin@northwind.example")
    visit_at_every_width(page, admin_pages(page))
    # A small laptop or a tablet held sideways: the tables are stacked rows up to 1100 px.
    page.set_viewport_size({"width": 1024, "height": 768})
    for path in ("/devices/", "/licenses/", "/employees/"):
        page.goto(path)
        assert_fits(page, f"{path} at 1024 px")
    # The Device dialog over the list, at phone width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/devices/")
    page.get_by_role("link", name="Add New Devices").click()
    expect(page.get_by_role("dialog", name="Device")).to_be_visible()
    assert_fits(page, "Device dialog at 390 px")
    assert_accessible(page)


def test_every_viewer_page_fits_and_is_accessible_at_every_width(page):
    sign_in(page, "viewer@northwind.example")
    visit_at_every_width(page, ["/devices/", "/licenses/", "/teams/", "/employees/", "/clients/", "/areas/"])


def test_sign_in_page_fits_at_every_width(page):
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto("/login/")
        assert_fits(page, f"/login/ at {width} px")
        assert_accessible(page)


@pytest.mark.parametrize("width", [390, 768])
def test_phone_and_tablet_menu_reaches_every_destination(browser, server, width):
    page = new_page(browser, server, width=width, height=WIDTHS[width])
    sign_in(page, "admin@northwind.example")
    menu = page.get_by_role("button", name="Menu")
    main = page.get_by_role("navigation", name="Main")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(main).to_be_hidden()

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for name in DESTINATIONS:
        expect(main.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(main.get_by_role("link", name="Active Devices")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("Northwind Auto Reconditioning", exact=True)).to_be_visible()
    expect(page.get_by_text("· Administrator")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert_fits(page, f"open menu at {width} px")
    assert_accessible(page)
    if width == 390:
        screenshot(page, "phone-menu", full_page=False)

    # Escape closes it and gives focus back to the button.
    page.keyboard.press("Escape")
    expect(main).to_be_hidden()
    expect(menu).to_be_focused()

    menu.click()
    main.get_by_role("link", name="Teams", exact=True).click()
    expect(page.get_by_role("heading", name="Teams", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")
    page.get_by_role("button", name="Menu").click()
    expect(main.get_by_role("link", name="Teams", exact=True)).to_have_attribute("aria-current", "page")
    page.context.close()
    page.watch.check()


def test_without_javascript_the_menu_wraps_into_rows(browser, server):
    page = new_page(browser, server, width=390, height=844, java_script_enabled=False)
    sign_in(page, "admin@northwind.example")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    main = page.get_by_role("navigation", name="Main")
    for name in DESTINATIONS:
        expect(main.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_text("Northwind Auto Reconditioning", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert_fits(page, "menu without JavaScript at 390 px")
    page.context.close()
    page.watch.check()


def test_desktop_shows_the_menu_without_a_button(page):
    sign_in(page, "admin@northwind.example")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    main = page.get_by_role("navigation", name="Main")
    for name in DESTINATIONS:
        expect(main.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_text("Northwind Auto Reconditioning", exact=True)).to_be_visible()
