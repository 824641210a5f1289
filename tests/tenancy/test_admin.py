"""Operators' edits of companies and users in the Django admin go through the services."""

import pytest
from django.test import Client as HttpClient

from backoffice.audit.models import AuditEvent
from backoffice.organization.models import Team
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.scoping import company_scope
from tests.conftest import admin_form_errors as form_errors
from tests.dbstate import snapshot
from tests.factories import PASSWORD


def events(company, action):
    with company_scope(company):
        return list(AuditEvent.objects.filter(action=action).values_list("actor_id", "object_id", "data"))


COMPANY_A = {
    "name": "Company A",
    "default_time_zone": "America/Chicago",
    "default_functionality": '["photos"]',
    "expired_code_grace_days": "7",
}


# Companies


def test_operator_changes_a_company(as_operator, operator, company_a):
    data = {
        **COMPANY_A,
        "name": "Company Alpha",
        "area_support": "on",
        "default_functionality": '["vin_scanner", "inspections"]',
    }
    response = as_operator.post(f"/admin/tenancy/company/{company_a.pk}/change/", data)
    assert response.status_code == 302
    company_a.refresh_from_db()
    assert (company_a.name, company_a.area_support, company_a.default_functionality) == (
        "Company Alpha",
        True,
        ["inspections", "vin_scanner"],
    )
    [(actor_id, object_id, event_data)] = events(company_a, "company.updated")
    assert (actor_id, object_id) == (operator.pk, str(company_a.pk))
    assert event_data["before"]["name"] == "Company A"
    assert event_data["after"] == {
        "name": "Company Alpha",
        "default_time_zone": "America/Chicago",
        "area_support": True,
        "default_functionality": ["inspections", "vin_scanner"],
        "expired_code_grace_days": 7,
        "audit_log_for_viewers": False,
    }


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": "company b"}, {"name": ["A company with this name already exists."]}),
        (
            {"default_time_zone": "Mars/Base"},
            {"default_time_zone": ["Choose a time zone from the IANA list, e.g. America/Chicago."]},
        ),
        ({"default_functionality": '["teleport"]'}, {"default_functionality": ["Unknown functionality: teleport."]}),
    ],
)
def test_invalid_company_change_is_a_form_error(as_operator, company_a, company_b, data, errors):
    before = snapshot()
    response = as_operator.post(f"/admin/tenancy/company/{company_a.pk}/change/", {**COMPANY_A, **data})
    assert form_errors(response) == errors
    assert snapshot() == before


def test_companies_are_not_deleted_in_the_admin(as_operator, company_a):
    before = snapshot()
    assert as_operator.post(f"/admin/tenancy/company/{company_a.pk}/delete/", {"post": "yes"}).status_code == 403
    assert snapshot() == before


# Users


def test_operator_adds_a_user(as_operator, operator, company_a, team_a):
    response = as_operator.post(
        "/admin/tenancy/user/add/",
        {
            "email": "New@A.example",
            "company": company_a.pk,
            "role": "team_administrator",
            "team": team_a.pk,
            "password1": "a-long-enough-secret",
            "password2": "a-long-enough-secret",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@a.example")
    assert (user.company_id, user.role, user.team_id, user.is_active) == (
        company_a.pk,
        "team_administrator",
        team_a.pk,
        True,
    )
    assert HttpClient().login(username="new@a.example", password="a-long-enough-secret")
    assert events(company_a, "user.created") == [
        (operator.pk, str(user.pk), {"email": "new@a.example", "role": "team_administrator", "team_id": team_a.pk})
    ]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"email": "ADMIN@a.example"}, {"email": ["A user with this email already exists."]}),
        ({"company": ""}, {"company": ["This field is required."]}),
        ({"role": "team_administrator"}, {"team": ["A Team Administrator needs a team."]}),
        ({"role": "team_administrator", "team": "team_b"}, {"team": ["Choose one of your company's teams."]}),
        (
            {"password1": "short-one", "password2": "short-one"},
            {"password2": ["This password is too short. It must contain at least 10 characters."]},
        ),
        ({"password2": "another-long-secret"}, {"password2": ["The two password fields didn’t match."]}),
    ],
)
def test_invalid_user_add_is_a_form_error(as_operator, company_a, company_b, admin_a, data, errors):
    with company_scope(company_b):
        team_b = Team.objects.get()
    data = {**data, "team": team_b.pk} if data.get("team") == "team_b" else data
    before = snapshot()
    response = as_operator.post(
        "/admin/tenancy/user/add/",
        {
            "email": "new@a.example",
            "company": company_a.pk,
            "role": "viewer",
            "password1": "a-long-enough-secret",
            "password2": "a-long-enough-secret",
            **data,
        },
    )
    assert form_errors(response) == errors
    assert snapshot() == before


