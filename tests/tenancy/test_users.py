import pytest
from django.test import Client as HttpClient

from backoffice.tenancy.models import User
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.factories import PASSWORD

NEW_PASSWORD = "quiet-harbor-lantern"


def user_row(email):
    user = User.objects.get(email=email)
    return (user.full_name, user.company_id, user.role, user.team_id, user.is_active)


def test_adding_a_user_is_by_invitation(as_admin_a):
    """The page to add a user with a password is gone: Administrators invite (tests/invitations)."""
    assert as_admin_a.get("/users/add/").status_code == 404


def test_users_list_for_every_role(as_admin_a, as_teamadmin_a, as_viewer_a, admin_a, teamadmin_a, viewer_a, admin_b):
    for http in (as_admin_a, as_teamadmin_a, as_viewer_a):
        response = http.get("/users/")
        assert [u.email for u in response.context["users"]] == [
            "admin@a.example",
            "teamadmin@a.example",
            "viewer@a.example",
        ]
    admin_html = as_admin_a.get("/users/").content.decode()
    assert "/users/invite/" in admin_html
    assert f"/users/{viewer_a.pk}/deactivate/" in admin_html
    assert f"/users/{admin_a.pk}/deactivate/" not in admin_html
    for http in (as_teamadmin_a, as_viewer_a):
        html = http.get("/users/").content.decode()
        for control in ("/users/invite/", "/edit/", "/deactivate/", "/reactivate/"):
            assert control not in html


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
