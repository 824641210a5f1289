"""
The one time-zone picker in a real browser, on the three forms that have
it: a team's default time zone, the company's default time zone and a
device's time zone in the Device dialog. Found by labels and roles.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, new_page, sign_in

pytestmark = pytest.mark.e2e

# The demo company's teams and their default time zones.
TEAM_ZONES = {
    "Default Team": "America/Chicago",
    "Downtown Detail": "America/Chicago",
    "Fleet Services": "America/Denver",
    "Mobile Dent Repair": "America/New_York",
}


def default_option(zone: str) -> str:
    return f"(Use Team's default time zone: {zone})"


def test_team_form_resolves_a_city_and_lists_matches_of_an_ambiguous_name(page):
    sign_in(page, "admin@northwind.example")
    page.get_by_role("link", name="Teams").first.click()
    page.get_by_role("link", name="Downtown Detail").click()
    page.get_by_role("link", name="Edit").click()
    zone = page.get_by_label("Default time zone")
    expect(zone).to_have_value("America/Chicago")
    expect(zone).to_have_accessible_description(re.compile(r"Type a city, region or country, e\.g\. Chicago"))

    zone.fill("america/chi")
    page.get_by_role("button", name="Save").click()
    message = "“america/chi” matches 2 time zones: America/Chicago, America/Chihuahua."
    expect(page.get_by_text(message)).to_be_visible()
    expect(zone).to_have_accessible_description(re.compile(re.escape(message)))
    expect(zone).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    # With JavaScript a name that is one zone is completed in the box.
    zone.fill("chicago")
    zone.press("Tab")
    expect(zone).to_have_value("America/Chicago")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Team Downtown Detail saved.").first).to_be_visible()
    expect(page.get_by_text("Default time zone America/Chicago")).to_be_visible()


def test_company_settings_without_javascript_resolve_a_city(browser, server):
    """The box works as a plain text box (axe, which needs JavaScript, checks the form in the tests with it)."""
    page = new_page(browser, server, java_script_enabled=False)
    try:
        sign_in(page, "admin@northwind.example")
        page.goto("/settings/")
        zone = page.get_by_label("Default time zone")
        expect(zone).to_have_attribute("list", "id_default_time_zone_zones")
        zone.fill("CHICAGO")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_text("Company settings saved.").first).to_be_visible()
        expect(page.get_by_label("Default time zone")).to_have_value("America/Chicago")
    finally:
        page.context.close()
    page.watch.check()


def test_company_settings_with_javascript_complete_a_city(page):
    sign_in(page, "admin@northwind.example")
    page.goto("/settings/")
    assert_accessible(page)
    zone = page.get_by_label("Default time zone")
    zone.fill("chicago")
    zone.press("Tab")
    expect(zone).to_have_value("America/Chicago")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Company settings saved.").first).to_be_visible()
    expect(page.get_by_label("Default time zone")).to_have_value("America/Chicago")


def test_device_dialog_names_the_teams_zone_and_saves_a_typed_city(page):
    sign_in(page, "admin@northwind.example")
    registered = page.get_by_role("region", name="Registered devices")
    edit = registered.get_by_role("link", name=re.compile(r"^Edit ")).first
    nickname = edit.inner_text().removeprefix("Edit").strip()
    edit.click()
    dialog = page.get_by_role("dialog", name="Device")
    expect(dialog).to_be_visible()
    team = dialog.get_by_label("Team")
    zone = dialog.get_by_label("Time Zone")
    own_team = team.locator("option:checked").inner_text()
    expect(zone).to_have_attribute("placeholder", default_option(TEAM_ZONES[own_team]))

    # The default names the chosen team's zone, in the box and in its hint.
    other = "Fleet Services" if own_team != "Fleet Services" else "Mobile Dent Repair"
    team.select_option(label=other)
    expect(zone).to_have_attribute("placeholder", default_option(TEAM_ZONES[other]))
    expect(zone).to_have_accessible_description(
        re.compile(re.escape(f"Leave it empty to use the team's default time zone, {TEAM_ZONES[other]}."))
    )
    team.select_option(label=own_team)
    expect(zone).to_have_attribute("placeholder", default_option(TEAM_ZONES[own_team]))
    assert_accessible(page)

    zone.fill("chicago")
    zone.press("Tab")
    expect(zone).to_have_value("America/Chicago")
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    row = registered.locator("tbody tr", has_text=nickname).first
    expect(row).to_contain_text("America/Chicago")
    expect(row).not_to_contain_text("team's default")


def test_add_dialog_without_javascript_names_the_posted_teams_zone(browser, server):
    page = new_page(browser, server, java_script_enabled=False)
    try:
        sign_in(page, "admin@northwind.example")
        page.goto("/devices/add/")
        zone = page.get_by_label("Time Zone")
        expect(zone).to_have_attribute("placeholder", default_option("America/Chicago"))
        page.get_by_label("Team").select_option(label="Fleet Services")
        # Refresh preview posts the form and shows it again for the team chosen.
        page.get_by_role("button", name="Refresh preview").click()
        expect(page.get_by_label("Time Zone")).to_have_attribute("placeholder", default_option("America/Denver"))
    finally:
        page.context.close()
    page.watch.check()
