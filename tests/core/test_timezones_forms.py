"""
The one time-zone picker on the three forms that have one, through the
HTTP views: a team's default time zone, the company's default time zone and
a device's time zone in the Device dialog.
"""

import html
import json
import re

from backoffice.devices.models import Device
from backoffice.organization.models import Team
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.factories import DeviceFactory, LicenseFactory, TeamFactory

AMBIGUOUS = (
    "“america/chi” matches 2 time zones: America/Chicago, America/Chihuahua. "
    "Type more of the name or pick one from the list."
)


def page(response) -> str:
    return html.unescape(response.content.decode())


def team_zone(company, name: str) -> str:
    with company_scope(company):
        return Team.objects.get(name=name).time_zone


# The team form


def test_a_team_zone_typed_as_a_city_in_any_case_is_saved_by_its_name(as_admin_a, company_a):
    response = as_admin_a.post("/teams/add/", {"name": "Night Shift", "time_zone": "CHICAGO"})
    assert response.status_code == 302
    assert team_zone(company_a, "Night Shift") == "America/Chicago"
    as_admin_a.post("/teams/add/", {"name": "Coast", "time_zone": "new york"})
    assert team_zone(company_a, "Coast") == "America/New_York"


def test_an_ambiguous_team_zone_lists_the_matches_and_changes_nothing(as_admin_a):
    before = snapshot()
    response = as_admin_a.post("/teams/add/", {"name": "Night Shift", "time_zone": "america/chi"})
    assert response.status_code == 200
    assert AMBIGUOUS in page(response)
    assert snapshot() == before


def test_a_team_storing_a_deprecated_alias_shows_it_and_saves_again(as_admin_a, company_a):
    with company_scope(company_a):
        team = TeamFactory(company=company_a, name="Old Timers", time_zone="US/Eastern")
    form = page(as_admin_a.get(f"/teams/{team.pk}/edit/"))
    assert 'value="US/Eastern"' in form
    assert '<option value="US/Eastern" label="US/Eastern · old name of America/New_York">' in form
    response = as_admin_a.post(f"/teams/{team.pk}/edit/", {"name": "Old Hands", "time_zone": "US/Eastern"})
    assert response.status_code == 302
    assert team_zone(company_a, "Old Hands") == "US/Eastern"


def test_a_deprecated_alias_typed_anew_is_saved_by_its_current_name(as_admin_a, company_a, team_a):
    as_admin_a.post(f"/teams/{team_a.pk}/edit/", {"name": team_a.name, "time_zone": "Asia/Calcutta"})
    assert team_zone(company_a, team_a.name) == "Asia/Kolkata"


# Company settings

SETTINGS = {"default_functionality": ["photos"], "expired_code_grace_days": "7"}


def company_zone(company) -> str:
    return Company.objects.get(pk=company.pk).default_time_zone


def test_the_company_zone_typed_as_a_city_is_saved_by_its_name(as_admin_a, company_a):
    form = page(as_admin_a.get("/settings/"))
    assert '<label for="id_default_time_zone">Default time zone</label>' in form
    assert 'aria-describedby="id_default_time_zone_helptext"' in form
    assert '<datalist id="id_default_time_zone_zones">' in form
    response = as_admin_a.post("/settings/", {**SETTINGS, "default_time_zone": "new york"})
    assert response.status_code == 302
    assert company_zone(company_a) == "America/New_York"


def test_an_unknown_company_zone_suggests_a_spelling_and_changes_nothing(as_admin_a, company_a):
    before = snapshot()
    response = as_admin_a.post("/settings/", {**SETTINGS, "default_time_zone": "Chicgo"})
    assert response.status_code == 200
    assert "No time zone is called “Chicgo”. Did you mean America/Chicago?" in page(response)
    assert 'aria-describedby="id_default_time_zone_helptext id_default_time_zone_error"' in page(response)
    assert snapshot() == before


