import pytest

from backoffice.audit.models import AuditEvent
from backoffice.organization.models import Team
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.factories import DeviceFactory, EmployeeFactory


def team_rows(company):
    with company_scope(company):
        return list(Team.objects.order_by("name").values_list("name", "time_zone", "area__name", "is_default"))


def test_list_shows_counts_and_write_buttons_to_an_administrator(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a)
        EmployeeFactory(company=company_a, team=team_a)
    response = as_admin_a.get("/teams/")
    html = response.content.decode()
    assert response.status_code == 200
    assert [(t.name, t.device_count, t.employee_count) for t in response.context["teams"]] == [
        ("Default Team", 0, 0),
        ("Alpha Team", 1, 1),
    ]
    assert 'href="/teams/add/"' in html
    assert f'href="/teams/{team_a.pk}/edit/"' in html
    assert f'href="/teams/{team_a.pk}/delete/"' in html


def test_viewer_sees_teams_without_write_buttons(as_viewer_a, team_a, default_team_a):
    html = as_viewer_a.get("/teams/").content.decode()
    assert "Alpha Team" in html
    assert "Default Team" in html
    for control in ("/teams/add/", "/edit/", "/delete/", "Add team"):
        assert control not in html
    detail = as_viewer_a.get(f"/teams/{team_a.pk}/").content.decode()
    assert "/edit/" not in detail
    assert "Add employee" not in detail


def test_add_team(as_admin_a, company_a, admin_a):
    response = as_admin_a.post("/teams/add/", {"name": "  Night Shift ", "time_zone": "Europe/Berlin"})
    with company_scope(company_a):
        team = Team.objects.get(name="Night Shift")
        event = AuditEvent.objects.get(action="team.created")
    assert response.status_code == 302
    assert response["Location"] == f"/teams/{team.pk}/"
    assert (team.time_zone, team.area_id, team.is_default) == ("Europe/Berlin", None, False)
    assert (event.actor_id, event.object_id, event.summary) == (admin_a.pk, str(team.pk), "Team Night Shift created")


def test_time_zone_typed_with_spaces_is_accepted(as_admin_a, company_a):
    as_admin_a.post("/teams/add/", {"name": "Coast", "time_zone": "America/Los Angeles"})
    assert ("Coast", "America/Los_Angeles", None, False) in team_rows(company_a)


def test_add_form_offers_searchable_time_zones_and_company_default(as_admin_a):
    html = as_admin_a.get("/teams/add/").content.decode()
    assert 'list="id_time_zone_zones"' in html
    assert '<datalist id="id_time_zone_zones">' in html
    assert '<option value="Europe/Berlin" label="Europe/Berlin · Germany"></option>' in html
    assert 'value="America/Chicago"' in html
    assert 'name="area"' not in html


def test_area_field_only_with_area_support(as_admin_a, area_support_a, area_a):
    html = as_admin_a.get("/teams/add/").content.decode()
    assert 'name="area"' in html
    as_admin_a.post("/teams/add/", {"name": "North", "time_zone": "UTC", "area": area_a.pk})
    assert ("North", "UTC", "North Metro", False) in team_rows(area_support_a)


def test_area_is_ignored_without_area_support(as_admin_a, company_a, area_a):
    as_admin_a.post("/teams/add/", {"name": "North", "time_zone": "UTC", "area": area_a.pk})
    assert ("North", "UTC", None, False) in team_rows(company_a)


def test_edit_team(as_admin_a, company_a, team_a):
    response = as_admin_a.post(f"/teams/{team_a.pk}/edit/", {"name": "Alpha Crew", "time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert ("Alpha Crew", "Asia/Tokyo", None, False) in team_rows(company_a)


def test_edit_keeps_the_area_when_the_subscription_ended(as_admin_a, company_a, team_a, area_a):
    with company_scope(company_a):
        Team.objects.filter(pk=team_a.pk).update(area=area_a)
    as_admin_a.post(f"/teams/{team_a.pk}/edit/", {"name": "Alpha Team", "time_zone": "UTC"})
    assert ("Alpha Team", "UTC", "North Metro", False) in team_rows(company_a)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": "", "time_zone": "UTC"}, {"name": ["This field is required."]}),
        ({"name": "   ", "time_zone": "UTC"}, {"name": ["This field is required."]}),
        (
            {"name": "x" * 101, "time_zone": "UTC"},
            {"name": ["Ensure this value has at most 100 characters (it has 101)."]},
        ),
        (
            {"name": "Mars", "time_zone": "Mars/Olympus_Mons"},
            {"time_zone": ["Choose a time zone from the list, e.g. America/Chicago."]},
        ),
        ({"name": "Mars", "time_zone": ""}, {"time_zone": ["This field is required."]}),
        ({"name": "alpha TEAM", "time_zone": "UTC"}, {"name": ["A team with this name already exists."]}),
        ({"name": "default team", "time_zone": "UTC"}, {"name": ["A team with this name already exists."]}),
    ],
)
def test_add_team_bad_input(as_admin_a, team_a, data, errors):
    before = snapshot()
    response = as_admin_a.post("/teams/add/", data)
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert errors[next(iter(errors))][0].replace("'", "&#x27;") in response.content.decode()
    assert snapshot() == before


