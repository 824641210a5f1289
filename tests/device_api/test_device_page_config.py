"""
The device page shows the effective configuration exactly as the device
receives it from ``GET /config``: a property test over random settings.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.devices.models import Device, DeviceClient
from backoffice.organization.choices import ClientType
from backoffice.organization.models import Team
from backoffice.tenancy.choices import Functionality
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.conftest import login
from tests.device_api.conftest import API, bearer
from tests.factories import AreaFactory, ClientFactory, DocumentFactory, EmployeeFactory, TeamFactory

ZONES = ["", "Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"]
FUNCTIONS = list(Functionality.values)


@pytest.fixture
def world(registered, company_a, team_a, admin_a):
    """Two teams (one with an area), employees, retail and wholesale clients in and out of the area."""
    with company_scope(company_a):
        area = AreaFactory(company=company_a, name="North")
        other = TeamFactory(company=company_a, name="Fleet Services", time_zone="Europe/Berlin", area=area)
        for team, names in ((team_a, ["Ana", "Bo"]), (other, ["Cy"])):
            for name in names:
                EmployeeFactory(company=company_a, team=team, name=name)
        EmployeeFactory(company=company_a, team=team_a, name="Gone", is_active=False)
        clients = []
        for n in range(8):
            clients.append(
                ClientFactory(
                    company=company_a,
                    name=f"Client {n}",
                    client_type=ClientType.WHOLESALE if n % 2 else ClientType.RETAIL,
                    area=area if n % 3 == 0 else None,
                    is_active=n != 7,
                )
            )
        DocumentFactory(company=company_a, device=registered.device, client=clients[5])
    return {"teams": [team_a, other], "clients": clients, "admin": login(admin_a)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    team_index=st.integers(0, 1),
    selection=st.sampled_from(["both", "retail", "wholesale"]),
    scope=st.sampled_from(["all", "selected"]),
    include_area=st.booleans(),
    area_support=st.booleans(),
    assigned=st.sets(st.sampled_from([1, 3, 5, 7])),  # the wholesale clients (7 archived)
    functionality_mode=st.sampled_from(["company", "custom"]),
    custom=st.sets(st.sampled_from(FUNCTIONS)),
    company_functions=st.sets(st.sampled_from(FUNCTIONS)),
    zone=st.sampled_from(ZONES),
)
def test_the_page_shows_what_get_config_serves(
    world,
    registered,
    http,
    company_a,
    team_index,
    selection,
    scope,
    include_area,
    area_support,
    assigned,
    functionality_mode,
    custom,
    company_functions,
    zone,
):
    device = registered.device
    with scopes_disabled():
        Company.objects.filter(pk=company_a.pk).update(
            area_support=area_support, default_functionality=sorted(company_functions)
        )
        Device.objects.filter(pk=device.pk).update(
            team=world["teams"][team_index],
            client_selection_type=selection,
            client_scope=scope,
            include_area_clients=include_area,
            functionality_mode=functionality_mode,
            functionality=sorted(custom),
            time_zone=zone,
        )
        DeviceClient.objects.filter(device_id=device.pk).delete()
        DeviceClient.objects.bulk_create(
            DeviceClient(company_id=company_a.pk, device_id=device.pk, client=world["clients"][i]) for i in assigned
        )
    served = http.get(f"{API}/config", headers=bearer(registered.credential))
    assert served.status_code == 200
    page = world["admin"].get(f"/devices/{device.pk}/")
    assert page.status_code == 200
    effective = page.context["effective"]
    assert effective.config == served.json()
    assert effective.etag == served["ETag"]
    # The reasons come from the same rule: the same clients, each with at least one reason.
    assert [c.id for c in effective.clients] == [c["id"] for c in effective.config["clients"]]
    assert all(client.reasons for client in effective.clients)


def test_team_and_employees_on_the_page(world, registered, company_a):
    with scopes_disabled():
        Device.objects.filter(pk=registered.device.pk).update(team=Team.objects.get(name="Fleet Services"))
    config = world["admin"].get(f"/devices/{registered.device.pk}/").context["effective"].config
    assert config["team"]["name"] == "Fleet Services"
    assert [e["name"] for e in config["employees"]] == ["Cy"]
