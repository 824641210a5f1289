"""
Operators' changes in the Django admin are audited like any other write: the
operator is the actor and the event lists exactly what changed. Through HTTP,
as a superuser signed in to the admin.
"""

import tests.tenancy.test_admin as tenancy_admin
from backoffice.audit.models import AuditEvent
from backoffice.tenancy.scoping import company_scope
from tests.audit.conftest import change, last_event
from tests.factories import ClientFactory, LicenseFactory


def test_operator_team_change_names_the_operator_and_the_changes(as_operator, operator, company_a, downtown):
    response = as_operator.post(
        f"/admin/organization/team/{downtown.pk}/change/", {"name": "Downtown", "time_zone": "Europe/Paris"}
    )
    assert response.status_code == 302
    event = last_event(company_a, "team.updated")
    assert (event.actor_id, event.actor_label) == (operator.pk, "op@service.example")
    assert event.changes == [change("Default time zone", "America/Chicago", "Europe/Paris")]
    assert event.team_id == downtown.pk


def test_operator_company_change(as_operator, operator, company_a):
    data = {**tenancy_admin.COMPANY_A, "name": "Company Alpha", "area_support": "on", "audit_log_for_viewers": "on"}
    response = as_operator.post(f"/admin/tenancy/company/{company_a.pk}/change/", data)
    assert response.status_code == 302
    event = last_event(company_a, "company.updated")
    assert event.actor_id == operator.pk
    assert event.changes == [
        change("Name", "Company A", "Company Alpha"),
        change("Area Support subscription", "No", "Yes"),
        change(
            "Allowed functionality",
            "Inspections, Invoices, Photos, Service Requests, Signatures, Time Sheets, VIN Scanner, Work Orders",
            "Photos",
        ),
        change("Viewers may see the audit log", "No", "Yes"),
    ]
    company_a.refresh_from_db()
    assert company_a.audit_log_for_viewers is True


def test_operator_user_change(as_operator, operator, company_a, team_a, viewer_a):
    response = as_operator.post(
        f"/admin/tenancy/user/{viewer_a.pk}/change/",
        tenancy_admin.user_data(
            viewer_a, email="vee@a.example", full_name="Vee", role="team_administrator", team=team_a.pk, is_active=""
        ),
    )
    assert response.status_code == 302
    updated = last_event(company_a, "user.updated")
    assert updated.actor_id == operator.pk
    assert updated.changes == [
        change("Name", "viewer@a.example", "Vee"),
        change("Role", "Viewer", "Team Administrator"),
        change("Team", "(none)", "Alpha Team"),
    ]
    assert last_event(company_a, "user.access_updated").changes == [
        change("Email", "viewer@a.example", "vee@a.example")
    ]
    deactivated = last_event(company_a, "user.deactivated")
    assert (deactivated.actor_id, deactivated.changes) == (operator.pk, [change("Active", "Yes", "No")])


def test_operator_client_change(as_operator, operator, company_a):
    with company_scope(company_a):
        client = ClientFactory(company=company_a, name="Metro Ford")
    response = as_operator.post(
        f"/admin/organization/client/{client.pk}/change/", {"name": "Metro Ford Lincoln", "client_type": "wholesale"}
    )
    assert response.status_code == 302
    event = last_event(company_a, "client.updated")
    assert event.actor_id == operator.pk
    assert event.changes == [change("Name", "Metro Ford", "Metro Ford Lincoln"), change("Active", "Yes", "No")]


def test_operator_license_change_and_bulk_suspension(as_operator, operator, company_a, van, downtown):
    with company_scope(company_a):
        spare = LicenseFactory(company=company_a, number="NW-2", expires_on=None)
    response = as_operator.post(
        f"/admin/licensing/license/{van.license_id}/change/", {"license_type": "trial", "expires_on": "2031-03-31"}
    )
    assert response.status_code == 302
    event = last_event(company_a, "license.updated")
    expires = van.license.expires_on.isoformat()
    assert event.changes == [change("License type", "Standard", "Trial"), change("Expires on", expires, "2031-03-31")]
    assert (event.actor_id, event.device_id, event.team_id) == (operator.pk, van.pk, downtown.pk)

    response = as_operator.post(
        "/admin/licensing/license/", {"action": "suspend", "_selected_action": [van.license_id, spare.pk]}
    )
    assert response.status_code == 302
    with company_scope(company_a):
        suspended = list(AuditEvent.objects.filter(action="license.suspended").order_by("object_id"))
    assert [(e.object_id, e.device_id, e.team_id, e.changes) for e in suspended] == sorted(
        [
            (str(van.license_id), van.pk, downtown.pk, [change("Suspended", "No", "Yes")]),
            (str(spare.pk), None, None, [change("Suspended", "No", "Yes")]),
        ]
    )
    # One bulk action: its events share one batch.
    assert suspended[0].batch_id is not None
    assert suspended[0].batch_id == suspended[1].batch_id
    assert {e.actor_id for e in suspended} == {operator.pk}


def test_operator_deletes_selected_teams_in_one_batch(as_operator, operator, company_a, downtown, fleet):
    response = as_operator.post(
        "/admin/organization/team/",
        {"action": "delete_selected", "_selected_action": [downtown.pk, fleet.pk], "post": "yes"},
    )
    assert response.status_code == 302
    with company_scope(company_a):
        deleted = list(AuditEvent.objects.filter(action="team.deleted").order_by("summary"))
    assert [(e.summary, e.team_id, e.actor_id) for e in deleted] == [
        ("Team Downtown deleted", downtown.pk, operator.pk),
        ("Team Fleet Services deleted", fleet.pk, operator.pk),
    ]
    assert deleted[0].batch_id is not None
    assert deleted[0].batch_id == deleted[1].batch_id


def test_one_deletion_has_no_batch(as_operator, company_a, downtown):
    response = as_operator.post(f"/admin/organization/team/{downtown.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert last_event(company_a, "team.deleted").batch_id is None
