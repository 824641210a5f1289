import pytest
from django.test import Client as HttpClient

from backoffice.audit.models import AuditEvent
from backoffice.organization.models import Team
from backoffice.tenancy.models import User
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.factories import PASSWORD

NEW_PASSWORD = "quiet-harbor-lantern"


def user_row(email):
    user = User.objects.get(email=email)
    return (user.full_name, user.company_id, user.role, user.team_id, user.is_active)


def test_users_list_for_every_role(as_admin_a, as_teamadmin_a, as_viewer_a, admin_a, teamadmin_a, viewer_a, admin_b):
    for http in (as_admin_a, as_teamadmin_a, as_viewer_a):
        response = http.get("/users/")
        assert [u.email for u in response.context["users"]] == [
            "admin@a.example",
            "teamadmin@a.example",
            "viewer@a.example",
        ]
    admin_html = as_admin_a.get("/users/").content.decode()
    assert "/users/add/" in admin_html
    assert f"/users/{viewer_a.pk}/deactivate/" in admin_html
    assert f"/users/{admin_a.pk}/deactivate/" not in admin_html
    for http in (as_teamadmin_a, as_viewer_a):
        html = http.get("/users/").content.decode()
        for control in ("/users/add/", "/edit/", "/deactivate/", "/reactivate/"):
            assert control not in html


