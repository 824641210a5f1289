import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.device_api.selectors import device_for_credential
from backoffice.devices.models import Device, DeviceClient, DeviceCredential
from backoffice.devices.selectors import device_effective_config
from backoffice.licensing.models import License
from backoffice.organization.models import Team
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import API, bearer
from tests.factories import AreaFactory, ClientFactory, DocumentFactory, EmployeeFactory


def get_config(http, credential, **headers):
    return http.get(f"{API}/config", headers={**bearer(credential), **headers})


def test_config_lists_team_employees_time_zone_and_functionality(http, registered, company_a, team_a):
    with company_scope(company_a):
        EmployeeFactory(company=company_a, team=team_a, name="Zoe Tech")
        EmployeeFactory(company=company_a, team=team_a, name="Adam Tech")
        EmployeeFactory(company=company_a, team=team_a, name="Gone Tech", is_active=False)
        other = Team.objects.get(is_default=True)
        EmployeeFactory(company=company_a, team=other, name="Other Team Tech")
    Company.objects.filter(pk=company_a.pk).update(default_functionality=["photos", "inspections"])

    response = get_config(http, registered.credential)
    assert response.status_code == 200
    body = response.json()
    assert body["device"] == {"id": registered.device.pk, "nickname": "Truck 12 tablet"}
    assert body["team"] == {"id": team_a.pk, "name": "Alpha Team"}
    assert [e["name"] for e in body["employees"]] == ["Adam Tech", "Zoe Tech"]
    assert body["time_zone"] == "America/Denver"  # the team's default
    assert body["functionality"] == ["inspections", "photos"]
    assert response["ETag"].startswith('"')
    assert response["ETag"].endswith('"')

    with scopes_disabled():
        Device.objects.filter(pk=registered.device.pk).update(
            time_zone="Europe/Paris", functionality_mode="custom", functionality=["vin_scanner", "signatures", "bogus"]
        )
    body = get_config(http, registered.credential).json()
    assert body["time_zone"] == "Europe/Paris"
    assert body["functionality"] == ["vin_scanner", "signatures"]


