import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient

from backoffice.audit.models import AuditEvent
from backoffice.licensing.models import License
from backoffice.organization.models import Team
from backoffice.tenancy.models import User
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.dbstate import snapshot
from tests.factories import AreaFactory, ClientFactory, EmployeeFactory, LicenseFactory


def numbers(company):
    with company_scope(company):
        return list(License.objects.order_by("number").values_list("number", "license_type", "expires_on"))


def issue(*args: str) -> str:
    out = StringIO()
    call_command("issue_licenses", *args, stdout=out)
    return out.getvalue()


def test_issue_licenses_continues_after_the_highest_number(company_a):
    with company_scope(company_a):
        LicenseFactory(company=company_a, number="NW-10007")
        LicenseFactory(company=company_a, number="NW-10003")
        LicenseFactory(company=company_a, number="OTHER-99999")
    out = issue(
        "--company", "Company A", "--count", "2", "--type", "trial", "--expires", "2027-01-31", "--prefix", "NW-"
    )
    assert out == ("Issued 2 trial licenses to Company A, valid to 2027-01-31:\n  NW-10008\n  NW-10009\n")
    assert numbers(company_a)[-3:-1] == [
        ("NW-10008", "trial", datetime.date(2027, 1, 31)),
        ("NW-10009", "trial", datetime.date(2027, 1, 31)),
    ]
    with company_scope(company_a):
        event = AuditEvent.objects.get(action="license.issued")
    assert event.summary == "2 trial licenses issued: NW-10008–NW-10009"
    assert event.actor_id is None


def test_issue_licenses_by_company_id_without_prefix(company_a, company_b):
    out = issue("--company", str(company_b.pk), "--count", "1", "--type", "standard", "--expires", "2030-12-31")
    assert out.splitlines()[1] == "  LIC-00001"
    with company_scope(company_b):
        LicenseFactory(company=company_b, number="BD-7")
    out = issue("--company", str(company_b.pk), "--count", "1", "--type", "professional", "--expires", "2030-12-31")
    assert out.splitlines()[1] == "  BD-00008"
    assert numbers(company_a) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--company", "Nobody", "--count", "1", "--type", "trial", "--expires", "2030-01-01"), "No company named"),
        (
            ("--company", "Company A", "--count", "0", "--type", "trial", "--expires", "2030-01-01"),
            "between 1 and 1000",
        ),
        (("--company", "Company A", "--count", "1", "--type", "trial", "--expires", "soon"), "--expires must be"),
        (
            ("--company", "Company A", "--count", "1", "--type", "trial", "--expires", "2030-01-01", "--prefix", "X9"),
            "does not end with a digit",
        ),
    ],
)
def test_issue_licenses_bad_arguments(company_a, args, message):
    before = snapshot()
    with pytest.raises(CommandError, match=message):
        issue(*args)
    assert snapshot() == before


def test_create_company_with_generated_password(company_a):
    out = StringIO()
    call_command(
        "create_company",
        "--name",
        "Harbor Glass",
        "--time-zone",
        "America/Denver",
        "--admin-email",
        "Boss@Harbor.example",
        stdout=out,
    )
    lines = out.getvalue().splitlines()
    assert lines[1] == "Administrator: boss@harbor.example"
    password = lines[2].removeprefix("Generated password (shown once): ")
    assert len(password) == 16
    user = User.objects.get(email="boss@harbor.example")
    assert (user.company.name, user.company.default_time_zone, user.role) == (
        "Harbor Glass",
        "America/Denver",
        "administrator",
    )
    with company_scope(user.company):
        assert list(Team.objects.values_list("name", "time_zone", "is_default")) == [
            ("Default Team", "America/Denver", True)
        ]
    http = HttpClient()
    assert http.post("/login/", {"login": "boss@harbor.example", "password": password}).status_code == 302
    assert http.get("/teams/").status_code == 200


