"""Operators' edits of teams, employees, areas and clients in the Django admin go through the services."""

from backoffice.audit.models import AuditEvent
from backoffice.organization.models import Area, Client, Employee, Team
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.conftest import admin_form_errors as form_errors
from tests.dbstate import snapshot
from tests.factories import EmployeeFactory


def events(company, action):
    with company_scope(company):
        return list(AuditEvent.objects.filter(action=action).values_list("actor_id", "actor_label", "object_id"))


# Teams


def test_operator_adds_a_team(as_operator, operator, company_a):
    response = as_operator.post(
        "/admin/organization/team/add/", {"company": company_a.pk, "name": " Night Shift ", "time_zone": "UTC"}
    )
    assert response.status_code == 302
    with company_scope(company_a):
        team = Team.objects.get(name="Night Shift")
    assert (team.time_zone, team.is_default, team.area_id) == ("UTC", False, None)
    assert events(company_a, "team.created") == [(operator.pk, "op@service.example", str(team.pk))]


def test_operator_changes_a_team(as_operator, operator, company_a, team_a):
    response = as_operator.post(
        f"/admin/organization/team/{team_a.pk}/change/", {"name": "Alpha Crew", "time_zone": "Europe/Paris"}
    )
    assert response.status_code == 302
    with company_scope(company_a):
        team = Team.objects.get(pk=team_a.pk)
        event = AuditEvent.objects.get(action="team.updated")
    assert (team.name, team.time_zone, team.company_id) == ("Alpha Crew", "Europe/Paris", company_a.pk)
    assert (event.actor_id, event.object_id) == (operator.pk, str(team_a.pk))
    assert event.data == {
        "before": {"name": "Alpha Team", "time_zone": "America/Denver", "area_id": None},
        "after": {"name": "Alpha Crew", "time_zone": "Europe/Paris", "area_id": None},
    }


def test_duplicate_team_name_is_a_form_error(as_operator, company_a, team_a, default_team_a):
    before = snapshot()
    response = as_operator.post(
        f"/admin/organization/team/{team_a.pk}/change/", {"name": "default team", "time_zone": "UTC"}
    )
    assert form_errors(response) == {"name": ["A team with this name already exists."]}
    response = as_operator.post(
        "/admin/organization/team/add/", {"company": company_a.pk, "name": "ALPHA TEAM", "time_zone": "UTC"}
    )
    assert form_errors(response)["name"] == ["A team with this name already exists."]
    assert snapshot() == before


def test_same_team_name_in_another_company_is_fine(as_operator, company_a, company_b, team_a):
    response = as_operator.post(
        "/admin/organization/team/add/", {"company": company_b.pk, "name": "Alpha Team", "time_zone": "UTC"}
    )
    assert response.status_code == 302
    with company_scope(company_b):
        assert Team.objects.filter(name="Alpha Team").count() == 1


def test_area_of_another_company_or_without_area_support_is_a_form_error(
    as_operator, company_a, team_a, area_a, area_b
):
    before = snapshot()
    url = f"/admin/organization/team/{team_a.pk}/change/"
    response = as_operator.post(url, {"name": "Alpha Team", "time_zone": "UTC", "area": area_b.pk})
    assert form_errors(response) == {"area": ["Choose one of this company's rows."]}
    response = as_operator.post(url, {"name": "Alpha Team", "time_zone": "UTC", "area": area_a.pk})
    assert form_errors(response) == {"area": ["Areas need the Area Support subscription."]}
    assert snapshot() == before