def test_add_team_with_another_company_area_is_refused(as_admin_a, area_support_a, area_b):
    before = snapshot()
    response = as_admin_a.post("/teams/add/", {"name": "Sneaky", "time_zone": "UTC", "area": area_b.pk})
    assert response.context["form"].errors == {
        "area": ["Select a valid choice. That choice is not one of the available choices."]
    }
    assert snapshot() == before


def test_rename_to_an_existing_name_is_refused(as_admin_a, team_a):
    before = snapshot()
    response = as_admin_a.post(f"/teams/{team_a.pk}/edit/", {"name": "DEFAULT TEAM", "time_zone": "UTC"})
    assert response.context["form"].errors == {"name": ["A team with this name already exists."]}
    assert snapshot() == before


def test_renaming_a_team_to_its_own_name_in_another_case_is_allowed(as_admin_a, company_a, team_a):
    as_admin_a.post(f"/teams/{team_a.pk}/edit/", {"name": "ALPHA TEAM", "time_zone": "UTC"})
    assert ("ALPHA TEAM", "UTC", None, False) in team_rows(company_a)


def test_delete_empty_team(as_admin_a, company_a, team_a):
    page = as_admin_a.get(f"/teams/{team_a.pk}/delete/")
    assert "Delete team" in page.content.decode()
    response = as_admin_a.post(f"/teams/{team_a.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == "/teams/"
    assert [row[0] for row in team_rows(company_a)] == ["Default Team"]
    with company_scope(company_a):
        assert AuditEvent.objects.filter(action="team.deleted", object_id=str(team_a.pk)).count() == 1


def test_delete_team_with_devices_and_employees_says_what_to_move(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        for _ in range(3):
            DeviceFactory(company=company_a, team=team_a)
        EmployeeFactory(company=company_a, team=team_a)
        EmployeeFactory(company=company_a, team=team_a, is_active=False)
    page = as_admin_a.get(f"/teams/{team_a.pk}/delete/").content.decode()
    assert "Alpha Team cannot be deleted. Move its 3 devices and 2 employees to another team first." in page
    assert "Delete team</button>" not in page
    before = snapshot()
    response = as_admin_a.post(f"/teams/{team_a.pk}/delete/", follow=True)
    assert snapshot() == before
    assert [str(m) for m in response.context["messages"]] == [
        "Move its 3 devices and 2 employees to another team first."
    ]


def test_delete_team_with_one_employee_and_a_team_administrator(as_admin_a, company_a, team_a, teamadmin_a):
    with company_scope(company_a):
        EmployeeFactory(company=company_a, team=team_a)
    before = snapshot()
    response = as_admin_a.post(f"/teams/{team_a.pk}/delete/", follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Move its 1 employee and 1 Team Administrator to another team first."
    ]
    assert snapshot() == before


def test_default_team_cannot_be_deleted(as_admin_a, default_team_a):
    page = as_admin_a.get(f"/teams/{default_team_a.pk}/delete/").content.decode()
    assert "The Default Team cannot be deleted." in page
    before = snapshot()
    response = as_admin_a.post(f"/teams/{default_team_a.pk}/delete/", follow=True)
    assert [str(m) for m in response.context["messages"]] == ["The Default Team cannot be deleted."]
    assert snapshot() == before


def test_team_administrator_sees_only_their_team_read_only(as_teamadmin_a, team_a, default_team_a):
    response = as_teamadmin_a.get("/teams/")
    assert [t.name for t in response.context["teams"]] == ["Alpha Team"]
    assert "/teams/add/" not in response.content.decode()
    assert as_teamadmin_a.get(f"/teams/{default_team_a.pk}/").status_code == 404
    assert as_teamadmin_a.get(f"/teams/{team_a.pk}/").status_code == 200


def test_detail_lists_archived_employees_too(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        EmployeeFactory(company=company_a, team=team_a, name="Zed Archived", is_active=False)
        EmployeeFactory(company=company_a, team=team_a, name="Amy Active")
    response = as_admin_a.get(f"/teams/{team_a.pk}/")
    assert [(e.name, e.is_active) for e in response.context["employees"]] == [
        ("Amy Active", True),
        ("Zed Archived", False),
    ]


def test_team_pages_of_another_company_answer_404(as_admin_b, company_a, team_a):
    before = snapshot()
    for url in (f"/teams/{team_a.pk}/", f"/teams/{team_a.pk}/edit/", f"/teams/{team_a.pk}/delete/"):
        assert as_admin_b.get(url).status_code == 404
    assert as_admin_b.post(f"/teams/{team_a.pk}/edit/", {"name": "Hijack", "time_zone": "UTC"}).status_code == 404
    assert as_admin_b.post(f"/teams/{team_a.pk}/delete/").status_code == 404
    assert snapshot() == before


def test_every_problem_of_the_team_form_shows_at_once(as_admin_a, team_a):
    response = as_admin_a.post("/teams/add/", {"name": "Alpha team", "time_zone": "Nowhere/Land"})
    assert response.context["form"].errors == {
        "name": ["A team with this name already exists."],
        "time_zone": ["Choose a time zone from the list, e.g. America/Chicago."],
    }