def user_data(user, **changes):
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "team": user.team_id or "",
        "is_active": "on" if user.is_active else "",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2025-01-01",
        "date_joined_1": "00:00:00",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_operator_changes_a_users_role_email_and_access(as_operator, operator, company_a, team_a, viewer_a):
    response = as_operator.post(
        f"/admin/tenancy/user/{viewer_a.pk}/change/",
        user_data(
            viewer_a, email="Vee@A.example", full_name="Vee", role="team_administrator", team=team_a.pk, is_active=""
        ),
    )
    assert response.status_code == 302
    user = User.objects.get(pk=viewer_a.pk)
    assert (user.email, user.full_name, user.role, user.team_id, user.is_active, user.company_id) == (
        "vee@a.example",
        "Vee",
        "team_administrator",
        team_a.pk,
        False,
        company_a.pk,
    )
    [(actor_id, object_id, data)] = events(company_a, "user.updated")
    assert (actor_id, object_id, data["after"]) == (
        operator.pk,
        str(user.pk),
        {"full_name": "Vee", "role": "team_administrator", "team_id": team_a.pk},
    )
    assert data["before"] == {"full_name": "viewer@a.example", "role": "viewer", "team_id": None}
    assert [row[:2] for row in events(company_a, "user.access_updated")] == [(operator.pk, str(user.pk))]
    assert [row[:2] for row in events(company_a, "user.deactivated")] == [(operator.pk, str(user.pk))]


def test_invalid_user_change_is_a_form_error(as_operator, company_a, company_b, viewer_a, admin_b):
    with company_scope(company_b):
        team_b = Team.objects.get()
    before = snapshot()
    url = f"/admin/tenancy/user/{viewer_a.pk}/change/"
    response = as_operator.post(url, user_data(viewer_a, role="team_administrator", team=team_b.pk))
    assert form_errors(response) == {"team": ["Choose a team of the user's company."]}
    response = as_operator.post(url, user_data(viewer_a, role="team_administrator"))
    assert form_errors(response) == {"team": ["A Team Administrator needs a team."]}
    response = as_operator.post(url, user_data(viewer_a, email="ADMIN@b.example"))
    assert form_errors(response) == {"email": ["A user with this email already exists."]}
    assert snapshot() == before


def test_operator_sets_a_users_password(as_operator, operator, company_a, viewer_a):
    url = f"/admin/tenancy/user/{viewer_a.pk}/password/"
    before = snapshot()
    response = as_operator.post(url, {"password1": "short-one", "password2": "short-one", "usable_password": "true"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "password2": ["This password is too short. It must contain at least 10 characters."]
    }
    assert snapshot() == before
    response = as_operator.post(
        url, {"password1": "brand-new-secret", "password2": "brand-new-secret", "usable_password": "true"}
    )
    assert response.status_code == 302
    assert HttpClient().login(username="viewer@a.example", password="brand-new-secret")
    assert [row[:2] for row in events(company_a, "user.password_set")] == [(operator.pk, str(viewer_a.pk))]


def test_operators_accounts_are_read_only_and_users_are_not_deleted(as_operator, operator, viewer_a):
    other = User.objects.create_superuser("op2@service.example", PASSWORD)
    before = snapshot()
    page = as_operator.get(f"/admin/tenancy/user/{other.pk}/change/")
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert as_operator.post(f"/admin/tenancy/user/{other.pk}/change/", {"email": "x@x.example"}).status_code == 403
    assert as_operator.post(f"/admin/tenancy/user/{other.pk}/password/", {}).status_code == 403
    assert as_operator.post(f"/admin/tenancy/user/{viewer_a.pk}/delete/", {"post": "yes"}).status_code == 403
    assert snapshot() == before


def test_company_users_keep_their_company(as_operator, company_a, company_b, viewer_a):
    response = as_operator.post(f"/admin/tenancy/user/{viewer_a.pk}/change/", user_data(viewer_a, company=company_b.pk))
    assert response.status_code == 302
    assert User.objects.get(pk=viewer_a.pk).company_id == company_a.pk
    assert Company.objects.count() == 2