def test_create_company_with_given_password_and_bad_input(company_a, admin_a):
    call_command(
        "create_company",
        "--name",
        "Glass Co",
        "--time-zone",
        "UTC",
        "--admin-email",
        "g@glass.example",
        "--admin-password",
        "a-long-enough-secret",
        stdout=StringIO(),
    )
    assert HttpClient().login(username="g@glass.example", password="a-long-enough-secret")
    before = snapshot()
    for args, message in (
        (("--name", "company a", "--time-zone", "UTC", "--admin-email", "x@x.example"), "company with this name"),
        (("--name", "New", "--time-zone", "Mars/Base", "--admin-email", "x@x.example"), "IANA"),
        (("--name", "New", "--time-zone", "UTC", "--admin-email", "ADMIN@a.example"), "user with this email"),
        (
            ("--name", "New", "--time-zone", "UTC", "--admin-email", "x@x.example", "--admin-password", "short"),
            "too short",
        ),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("create_company", *args, stdout=StringIO())
    assert snapshot() == before


def test_admin_list_pages_work_for_operators(as_operator, company_a, team_a, admin_a):
    with company_scope(company_a):
        area = AreaFactory(company=company_a)
        ClientFactory(company=company_a, area=area)
        EmployeeFactory(company=company_a, team=team_a)
        lic = LicenseFactory(company=company_a)
    for model, add_status in (
        ("tenancy/company", 403),
        ("tenancy/user", 200),
        ("organization/team", 200),
        ("organization/employee", 200),
        ("organization/area", 200),
        ("organization/client", 200),
        ("licensing/license", 403),
    ):
        assert as_operator.get(f"/admin/{model}/").status_code == 200, model
        assert as_operator.get(f"/admin/{model}/?q=a").status_code == 200, model
        assert as_operator.get(f"/admin/{model}/add/").status_code == add_status, model
    assert as_operator.get(f"/admin/licensing/license/{lic.pk}/change/").status_code == 200
    assert as_operator.get(f"/admin/organization/team/{team_a.pk}/change/").status_code == 200
    assert as_operator.get(f"/admin/tenancy/user/{admin_a.pk}/change/").status_code == 200
    assert as_operator.get("/admin/tenancy/user/add/").status_code == 200


def test_admin_suspend_and_unsuspend_actions(as_operator, operator, company_a):
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a, number="S-1")
    url = "/admin/licensing/license/"
    response = as_operator.post(url, {"action": "suspend", "_selected_action": [lic.pk]})
    assert response.status_code == 302
    with company_scope(company_a):
        assert License.objects.get(pk=lic.pk).status == "suspended"
        assert AuditEvent.objects.get(action="license.suspended").actor_id == operator.pk
    as_operator.post(url, {"action": "unsuspend", "_selected_action": [lic.pk]})
    with company_scope(company_a):
        assert License.objects.get(pk=lic.pk).status == "active"


def test_admin_switches_area_support(as_operator, company_a):
    data = {
        "name": "Company A",
        "default_time_zone": "America/Chicago",
        "area_support": "on",
        "default_functionality": '["photos"]',
        "expired_code_grace_days": "7",
    }
    response = as_operator.post(f"/admin/tenancy/company/{company_a.pk}/change/", data)
    assert response.status_code == 302
    company_a.refresh_from_db()
    assert (company_a.area_support, company_a.default_functionality) == (True, ["photos"])


def test_admin_refuses_an_employee_in_another_company_team(as_operator, company_a, company_b):
    with scopes_disabled():
        team_b = Team.objects.get(company=company_b)
    before = snapshot()
    response = as_operator.post(
        "/admin/organization/employee/add/",
        {"company": company_a.pk, "team": team_b.pk, "name": "X", "email": "x@a.example", "is_active": "on"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"team": ["Choose one of this company's rows."]}
    assert snapshot() == before


def test_company_users_cannot_use_the_admin(as_admin_a):
    response = as_admin_a.get("/admin/licensing/license/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_license_change_goes_through_the_service(as_operator, operator, company_a):
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a, number="C-1", license_type="trial")
    response = as_operator.post(
        f"/admin/licensing/license/{lic.pk}/change/", {"license_type": "professional", "expires_on": "2032-02-29"}
    )
    assert response.status_code == 302
    with company_scope(company_a):
        changed = License.objects.get(pk=lic.pk)
        event = AuditEvent.objects.get(action="license.updated")
    assert (changed.number, changed.license_type, changed.expires_on) == (
        "C-1",
        "professional",
        datetime.date(2032, 2, 29),
    )
    assert (event.actor_id, event.summary) == (operator.pk, "License C-1 changed")


def test_admin_keeps_what_must_not_be_added_or_deleted(as_operator, company_a, default_team_a, team_a):
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a)
    before = snapshot()
    assert as_operator.get("/admin/tenancy/company/add/").status_code == 403
    assert as_operator.get("/admin/licensing/license/add/").status_code == 403
    assert as_operator.post(f"/admin/licensing/license/{lic.pk}/delete/", {"post": "yes"}).status_code == 403
    assert as_operator.post(f"/admin/organization/team/{default_team_a.pk}/delete/", {"post": "yes"}).status_code == 403
    assert snapshot() == before
    assert as_operator.get(f"/admin/organization/team/{team_a.pk}/delete/").status_code == 200