def test_add_user_with_a_password(as_admin_a, company_a, team_a, admin_a):
    response = as_admin_a.post(
        "/users/add/",
        {
            "email": "New.Lead@A.example",
            "full_name": "Nia Lead",
            "role": "team_administrator",
            "team": team_a.pk,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert user_row("new.lead@a.example") == ("Nia Lead", company_a.pk, "team_administrator", team_a.pk, True)
    with company_scope(company_a):
        event = AuditEvent.objects.get(action="user.created")
    assert (event.actor_id, event.summary) == (admin_a.pk, "User new.lead@a.example created as Team Administrator")
    assert NEW_PASSWORD not in str(event.data)
    http = HttpClient()
    assert http.post("/login/", {"login": "new.lead@a.example", "password": NEW_PASSWORD}).status_code == 302


def test_team_is_dropped_for_roles_other_than_team_administrator(as_admin_a, company_a, team_a):
    as_admin_a.post(
        "/users/add/",
        {
            "email": "v@a.example",
            "role": "viewer",
            "team": team_a.pk,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert user_row("v@a.example") == ("", company_a.pk, "viewer", None, True)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"email": "", "role": "", "password": "", "password_confirm": ""},
            {
                "email": ["This field is required."],
                "role": ["This field is required."],
                "password": ["This field is required."],
                "password_confirm": ["This field is required."],
            },
        ),
        ({"email": "nope"}, {"email": ["Enter a valid email address."]}),
        ({"email": "VIEWER@a.example"}, {"email": ["A user with this email already exists."]}),
        ({"email": "admin@b.example"}, {"email": ["A user with this email already exists."]}),
        ({"full_name": "n" * 121}, {"full_name": ["Ensure this value has at most 120 characters (it has 121)."]}),
        ({"role": "owner"}, {"role": ["Select a valid choice. owner is not one of the available choices."]}),
        ({"role": "team_administrator"}, {"team": ["A Team Administrator needs a team."]}),
        (
            {"password": "short-pw1", "password_confirm": "short-pw1"},
            {"password": ["This password is too short. It must contain at least 10 characters."]},
        ),
        (
            {"password": "password123", "password_confirm": "password123"},
            {"password": ["This password is too common."]},
        ),
        (
            {"password": "8301749265", "password_confirm": "8301749265"},
            {"password": ["This password is entirely numeric."]},
        ),
        ({"password_confirm": "something-else-entirely"}, {"password_confirm": ["The two passwords differ."]}),
    ],
)
def test_add_user_bad_input(as_admin_a, viewer_a, admin_b, data, errors):
    base = {"email": "fresh@a.example", "role": "viewer", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    before = snapshot()
    response = as_admin_a.post("/users/add/", {**base, **data})
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert snapshot() == before


def test_add_team_administrator_of_another_company_team_is_refused(as_admin_a, company_b):
    with company_scope(company_b):
        team_b = Team.objects.get()
    before = snapshot()
    response = as_admin_a.post(
        "/users/add/",
        {
            "email": "x@a.example",
            "role": "team_administrator",
            "team": team_b.pk,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.context["form"].errors == {
        "team": ["Select a valid choice. That choice is not one of the available choices."]
    }
    assert snapshot() == before


def test_change_role(as_admin_a, company_a, viewer2_a, team_a):
    response = as_admin_a.post(
        f"/users/{viewer2_a.pk}/edit/", {"full_name": "Val", "role": "team_administrator", "team": team_a.pk}
    )
    assert response.status_code == 302
    assert user_row("viewer2@a.example") == ("Val", company_a.pk, "team_administrator", team_a.pk, True)
    as_admin_a.post(f"/users/{viewer2_a.pk}/edit/", {"full_name": "Val", "role": "administrator", "team": team_a.pk})
    assert user_row("viewer2@a.example") == ("Val", company_a.pk, "administrator", None, True)


def test_administrator_cannot_demote_themselves(as_admin_a, admin_a, company_a):
    page = as_admin_a.get(f"/users/{admin_a.pk}/edit/").content.decode()
    assert "You cannot change your own role; ask another Administrator." in page
    before = snapshot()
    response = as_admin_a.post(f"/users/{admin_a.pk}/edit/", {"full_name": "Boss", "role": "viewer"})
    assert response.status_code == 302
    after = snapshot()
    assert user_row("admin@a.example") == ("Boss", company_a.pk, "administrator", None, True)
    assert after["User"] != before["User"]


def test_service_refuses_self_demotion(admin_a):
    from django.core.exceptions import ValidationError

    from backoffice.tenancy.services import user_update

    before = snapshot()
    with company_scope(admin_a.company), pytest.raises(ValidationError) as excinfo:
        user_update(acting_user=admin_a, user=admin_a, full_name="", role="viewer", team=None)
    assert excinfo.value.message_dict == {"role": ["You cannot change your own role; ask another Administrator."]}
    assert snapshot() == before


def test_deactivate_and_reactivate(as_admin_a, viewer2_a, company_a):
    victim = HttpClient()
    victim.force_login(viewer2_a)
    assert victim.get("/devices/").status_code == 200
    assert as_admin_a.post(f"/users/{viewer2_a.pk}/deactivate/").status_code == 302
    assert user_row("viewer2@a.example")[4] is False
    assert victim.get("/devices/").status_code == 302
    assert not HttpClient().login(username="viewer2@a.example", password=PASSWORD)
    assert as_admin_a.post(f"/users/{viewer2_a.pk}/reactivate/").status_code == 302
    assert user_row("viewer2@a.example")[4] is True
    assert HttpClient().login(username="viewer2@a.example", password=PASSWORD)


def test_administrator_cannot_deactivate_themselves(as_admin_a, admin_a):
    before = snapshot()
    response = as_admin_a.post(f"/users/{admin_a.pk}/deactivate/", follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "You cannot deactivate yourself; ask another Administrator."
    ]
    assert snapshot() == before


def test_deactivate_needs_post(as_admin_a, viewer2_a):
    assert as_admin_a.get(f"/users/{viewer2_a.pk}/deactivate/").status_code == 405
    assert user_row("viewer2@a.example")[4] is True


def test_users_of_another_company_answer_404(as_admin_b, viewer_a, inactive_a):
    before = snapshot()
    assert "viewer@a.example" not in as_admin_b.get("/users/").content.decode()
    assert as_admin_b.get(f"/users/{viewer_a.pk}/edit/").status_code == 404
    assert as_admin_b.post(f"/users/{viewer_a.pk}/edit/", {"role": "administrator"}).status_code == 404
    assert as_admin_b.post(f"/users/{viewer_a.pk}/deactivate/").status_code == 404
    assert as_admin_b.post(f"/users/{inactive_a.pk}/reactivate/").status_code == 404
    assert snapshot() == before


def test_operators_are_not_listed_or_editable(as_admin_a):
    operator = User.objects.create_superuser("op@service.example", PASSWORD)
    assert "op@service.example" not in as_admin_a.get("/users/").content.decode()
    assert as_admin_a.get(f"/users/{operator.pk}/edit/").status_code == 404


def test_every_problem_of_the_add_user_form_shows_at_once(as_admin_a, viewer_a):
    before = snapshot()
    response = as_admin_a.post(
        "/users/add/",
        {"email": "Viewer@a.example", "role": "team_administrator", "password": "short", "password_confirm": "other"},
    )
    assert response.context["form"].errors == {
        "email": ["A user with this email already exists."],
        "password": ["This password is too short. It must contain at least 10 characters."],
        "password_confirm": ["The two passwords differ."],
        "team": ["A Team Administrator needs a team."],
    }
    assert snapshot() == before


def test_password_like_the_email_is_refused(as_admin_a):
    response = as_admin_a.post(
        "/users/add/",
        {
            "email": "marigold.henderson@a.example",
            "role": "viewer",
            "password": "marigold.henderson",
            "password_confirm": "marigold.henderson",
        },
    )
    assert response.context["form"].errors == {"password": ["The password is too similar to the email."]}
