import pytest

from backoffice.organization.models import Employee
from backoffice.organization.selectors import employee_recipient_choices
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.factories import EmployeeFactory


def employee_rows(company):
    with company_scope(company):
        return list(Employee.objects.order_by("name").values_list("name", "email", "team__name", "is_active"))


def listed(response) -> list[str]:
    return [e.name for e in response.context["page"].object_list]


def test_list_active_employees_by_name(as_admin_a, employee_a, other_team_employee_a, company_a, team_a):
    with company_scope(company_a):
        EmployeeFactory(company=company_a, team=team_a, name="Zoe Gone", is_active=False)
    response = as_admin_a.get("/employees/")
    assert response.status_code == 200
    assert listed(response) == ["Ana Alvarez", "Ben Brooks"]
    assert listed(as_admin_a.get("/employees/?status=archived")) == ["Zoe Gone"]
    assert listed(as_admin_a.get("/employees/?status=all")) == ["Ana Alvarez", "Ben Brooks", "Zoe Gone"]
    assert listed(as_admin_a.get("/employees/?status=bogus")) == ["Ana Alvarez", "Ben Brooks"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name=ana", ["Ana Alvarez"]),
        ("team=alpha", ["Ana Alvarez"]),
        ("team=default", ["Ben Brooks"]),
        ("email=BEN@", ["Ben Brooks"]),
        ("name=b&team=default", ["Ben Brooks"]),
        ("name=a&team=default", []),
        ("name=nobody", []),
    ],
)
def test_search_by_name_team_and_email(as_admin_a, employee_a, other_team_employee_a, query, expected):
    response = as_admin_a.get(f"/employees/?{query}")
    assert listed(response) == expected
    if not expected:
        assert "No employees match this search" in response.content.decode()


def test_search_keeps_its_values_in_the_form(as_admin_a, employee_a):
    html = as_admin_a.get("/employees/?name=An&team=Al&email=a%40").content.decode()
    assert 'name="name" value="An"' in html
    assert 'name="team" value="Al"' in html
    assert 'name="email" value="a@"' in html