def test_a_company_storing_a_deprecated_alias_saves_again(as_admin_a, company_a):
    Company.objects.filter(pk=company_a.pk).update(default_time_zone="Asia/Calcutta")
    assert 'value="Asia/Calcutta"' in page(as_admin_a.get("/settings/"))
    response = as_admin_a.post("/settings/", {**SETTINGS, "default_time_zone": "Asia/Calcutta"})
    assert response.status_code == 302
    assert company_zone(company_a) == "Asia/Calcutta"


# The Device dialog


def dialog_payload(*, team, license, **overrides) -> dict:
    data = {
        "team": str(team.pk),
        "time_zone": "",
        "license": str(license.pk),
        "nickname": "Bay 7 iPad",
        "description": "",
        "email": "",
        "expires_in": "15",
        "employee": "",
        "action": "save",
    }
    return {**data, **overrides}


def default_option(team_zone: str) -> str:
    return f'placeholder="(Use Team\'s default time zone: {team_zone})"'


def test_the_dialog_names_the_zone_of_the_team_shown(as_admin_a, company_a, team_a, default_team_a):
    form = page(as_admin_a.get("/devices/add/"))
    # The Default Team comes first in the team select; its zone is the company's.
    assert default_option("America/Chicago") in form
    assert "Leave it empty to use the team's default time zone, America/Chicago." in form
    raw = re.search(r'data-team-zones="([^"]*)"', as_admin_a.get("/devices/add/").content.decode())
    assert raw is not None
    zones = json.loads(html.unescape(raw.group(1)))
    assert zones == {str(default_team_a.pk): "America/Chicago", str(team_a.pk): "America/Denver"}
    # Without JavaScript the server names the zone of the team posted.
    with company_scope(company_a):
        license = LicenseFactory(company=company_a)
    before = snapshot()
    response = as_admin_a.post("/devices/add/", dialog_payload(team=team_a, license=license, nickname=""))
    assert response.status_code == 200
    assert default_option("America/Denver") in page(response)
    assert "Leave it empty to use the team's default time zone, America/Denver." in page(response)
    assert snapshot() == before


def test_a_team_administrator_sees_the_zone_of_their_team(as_teamadmin_a):
    assert default_option("America/Denver") in page(as_teamadmin_a.get("/devices/add/"))


def test_a_device_zone_typed_as_a_city_is_saved_and_empty_means_the_team(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        licenses = [LicenseFactory(company=company_a) for _ in range(2)]
    as_admin_a.post("/devices/add/", dialog_payload(team=team_a, license=licenses[0], time_zone="chicago"))
    as_admin_a.post("/devices/add/", dialog_payload(team=team_a, license=licenses[1], nickname="Bay 8 iPad"))
    with company_scope(company_a):
        saved = dict(Device.objects.values_list("nickname", "time_zone"))
    assert saved == {"Bay 7 iPad": "America/Chicago", "Bay 8 iPad": ""}


def test_an_ambiguous_device_zone_lists_the_matches_and_changes_nothing(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        license = LicenseFactory(company=company_a)
    before = snapshot()
    response = as_admin_a.post("/devices/add/", dialog_payload(team=team_a, license=license, time_zone="america/chi"))
    assert response.status_code == 200
    assert AMBIGUOUS in page(response)
    assert 'aria-describedby="id_time_zone_helptext id_time_zone_error"' in page(response)
    assert snapshot() == before


def test_a_device_storing_a_deprecated_alias_saves_again(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        device = DeviceFactory(
            company=company_a,
            team=team_a,
            nickname="Old iPad",
            time_zone="US/Pacific",
            license=LicenseFactory(company=company_a),
        )
    form = page(as_admin_a.get(f"/devices/{device.pk}/edit/"))
    assert 'value="US/Pacific"' in form
    assert '<option value="US/Pacific" label="US/Pacific · old name of America/Los_Angeles">' in form
    payload = {
        "team": str(team_a.pk),
        "time_zone": "US/Pacific",
        "license": str(device.license_id),
        "nickname": "Old iPad 2",
        "description": "",
    }
    response = as_admin_a.post(f"/devices/{device.pk}/edit/", payload)
    assert response.status_code == 302
    with company_scope(company_a):
        assert Device.objects.values_list("nickname", "time_zone").get(pk=device.pk) == ("Old iPad 2", "US/Pacific")