def test_etag_gives_304_and_changes_with_a_setting(http, registered, team_a, company_a):
    first = get_config(http, registered.credential)
    etag = first["ETag"]
    not_modified = get_config(http, registered.credential, **{"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert get_config(http, registered.credential, **{"If-None-Match": '"something-else"'}).status_code == 200
    assert get_config(http, registered.credential, **{"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert get_config(http, registered.credential, **{"If-None-Match": "*"}).status_code == 304

    with company_scope(company_a):
        Team.objects.filter(pk=team_a.pk).update(time_zone="America/Phoenix")
    changed = get_config(http, registered.credential, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["time_zone"] == "America/Phoenix"
    assert changed["ETag"] != etag

    check_in = http.post(
        f"{API}/check-ins",
        data={"name": "n", "os_type": "o", "platform": "p", "app_version": "v"},
        content_type="application/json",
        headers=bearer(registered.credential),
    )
    assert check_in.json()["config_etag"] == changed["ETag"]


def set_clients(device, **fields):
    with scopes_disabled():
        Device.objects.filter(pk=device.pk).update(**fields)
        return Device.objects.select_related("team", "company").get(pk=device.pk)


@pytest.fixture
def clients(company_a, team_a, registered):
    """Retail R1, R2; wholesale W1 (assigned), W2 (used in a document), W3; inactive ones; area clients."""
    with company_scope(company_a):
        area = AreaFactory(company=company_a, name="North")
        other_area = AreaFactory(company=company_a, name="South")
        Team.objects.filter(pk=team_a.pk).update(area=area)
        made = {
            "R1": ClientFactory(company=company_a, name="R1", client_type="retail"),
            "R2": ClientFactory(company=company_a, name="R2", client_type="retail", area=other_area),
            "W1": ClientFactory(company=company_a, name="W1"),
            "W2": ClientFactory(company=company_a, name="W2"),
            "W3": ClientFactory(company=company_a, name="W3"),
            "WA": ClientFactory(company=company_a, name="WA", area=area),
            "RA": ClientFactory(company=company_a, name="RA", client_type="retail", area=area),
            "W-off": ClientFactory(company=company_a, name="W-off", is_active=False),
            "R-off": ClientFactory(company=company_a, name="R-off", client_type="retail", is_active=False),
        }
        DeviceClient.objects.create(company=company_a, device=registered.device, client=made["W1"])
        DeviceClient.objects.create(company=company_a, device=registered.device, client=made["W-off"])
        DocumentFactory(company=company_a, device=registered.device, client=made["W2"])
        other = Device.objects.exclude(pk=registered.device.pk).first()
        if other is not None:
            DocumentFactory(company=company_a, device=other, client=made["W3"])
    return made


@pytest.mark.parametrize(
    ("selection", "scope", "area", "area_support", "expected"),
    [
        ("both", "all", False, False, ["R1", "R2", "RA", "W1", "W2", "W3", "WA"]),
        ("retail", "all", False, False, ["R1", "R2", "RA"]),
        ("wholesale", "all", False, False, ["W1", "W2", "W3", "WA"]),
        ("both", "selected", False, False, ["R1", "R2", "RA", "W1", "W2"]),
        ("wholesale", "selected", False, False, ["W1", "W2"]),
        ("retail", "selected", False, False, ["R1", "R2", "RA"]),
        ("wholesale", "selected", True, True, ["W1", "W2", "WA"]),
        ("wholesale", "selected", True, False, ["W1", "W2"]),  # no Area Support subscription
        ("both", "selected", True, True, ["R1", "R2", "RA", "W1", "W2", "WA"]),
    ],
)
def test_clients_follow_the_clients_tab(company_a, registered, clients, selection, scope, area, area_support, expected):
    Company.objects.filter(pk=company_a.pk).update(area_support=area_support)
    device = set_clients(
        registered.device, client_selection_type=selection, client_scope=scope, include_area_clients=area
    )
    with company_scope(company_a):
        config = device_effective_config(device=device)
    assert [c["name"] for c in config["clients"]] == expected
    types = {c["name"]: c["type"] for c in config["clients"]}
    assert all(types[name] == ("retail" if name.startswith("R") else "wholesale") for name in expected)


def test_config_costs_the_same_queries_whatever_the_number_of_clients(
    http, registered, company_a, team_a, credential_cache
):
    def count() -> int:
        """Queries of a GET /config once the new ETag (and, with the cache on, the credential) is remembered."""
        get_config(http, registered.credential)
        get_config(http, registered.credential)
        with CaptureQueriesContext(connection) as queries:
            assert get_config(http, registered.credential).status_code == 200
        return len(queries)

    small = count()
    with company_scope(company_a):
        for n in range(30):
            ClientFactory(company=company_a, client_type="retail" if n % 2 else "wholesale")
            EmployeeFactory(company=company_a, team=team_a)
    assert count() == small
    # The credential look-up (held in memory with the cache on), employees, clients.
    assert small == (2 if credential_cache == "credential-cache" else 3)


def test_credential_lookup_is_one_query_joining_device_team_license(registered):
    with CaptureQueriesContext(connection) as queries:
        device = device_for_credential(credential=registered.credential)
        assert device is not None
        assert (device.team.name, device.license.number, device.company.name) != ("", "", "")
    assert len(queries) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-real-credential"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
)
def test_missing_or_unknown_credential_is_refused(http, registered, headers):
    response = http.get(f"{API}/config", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "credential_invalid"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_credential_only_in_the_authorization_header(http, registered):
    assert http.get(f"{API}/config?access_token={registered.credential}").status_code == 401
    assert http.get(f"{API}/config?credential={registered.credential}").status_code == 401
    http.cookies["credential"] = registered.credential
    http.cookies["Authorization"] = f"Bearer {registered.credential}"
    assert http.get(f"{API}/config").status_code == 401
    assert http.get(f"{API}/config", headers={"X-Credential": registered.credential}).status_code == 401
    assert http.get(f"{API}/config", headers=bearer(registered.credential)).status_code == 200


def test_revoked_credential_is_refused(http, registered):
    with scopes_disabled():
        DeviceCredential.objects.filter(device=registered.device).update(revoked_at=timezone.now())
    response = http.get(f"{API}/config", headers=bearer(registered.credential))
    assert response.status_code == 401
    assert response.json()["error"] == "credential_invalid"


def test_deleted_device_credential_is_refused(http, registered):
    with scopes_disabled():
        Device.objects.filter(pk=registered.device.pk).delete()
    assert http.get(f"{API}/config", headers=bearer(registered.credential)).status_code == 401


@pytest.mark.parametrize("change", ["expired", "suspended", "removed"])
def test_inactive_license_is_refused(http, registered, change):
    with scopes_disabled():
        license_id = Device.objects.get(pk=registered.device.pk).license_id
        if change == "expired":
            License.objects.filter(pk=license_id).update(expires_on=company_today() - datetime.timedelta(days=1))
        elif change == "suspended":
            License.objects.filter(pk=license_id).update(is_suspended=True)
        else:
            Device.objects.filter(pk=registered.device.pk).update(license=None)
    for response in (
        http.get(f"{API}/config", headers=bearer(registered.credential)),
        http.post(
            f"{API}/check-ins",
            data={"name": "n", "os_type": "o", "platform": "p", "app_version": "v"},
            content_type="application/json",
            headers=bearer(registered.credential),
        ),
    ):
        assert response.status_code == 403
        assert response.json() == {
            "error": "license_inactive",
            "detail": "The license assigned to this device is expired, suspended or missing; "
            "ask a Back Office administrator.",
        }


def company_today() -> datetime.date:
    """Today in company A's time zone (America/Chicago), the day license expiry is judged on."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo("America/Chicago"))


def test_license_expiring_today_is_still_active(http, registered):
    with scopes_disabled():
        license_id = Device.objects.get(pk=registered.device.pk).license_id
        License.objects.filter(pk=license_id).update(expires_on=company_today())
    assert http.get(f"{API}/config", headers=bearer(registered.credential)).status_code == 200
