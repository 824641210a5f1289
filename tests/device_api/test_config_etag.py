"""
The configuration's ETag changes with every input, through the API: after each
change, GET /config with the old ETag answers 200 and a new ETag, and asking
again with the new one answers 304. A change of the device's own Clients or
Allowed Functionality tab shows at once on the check-in path too.
"""

import dataclasses

import pytest

from backoffice.devices.clients import ClientSettings
from backoffice.devices.models import Device
from backoffice.devices.services import device_update
from backoffice.documents.models import Document
from backoffice.organization import services as organization
from backoffice.organization.choices import ClientType
from backoffice.organization.models import Employee
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope
from backoffice.tenancy.services import company_settings_update
from tests.device_api.conftest import API, bearer, post_json
from tests.factories import AreaFactory, ClientFactory, EmployeeFactory, LicenseFactory, TeamFactory

CHECK_IN = {"name": "Tab", "os_type": "Android 14", "platform": "Android", "app_version": "5.4.1"}


def etag_of(http, registered, held=None):
    headers = bearer(registered.credential)
    if held:
        headers["If-None-Match"] = held
    response = http.get(f"{API}/config", headers=headers)
    return response.status_code, response["ETag"]


def device_of(registered):
    return Device.objects.select_related("team", "license", "company").get(pk=registered.device.pk)


CLIENT_FIELDS = ("client_selection_type", "client_scope", "include_area_clients", "assigned_client_ids")


def update(admin, registered, **changes):
    device = device_of(registered)
    tab = {name: changes.pop(name) for name in CLIENT_FIELDS if name in changes}
    if "assigned_client_ids" in tab:
        tab["assigned_client_ids"] = tuple(tab["assigned_client_ids"])
    if tab:
        changes["clients"] = dataclasses.replace(ClientSettings.of_device(device), **tab)
    arguments = {
        "device": device,
        "acting_user": admin,
        "team": device.team,
        "license": device.license,
        "nickname": device.nickname,
        "description": device.description,
        "time_zone": device.time_zone,
    }
    device_update(**{**arguments, **changes})


@pytest.fixture
def world(company_a, team_a, registered, admin_a):
    with company_scope(company_a):
        area = AreaFactory(company=company_a, name="North")
        other_area = AreaFactory(company=company_a, name="South")
        team_a.area = area
        team_a.save()
        wholesale = ClientFactory(company=company_a, client_type=ClientType.WHOLESALE, name="Fleet", area=area)
        ClientFactory(company=company_a, client_type=ClientType.WHOLESALE, name="Second Fleet")
        employee = EmployeeFactory(company=company_a, team=team_a, name="Ana")
    Company.objects.filter(pk=company_a.pk).update(area_support=True)
    admin_a.company.refresh_from_db()
    return {"area": area, "other_area": other_area, "wholesale": wholesale, "employee": employee}


CHANGES = [
    "nickname",
    "client_type",
    "client_scope",
    "assigned_clients",
    "include_area",
    "functionality_custom",
    "team",
    "team_time_zone",
    "employee_joins",
    "employee_leaves",
    "employee_archived",
    "company_settings",
    "client_added",
    "client_archived",
    "client_moved_area",
    "document",
]


@pytest.mark.parametrize("change", CHANGES)
def test_every_input_changes_the_etag(http, registered, admin_a, company_a, team_a, world, change):
    with company_scope(company_a):
        if change in ("client_moved_area", "document"):
            update(
                admin_a,
                registered,
                client_selection_type="wholesale",
                client_scope="selected",
                include_area_clients=True,
            )
        status, old = etag_of(http, registered)
        assert status == 200
        assert etag_of(http, registered, old) == (304, old)
        if change == "nickname":
            update(admin_a, registered, nickname="Renamed")
        elif change == "client_type":
            update(admin_a, registered, client_selection_type="retail")
        elif change == "client_scope":
            update(admin_a, registered, client_scope="selected", client_selection_type="wholesale")
        elif change == "assigned_clients":
            update(admin_a, registered, client_scope="selected", client_selection_type="both")
            status, old = etag_of(http, registered)
            update(admin_a, registered, assigned_client_ids=[world["wholesale"].pk])
        elif change == "include_area":
            update(admin_a, registered, client_scope="selected", client_selection_type="wholesale")
            status, old = etag_of(http, registered)
            update(admin_a, registered, include_area_clients=True)
        elif change == "functionality_custom":
            update(admin_a, registered, functionality_mode="custom", functionality=["photos"])
        elif change == "team":
            update(admin_a, registered, team=TeamFactory(company=company_a, name="Beta"))
        elif change == "team_time_zone":
            organization.team_update(
                acting_user=admin_a, team=team_a, name=team_a.name, time_zone="Asia/Tokyo", area=world["area"]
            )
        elif change == "employee_joins":
            organization.employee_create(acting_user=admin_a, name="Ben", email="ben@a.example", team=team_a)
        elif change == "employee_leaves":
            employee = world["employee"]
            other = TeamFactory(company=company_a, name="Gamma")
            organization.employee_update(
                acting_user=admin_a, employee=employee, name=employee.name, email=employee.email, team=other
            )
        elif change == "employee_archived":
            organization.employee_archive(acting_user=admin_a, employee=Employee.objects.get(pk=world["employee"].pk))
        elif change == "company_settings":
            company_settings_update(acting_user=admin_a, default_time_zone="UTC", default_functionality=["photos"])
        elif change == "client_added":
            organization.client_create(acting_user=admin_a, name="New Fleet", client_type=ClientType.WHOLESALE)
        elif change == "client_archived":
            client = world["wholesale"]
            organization.client_update(
                acting_user=admin_a,
                client=client,
                name=client.name,
                client_type=client.client_type,
                area=client.area,
                is_active=False,
            )
        elif change == "client_moved_area":
            client = world["wholesale"]
            organization.client_update(
                acting_user=admin_a,
                client=client,
                name=client.name,
                client_type=client.client_type,
                area=world["other_area"],
                is_active=True,
            )
        elif change == "document":
            outside = ClientFactory(company=company_a, client_type=ClientType.WHOLESALE, name="Outside")
            Document.objects.create(
                company=company_a, kind="work_order", number="WO-7", client=outside, device=registered.device
            )
    status, new = etag_of(http, registered, old)
    assert status == 200
    assert new != old
    assert etag_of(http, registered, new) == (304, new)


def test_check_in_shows_a_change_of_the_devices_own_tabs_at_once(http, registered, admin_a, company_a, world):
    held = post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential)).json()["config_etag"]
    with company_scope(company_a):
        update(admin_a, registered, client_selection_type="wholesale", client_scope="selected")
    after_scope = post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential)).json()["config_etag"]
    assert after_scope != held
    assert after_scope == etag_of(http, registered)[1]
    with company_scope(company_a):
        update(admin_a, registered, assigned_client_ids=[world["wholesale"].pk])
    after_assign = post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential)).json()["config_etag"]
    assert after_assign not in (held, after_scope)
    assert after_assign == etag_of(http, registered)[1]
    with company_scope(company_a):
        update(admin_a, registered, functionality_mode="custom", functionality=["photos"])
    after_custom = post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential)).json()["config_etag"]
    assert after_custom == etag_of(http, registered)[1] != after_assign


def test_nothing_changed_is_304(http, registered, company_a):
    with company_scope(company_a):
        LicenseFactory(company=company_a)  # an unrelated row
    status, etag = etag_of(http, registered)
    assert etag_of(http, registered, etag) == (304, etag)
