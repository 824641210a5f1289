"""Every page of the Back Office passes axe-core; the company setup pages in screenshots."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, screenshot, sign_in

pytestmark = pytest.mark.e2e

PAGES = [
    ("/teams/", "Teams", "teams"),
    ("/teams/add/", None, "team-add"),
    ("/employees/", "Employees", "employees"),
    ("/employees/add/", None, "employee-add"),
    ("/areas/", "Areas", "areas"),
    ("/clients/", "Clients", "clients"),
    ("/clients/add/", None, "client-add"),
    ("/licenses/", "Licenses", "licenses"),
    ("/users/", "Users", "users"),
    ("/users/invite/", None, "user-invite"),
    ("/settings/", None, "settings"),
    ("/devices/add/", None, "device-add-page"),
]


@pytest.mark.parametrize(("path", "heading", "name"), PAGES, ids=[p[2] for p in PAGES])
def test_page_is_accessible(page, path, heading, name):
    sign_in(page, "admin@northwind.example")
    response = page.goto(path)
    assert response.status == 200
    if heading:
        expect(page.get_by_role("heading", name=heading, exact=True, level=1)).to_be_visible()
    assert_accessible(page)
    screenshot(page, name)


def test_detail_edit_and_delete_pages_are_accessible(page):
    sign_in(page, "admin@northwind.example")
    first = page.get_by_role("region", name="Registered devices").locator("tbody tr").first
    href = first.get_by_role("link", name="Delete").first.get_attribute("href")
    for path in (href, href.replace("/delete/", "/edit/"), href.replace("/delete/", "/")):
        assert page.goto(path).status == 200
        assert_accessible(page)
    team = page.goto("/teams/")
    assert team.status == 200
    page.get_by_role("link", name="Fleet Services").click()
    assert_accessible(page)


def test_viewer_and_team_administrator_pages_are_accessible(page):
    for email in ("viewer@northwind.example", "teamadmin@northwind.example"):
        sign_in(page, email)
        for path in ("/devices/", "/teams/", "/employees/", "/licenses/"):
            assert page.goto(path).status == 200
            assert_accessible(page)
        page.get_by_role("button", name="Sign out").click()
