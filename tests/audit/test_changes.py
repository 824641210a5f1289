"""
Every write service records what it changed: ``changes`` equals the whole
expected list (field labels as the forms show them, values as administrators
read them), and the event is filed under the right device and team.
"""

import datetime

from backoffice.audit.models import AuditEvent
from backoffice.device_api.services import device_document_record
from backoffice.devices.choices import ClientScope, ClientSelectionType, FunctionalityMode
from backoffice.devices.clients import ClientSettings
from backoffice.devices.selectors.active_devices import DeviceListState
from backoffice.devices.services import (
    device_add,
    device_delete,
    device_update,
    registration_code_replace,
    saved_view_create,
    saved_view_rename,
)
from backoffice.licensing.services import license_suspend, license_update
from backoffice.notifications.services import outbox_send_due
from backoffice.organization.services import (
    area_create,
    area_update,
    client_create,
    client_update,
    company_create,
    employee_archive,
    employee_create,
    employee_restore,
    employee_update,
    team_create,
    team_update,
)
from backoffice.tenancy.choices import Functionality, Role
from backoffice.tenancy.models import Company
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope
from backoffice.tenancy.services import (
    company_settings_update,
    user_access_update,
    user_create,
    user_deactivate,
    user_update,
)
from tests.audit.conftest import change, last_event
from tests.factories import AreaFactory, ClientFactory, EmployeeFactory, LicenseFactory, make_user

# Every function, as the trail reads a company's default set.
DEFAULT_FUNCTIONALITY_LABELS = ", ".join(sorted(str(label) for label in Functionality.labels))


def _edit(device, acting_user, **overrides):
    fields = {
        "team": device.team,
        "license": device.license,
        "nickname": device.nickname,
        "description": device.description,
        "time_zone": device.time_zone,
    }
    fields.update(overrides)
    return device_update(device=device, acting_user=acting_user, **fields)


# Devices


def test_device_edit_of_all_three_tabs_names_every_change(company_a, admin_a, van, fleet):
    with company_scope(company_a):
        metro = ClientFactory(company=company_a, name="Metro Ford")
        north = ClientFactory(company=company_a, name="Northside Auto")
        new_license = LicenseFactory(company=company_a, number="NW-2")
        _edit(
            van,
            admin_a,
            team=fleet,
            license=new_license,
            nickname="Van 3",
            description="Shared by the night shift",
            time_zone="Europe/Paris",
            clients=ClientSettings(
                client_selection_type=ClientSelectionType.WHOLESALE,
                client_scope=ClientScope.SELECTED,
                assigned_client_ids=(north.pk, metro.pk),
            ),
            functionality_mode=FunctionalityMode.CUSTOM,
            functionality=["photos", "inspections"],
        )
    event = last_event(company_a, "device.changed")
    assert event.changes == [
        change("Team", "Downtown", "Fleet Services"),
        change("Time Zone", "Team default (America/Chicago)", "Europe/Paris"),
        change("Lic.#", "NW-1", "NW-2"),
        change("Nickname", "Van 3 tablet", "Van 3"),
        change("Description", "(none)", "Shared by the night shift"),
        change("Client Selection Type", "Both", "Wholesale"),
        change("All or Selected", "All", "Selected"),
        change("Assigned Clients", "(none)", "Metro Ford, Northside Auto"),
        change("Allowed Functionality", "Use Company Settings", "Custom"),
        change("Custom functionality", "(none)", "Inspections, Photos"),
    ]
    # A device moved to another team is filed under the new one; the change names the old one.
    assert (event.device_id, event.team_id, event.actor_id) == (van.pk, fleet.pk, admin_a.pk)
    assert event.summary == "Device Van 3 changed; license NW-1 → NW-2"


def test_device_edit_lists_only_what_changed(company_a, admin_a, van, downtown):
    with company_scope(company_a):
        _edit(van, admin_a, time_zone="Asia/Tokyo")
        AuditEvent.objects.all().delete()
        _edit(van, admin_a, time_zone="")
    event = last_event(company_a, "device.changed")
    assert event.changes == [change("Time Zone", "Asia/Tokyo", "Team default (America/Chicago)")]
    assert (event.device_id, event.team_id) == (van.pk, downtown.pk)