def test_htmx_search_renders_only_the_table(as_admin_a, employee_a):
    response = as_admin_a.get("/employees/?name=ana", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="employee-table"')
    assert "<html" not in html


def test_add_employee(as_admin_a, company_a, default_team_a):
    response = as_admin_a.post(
        "/employees/add/", {"name": " Cara Diaz ", "email": "cara@a.example", "team": default_team_a.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == "/employees/"
    assert employee_rows(company_a) == [("Cara Diaz", "cara@a.example", "Default Team", True)]


def test_edit_employee(as_admin_a, company_a, employee_a, default_team_a):
    response = as_admin_a.post(
        f"/employees/{employee_a.pk}/edit/", {"name": "Ana A.", "email": "ana.a@a.example", "team": default_team_a.pk}
    )
    assert response.status_code == 302
    assert employee_rows(company_a) == [("Ana A.", "ana.a@a.example", "Default Team", True)]


def test_archive_and_restore(as_admin_a, company_a, employee_a):
    assert as_admin_a.get(f"/employees/{employee_a.pk}/archive/").status_code == 405
    assert as_admin_a.post(f"/employees/{employee_a.pk}/archive/").status_code == 302
    assert employee_rows(company_a) == [("Ana Alvarez", "ana@a.example", "Alpha Team", False)]
    assert as_admin_a.post(f"/employees/{employee_a.pk}/restore/").status_code == 302
    assert employee_rows(company_a) == [("Ana Alvarez", "ana@a.example", "Alpha Team", True)]


def test_archived_email_can_be_reused_but_not_restored_twice(as_admin_a, company_a, employee_a, team_a):
    as_admin_a.post(f"/employees/{employee_a.pk}/archive/")
    as_admin_a.post("/employees/add/", {"name": "Ana New", "email": "ANA@a.example", "team": team_a.pk})
    before = snapshot()
    response = as_admin_a.post(f"/employees/{employee_a.pk}/restore/", follow=True)
    assert [str(m) for m in response.context["messages"]][-1] == (
        "Ana Alvarez cannot be restored: an active employee already uses ana@a.example."
    )
    assert snapshot() == before


def test_archived_employees_are_not_recipients(
    company_a, admin_a, teamadmin_a, employee_a, other_team_employee_a, team_a
):
    with company_scope(company_a):
        EmployeeFactory(company=company_a, team=team_a, name="Aaron Archived", is_active=False)
        EmployeeFactory(company=company_a, team=team_a, name="Abe Active")
        assert [e.name for e in employee_recipient_choices(user=admin_a)] == ["Abe Active", "Ana Alvarez", "Ben Brooks"]
        assert [e.name for e in employee_recipient_choices(user=teamadmin_a)] == ["Abe Active", "Ana Alvarez"]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": "", "email": ""}, {"name": ["This field is required."], "email": ["This field is required."]}),
        (
            {"name": "x" * 121, "email": "new@a.example"},
            {"name": ["Ensure this value has at most 120 characters (it has 121)."]},
        ),
        ({"name": "New", "email": "not-an-email"}, {"email": ["Enter a valid email address."]}),
        ({"name": "New", "email": "ANA@A.EXAMPLE"}, {"email": ["An active employee with this email already exists."]}),
    ],
)
def test_add_employee_bad_input(as_admin_a, employee_a, team_a, data, errors):
    before = snapshot()
    response = as_admin_a.post("/employees/add/", {**data, "team": team_a.pk})
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert snapshot() == before


def test_add_employee_to_another_company_team_is_refused(as_admin_a, company_b):
    from backoffice.organization.models import Team

    with company_scope(company_b):
        team_b = Team.objects.get(is_default=True)
    before = snapshot()
    response = as_admin_a.post("/employees/add/", {"name": "X", "email": "x@a.example", "team": team_b.pk})
    assert response.context["form"].errors == {
        "team": ["Select a valid choice. That choice is not one of the available choices."]
    }
    assert snapshot() == before


def test_edit_to_a_duplicate_email_is_refused(as_admin_a, employee_a, other_team_employee_a, team_a):
    before = snapshot()
    response = as_admin_a.post(
        f"/employees/{employee_a.pk}/edit/", {"name": "Ana", "email": "Ben@A.example", "team": team_a.pk}
    )
    assert response.context["form"].errors == {"email": ["An active employee with this email already exists."]}
    assert snapshot() == before


def test_team_administrator_manages_only_their_team(
    as_teamadmin_a, company_a, team_a, default_team_a, employee_a, other_team_employee_a
):
    response = as_teamadmin_a.get("/employees/")
    assert listed(response) == ["Ana Alvarez"]
    form = as_teamadmin_a.get("/employees/add/").context["form"]
    assert [t.name for t in form.fields["team"].queryset] == ["Alpha Team"]
    before = snapshot()
    refused = as_teamadmin_a.post("/employees/add/", {"name": "X", "email": "x@a.example", "team": default_team_a.pk})
    assert refused.context["form"].errors == {
        "team": ["Select a valid choice. That choice is not one of the available choices."]
    }
    moved = as_teamadmin_a.post(
        f"/employees/{employee_a.pk}/edit/", {"name": "Ana", "email": "ana@a.example", "team": default_team_a.pk}
    )
    assert moved.context["form"].errors == {
        "team": ["Select a valid choice. That choice is not one of the available choices."]
    }
    for url in (
        f"/employees/{other_team_employee_a.pk}/edit/",
        f"/employees/{other_team_employee_a.pk}/archive/",
        f"/employees/{other_team_employee_a.pk}/restore/",
    ):
        assert as_teamadmin_a.post(url, {"name": "X", "email": "x@a.example", "team": team_a.pk}).status_code == 404
    assert snapshot() == before
    assert (
        as_teamadmin_a.post("/employees/add/", {"name": "Cy", "email": "cy@a.example", "team": team_a.pk}).status_code
        == 302
    )
    assert ("Cy", "cy@a.example", "Alpha Team", True) in employee_rows(company_a)


def test_viewer_sees_employees_without_write_controls(as_viewer_a, employee_a):
    html = as_viewer_a.get("/employees/").content.decode()
    assert "Ana Alvarez" in html
    for control in ("/employees/add/", "/edit/", "/archive/", "/restore/", "Add employee"):
        assert control not in html


def test_another_company_employees_answer_404(as_admin_b, employee_a):
    before = snapshot()
    assert "Ana Alvarez" not in as_admin_b.get("/employees/?status=all").content.decode()
    assert as_admin_b.get(f"/employees/{employee_a.pk}/edit/").status_code == 404
    for url in ("edit", "archive", "restore"):
        response = as_admin_b.post(f"/employees/{employee_a.pk}/{url}/", {"name": "X", "email": "x@b.example"})
        assert response.status_code == 404
    assert snapshot() == before


def test_employee_list_pages_by_fifty(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        for i in range(52):
            EmployeeFactory(company=company_a, team=team_a, name=f"Tech {i:02d}")
    assert len(listed(as_admin_a.get("/employees/"))) == 50
    assert listed(as_admin_a.get("/employees/?page=2")) == ["Tech 50", "Tech 51"]