def test_operator_deletes_an_empty_team(as_operator, operator, company_a, team_a):
    response = as_operator.post(f"/admin/organization/team/{team_a.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    with company_scope(company_a):
        assert not Team.objects.filter(pk=team_a.pk).exists()
    assert events(company_a, "team.deleted") == [(operator.pk, "op@service.example", str(team_a.pk))]


def test_bulk_delete_goes_through_the_service(as_operator, operator, company_a, company_b, team_a):
    with company_scope(company_b):
        team_b = Team.objects.create(company=company_b, name="Beta", time_zone="UTC")
    response = as_operator.post(
        "/admin/organization/team/",
        {"action": "delete_selected", "_selected_action": [team_a.pk, team_b.pk], "post": "yes"},
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert not Team.objects.filter(pk__in=[team_a.pk, team_b.pk]).exists()
    assert events(company_a, "team.deleted") == [(operator.pk, "op@service.example", str(team_a.pk))]
    assert events(company_b, "team.deleted") == [(operator.pk, "op@service.example", str(team_b.pk))]


def test_teams_that_must_stay_are_not_deleted(as_operator, company_a, team_a, default_team_a, employee_a):
    before = snapshot()
    url = "/admin/organization/team/"
    selected = {"action": "delete_selected", "_selected_action": [default_team_a.pk], "post": "yes"}
    assert as_operator.post(url, selected).status_code == 403
    response = as_operator.post(f"/admin/organization/team/{team_a.pk}/delete/", {"post": "yes"})
    assert response.status_code == 200
    assert "<title>Cannot delete team | Operators</title>" in response.content.decode()  # its employee keeps it
    assert snapshot() == before


# Employees


def test_operator_adds_changes_and_archives_an_employee(as_operator, operator, company_a, team_a, default_team_a):
    response = as_operator.post(
        "/admin/organization/employee/add/",
        {"company": company_a.pk, "team": team_a.pk, "name": "Dee", "email": "dee@a.example", "is_active": "on"},
    )
    assert response.status_code == 302
    with company_scope(company_a):
        employee = Employee.objects.get(email="dee@a.example")
    assert events(company_a, "employee.created") == [(operator.pk, "op@service.example", str(employee.pk))]
    response = as_operator.post(
        f"/admin/organization/employee/{employee.pk}/change/",
        {"team": default_team_a.pk, "name": "Dee Dee", "email": "dee@a.example"},
    )
    assert response.status_code == 302
    with company_scope(company_a):
        employee.refresh_from_db()
    assert (employee.name, employee.team_id, employee.is_active) == ("Dee Dee", default_team_a.pk, False)
    assert events(company_a, "employee.updated") == [(operator.pk, "op@service.example", str(employee.pk))]
    assert events(company_a, "employee.archived") == [(operator.pk, "op@service.example", str(employee.pk))]


def test_duplicate_active_employee_email_is_a_form_error(as_operator, company_a, team_a):
    with company_scope(company_a):
        EmployeeFactory(company=company_a, team=team_a, email="ana@a.example")
        other = EmployeeFactory(company=company_a, team=team_a, email="other@a.example")
    before = snapshot()
    response = as_operator.post(
        f"/admin/organization/employee/{other.pk}/change/",
        {"team": team_a.pk, "name": "Other", "email": "ANA@a.example", "is_active": "on"},
    )
    assert form_errors(response)["email"] == ["An active employee with this email already exists."]
    assert snapshot() == before


def test_employees_and_clients_are_not_deleted_in_the_admin(as_operator, company_a, employee_a, client_a):
    before = snapshot()
    assert as_operator.post(f"/admin/organization/employee/{employee_a.pk}/delete/", {"post": "yes"}).status_code == 403
    assert as_operator.post(f"/admin/organization/client/{client_a.pk}/delete/", {"post": "yes"}).status_code == 403
    assert snapshot() == before


# Areas


def test_operator_adds_renames_and_deletes_an_area(as_operator, operator, area_support_a):
    company = area_support_a
    response = as_operator.post("/admin/organization/area/add/", {"company": company.pk, "name": "South"})
    assert response.status_code == 302
    with company_scope(company):
        area = Area.objects.get(name="South")
    response = as_operator.post(f"/admin/organization/area/{area.pk}/change/", {"name": "South Side"})
    assert response.status_code == 302
    with company_scope(company):
        assert Area.objects.get(pk=area.pk).name == "South Side"
        assert AuditEvent.objects.get(action="area.updated").summary == "Area South renamed to South Side"
    response = as_operator.post(f"/admin/organization/area/{area.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    with company_scope(company):
        assert not Area.objects.filter(pk=area.pk).exists()
    for action in ("area.created", "area.updated", "area.deleted"):
        assert events(company, action) == [(operator.pk, "op@service.example", str(area.pk))], action


def test_duplicate_area_name_is_a_form_error(as_operator, company_a, area_a):
    before = snapshot()
    response = as_operator.post("/admin/organization/area/add/", {"company": company_a.pk, "name": "north metro"})
    assert form_errors(response)["name"] == ["An area with this name already exists."]
    assert snapshot() == before


# Clients


def test_operator_adds_and_changes_a_client(as_operator, operator, area_support_a, area_a):
    company = area_support_a
    response = as_operator.post(
        "/admin/organization/client/add/",
        {"company": company.pk, "name": "Lot 9", "client_type": "retail", "area": area_a.pk, "is_active": "on"},
    )
    assert response.status_code == 302
    with company_scope(company):
        client = Client.objects.get(name="Lot 9")
    assert (client.client_type, client.area_id, client.is_active) == ("retail", area_a.pk, True)
    response = as_operator.post(
        f"/admin/organization/client/{client.pk}/change/", {"name": "Lot Nine", "client_type": "wholesale"}
    )
    assert response.status_code == 302
    with company_scope(company):
        client.refresh_from_db()
    assert (client.name, client.client_type, client.area_id, client.is_active) == ("Lot Nine", "wholesale", None, False)
    assert events(company, "client.created") == [(operator.pk, "op@service.example", str(client.pk))]
    assert events(company, "client.updated") == [(operator.pk, "op@service.example", str(client.pk))]


def test_client_of_another_company_area_is_a_form_error(as_operator, company_a, area_b):
    before = snapshot()
    response = as_operator.post(
        "/admin/organization/client/add/",
        {"company": company_a.pk, "name": "X", "client_type": "retail", "area": area_b.pk, "is_active": "on"},
    )
    assert form_errors(response) == {"area": ["Choose one of this company's rows."]}
    assert snapshot() == before


def test_blank_client_name_is_a_form_error(as_operator, company_a, client_a):
    before = snapshot()
    response = as_operator.post(
        f"/admin/organization/client/{client_a.pk}/change/", {"name": "   ", "client_type": "retail"}
    )
    assert form_errors(response) == {"name": ["This field is required."]}
    assert snapshot() == before