def test_device_edit_of_clients_and_functionality_back_to_defaults(company_a, admin_a, van):
    with company_scope(company_a):
        metro = ClientFactory(company=company_a, name="Metro Ford")
        selected = ClientSettings(
            client_selection_type=ClientSelectionType.BOTH,
            client_scope=ClientScope.SELECTED,
            assigned_client_ids=(metro.pk,),
        )
        _edit(van, admin_a, clients=selected, functionality_mode="custom", functionality=["vin_scanner"])
        AuditEvent.objects.all().delete()
        metro.is_active = False  # an archived client keeps its name on the trail
        metro.save(update_fields=["is_active"])
        _edit(van, admin_a, clients=ClientSettings(), functionality_mode="company", functionality=[])
    assert last_event(company_a, "device.changed").changes == [
        change("All or Selected", "Selected", "All"),
        change("Assigned Clients", "Metro Ford", "(none)"),
        change("Allowed Functionality", "Custom", "Use Company Settings"),
        change("Custom functionality", "VIN Scanner", "(none)"),
    ]


def test_device_edit_of_include_all_from_area(company_a, admin_a, van):
    Company.objects.filter(pk=company_a.pk).update(area_support=True)
    admin_a.refresh_from_db()
    with company_scope(company_a):
        van.refresh_from_db()
        _edit(van, admin_a, clients=ClientSettings(include_area_clients=True))
    assert last_event(company_a, "device.changed").changes == [change("Include ALL from Area", "No", "Yes")]


def test_device_saved_without_changes_records_no_change(company_a, admin_a, van):
    with company_scope(company_a):
        _edit(van, admin_a)
    event = last_event(company_a, "device.changed")
    assert (event.changes, event.summary) == ([], "Device Van 3 tablet saved without changes")


def test_device_add_records_what_it_was_added_with_and_delete_keeps_the_name(company_a, admin_a, downtown):
    with company_scope(company_a):
        metro = ClientFactory(company=company_a, name="Metro Ford")
        lic = LicenseFactory(company=company_a, number="NW-7")
        device = device_add(
            acting_user=admin_a,
            team=downtown,
            license=lic,
            nickname="Bay 3 iPad",
            recipients=["tech@a.example", "boss@a.example"],
            clients=ClientSettings(
                client_selection_type=ClientSelectionType.WHOLESALE,
                client_scope=ClientScope.SELECTED,
                assigned_client_ids=(metro.pk,),
            ),
        )
        device_pk = device.pk
        device.registered_at = device.changed_at
        device.save(update_fields=["registered_at"])
        device_delete(device=device, acting_user=admin_a)
    added = last_event(company_a, "device.added")
    deleted = last_event(company_a, "device.deleted")
    # Fields left empty or off are not listed; the recipients are addresses, not secrets.
    assert added.changes == [
        change("Team", "(none)", "Downtown"),
        change("Time Zone", "(none)", "Team default (America/Chicago)"),
        change("Lic.#", "(none)", "NW-7"),
        change("Nickname", "(none)", "Bay 3 iPad"),
        change("Client Selection Type", "(none)", "Wholesale"),
        change("All or Selected", "(none)", "Selected"),
        change("Assigned Clients", "(none)", "Metro Ford"),
        change("Allowed Functionality", "(none)", "Use Company Settings"),
        change("Recipients", "(none)", "boss@a.example, tech@a.example"),
    ]
    assert (added.device_id, added.team_id) == (device_pk, downtown.pk)
    assert added.summary == "Device Bay 3 iPad added with license NW-7"
    assert (deleted.changes, deleted.device_id, deleted.team_id) == ([], device_pk, downtown.pk)
    assert deleted.summary == "Device Bay 3 iPad deleted; license NW-7 is free again"


def test_code_email_and_document_events_are_filed_under_the_device(company_a, admin_a, downtown):
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a, number="NW-8")
        device = device_add(
            acting_user=admin_a, team=downtown, license=lic, nickname="Bay 4", recipients=["tech@a.example"]
        )
        registration_code_replace(device=device, acting_user=admin_a)
    outbox_send_due()
    with company_scope(company_a):
        client = ClientFactory(company=company_a, name="Metro Ford")
        device_document_record(device=device, kind="work_order", number="WO-1", client_id=client.pk)
        filed = set(AuditEvent.objects.exclude(action="company.created").values_list("action", "device_id", "team_id"))
    assert filed == {
        ("device.added", device.pk, downtown.pk),
        ("registration_code.issued", device.pk, downtown.pk),
        ("registration_code.replaced", device.pk, downtown.pk),
        ("email.sent", device.pk, downtown.pk),
        ("document.recorded", device.pk, downtown.pk),
    }


# Organization


def test_team_update_names_the_area_and_zone(company_a, admin_a, downtown):
    Company.objects.filter(pk=company_a.pk).update(area_support=True)
    company_a.refresh_from_db()
    admin_a.refresh_from_db()
    with company_scope(company_a):
        north = AreaFactory(company=company_a, name="North")
        team_update(acting_user=admin_a, team=downtown, name="Downtown East", time_zone="UTC", area=north)
    event = last_event(company_a, "team.updated")
    assert event.changes == [
        change("Name", "Downtown", "Downtown East"),
        change("Default time zone", "America/Chicago", "UTC"),
        change("Area", "(none)", "North"),
    ]
    assert (event.team_id, event.device_id) == (downtown.pk, None)


def test_employee_moved_to_another_team(company_a, admin_a, downtown, fleet):
    with company_scope(company_a):
        employee = EmployeeFactory(company=company_a, team=downtown, name="Ana Alvarez", email="ana@a.example")
        employee_update(acting_user=admin_a, employee=employee, name="Ana Alvarez", email="ana@a.example", team=fleet)
    event = last_event(company_a, "employee.updated")
    assert event.changes == [change("Team", "Downtown", "Fleet Services")]
    assert event.team_id == fleet.pk


def test_client_update(company_a, admin_a):
    Company.objects.filter(pk=company_a.pk).update(area_support=True)
    admin_a.refresh_from_db()
    with company_scope(company_a):
        north = AreaFactory(company=company_a, name="North")
        client = ClientFactory(company=company_a, name="Metro Ford")
        client_update(
            acting_user=admin_a, client=client, name="Metro Ford", client_type="retail", area=north, is_active=False
        )
    assert last_event(company_a, "client.updated").changes == [
        change("Type", "Wholesale", "Retail"),
        change("Area", "(none)", "North"),
        change("Active", "Yes", "No"),
    ]


def test_area_rename(company_a, admin_a):
    with company_scope(company_a):
        area = AreaFactory(company=company_a, name="South")
        area_update(acting_user=admin_a, area=area, name="South Side")
    assert last_event(company_a, "area.updated").changes == [change("Name", "South", "South Side")]


def test_employee_archive_and_restore(company_a, admin_a, downtown):
    with company_scope(company_a):
        employee = EmployeeFactory(company=company_a, team=downtown, name="Ana Alvarez", email="ana@a.example")
        employee_archive(acting_user=admin_a, employee=employee)
        employee_restore(acting_user=admin_a, employee=employee)
    archived = last_event(company_a, "employee.archived")
    assert (archived.changes, archived.team_id) == ([change("Active", "Yes", "No")], downtown.pk)
    assert last_event(company_a, "employee.restored").changes == [change("Active", "No", "Yes")]


def test_creations_record_what_was_set(company_a, admin_a, downtown):
    with company_scope(company_a):
        team_create(acting_user=admin_a, name="Night Shift", time_zone="UTC")
        employee_create(acting_user=admin_a, name="Bo Berg", email="bo@a.example", team=downtown)
        area_create(acting_user=admin_a, name="North")
        client_create(acting_user=admin_a, name="Metro Ford", client_type="wholesale")
        user_create(
            acting_user=admin_a,
            email="Tia@A.example",
            full_name="Tia",
            role=Role.TEAM_ADMINISTRATOR,
            team=downtown,
            password="a-long-enough-secret",
        )
        saved_view_create(acting_user=admin_a, name="Old tablets", state=DeviceListState())
    expected = {
        "team.created": [change("Name", "(none)", "Night Shift"), change("Default time zone", "(none)", "UTC")],
        "employee.created": [
            change("Name", "(none)", "Bo Berg"),
            change("Email", "(none)", "bo@a.example"),
            change("Team", "(none)", "Downtown"),
        ],
        "area.created": [change("Name", "(none)", "North")],
        "client.created": [
            change("Name", "(none)", "Metro Ford"),
            change("Type", "(none)", "Wholesale"),
            change("Active", "(none)", "Yes"),
        ],
        "user.created": [
            change("Email", "(none)", "tia@a.example"),
            change("Name", "(none)", "Tia"),
            change("Role", "(none)", "Team Administrator"),
            change("Team", "(none)", "Downtown"),
        ],
        "saved_view.created": [change("Name", "(none)", "Old tablets")],
    }
    assert {action: last_event(company_a, action).changes for action in expected} == expected
    assert last_event(company_a, "user.created").team_id == downtown.pk


def test_company_creation_records_its_settings_and_first_administrator():
    company = company_create(
        acting_user=OPERATOR_COMMAND,
        name="Company C",
        default_time_zone="Europe/Rome",
        area_support=True,
        admin_email="Boss@C.example",
        admin_password="a-long-enough-secret",
    )
    assert last_event(company, "company.created").changes == [
        change("Name", "(none)", "Company C"),
        change("Default time zone", "(none)", "Europe/Rome"),
        change("Area Support subscription", "(none)", "Yes"),
    ]
    assert last_event(company, "user.created").changes == [
        change("Email", "(none)", "boss@c.example"),
        change("Role", "(none)", "Administrator"),
    ]


# Company and users


def test_company_settings_update(company_a, admin_a):
    with company_scope(company_a):
        company_settings_update(
            acting_user=admin_a,
            default_time_zone="Europe/Berlin",
            default_functionality=["photos", "inspections"],
            expired_code_grace_days=3,
            audit_log_for_viewers=True,
        )
    event = last_event(company_a, "company.settings_updated")
    assert event.changes == [
        change("Default time zone", "America/Chicago", "Europe/Berlin"),
        change("Allowed functionality", DEFAULT_FUNCTIONALITY_LABELS, "Inspections, Photos"),
        change("Release the license of an expired code after (days)", "7", "3"),
        change("Viewers may see the audit log", "No", "Yes"),
    ]


def test_user_update_and_deactivation(company_a, admin_a, downtown):
    viewer = make_user(company_a, Role.VIEWER, email="vic@a.example")
    with company_scope(company_a):
        user_update(acting_user=admin_a, user=viewer, full_name="Vic Vega", role=Role.TEAM_ADMINISTRATOR, team=downtown)
        user_deactivate(acting_user=admin_a, user=viewer)
    updated = last_event(company_a, "user.updated")
    assert updated.changes == [
        change("Name", "vic@a.example", "Vic Vega"),
        change("Role", "Viewer", "Team Administrator"),
        change("Team", "(none)", "Downtown"),
    ]
    assert updated.team_id == downtown.pk
    assert last_event(company_a, "user.deactivated").changes == [change("Active", "Yes", "No")]


def test_user_access_update_by_an_operator(company_a, operator):
    viewer = make_user(company_a, Role.VIEWER, email="vic@a.example")
    user_access_update(acting_user=operator, user=viewer, email="victor@a.example", is_staff=True, is_superuser=False)
    event = last_event(company_a, "user.access_updated")
    assert event.changes == [change("Email", "vic@a.example", "victor@a.example"), change("Staff status", "No", "Yes")]
    assert event.actor_id == operator.pk


# Licenses and saved views


def test_license_update_and_suspension_are_filed_under_its_device(company_a, operator, van, downtown):
    lic = van.license
    old_expiry = lic.expires_on.isoformat()
    license_update(
        acting_user=operator, license=lic, license_type="professional", expires_on=datetime.date(2030, 1, 31)
    )
    license_suspend(acting_user=operator, license=lic)
    updated = last_event(company_a, "license.updated")
    assert updated.changes == [
        change("License type", "Standard", "Professional"),
        change("Expires on", old_expiry, "2030-01-31"),
    ]
    assert (updated.device_id, updated.team_id, updated.actor_id) == (van.pk, downtown.pk, operator.pk)
    suspended = last_event(company_a, "license.suspended")
    assert suspended.changes == [change("Suspended", "No", "Yes")]
    assert (suspended.device_id, suspended.team_id) == (van.pk, downtown.pk)


def test_free_license_events_have_no_device(company_a, operator):
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a, number="NW-9", expires_on=None)
    license_update(acting_user=operator, license=lic, license_type="trial", expires_on=None)
    event = last_event(company_a, "license.updated")
    assert event.changes == [change("License type", "Standard", "Trial")]
    assert (event.device_id, event.team_id) == (None, None)


def test_saved_view_rename(company_a, admin_a):
    with company_scope(company_a):
        view = saved_view_create(acting_user=admin_a, name="Old tablets", state=DeviceListState())
        saved_view_rename(acting_user=admin_a, view=view, name="Tablets to upgrade", is_shared=True)
    assert last_event(company_a, "saved_view.renamed").changes == [
        change("Name", "Old tablets", "Tablets to upgrade"),
        change("Shared", "No", "Yes"),
    ]
