"""
An administrator who changes a user's role or team, or deactivates them,
ends that user's sessions at once: the user's next request is sent to sign
in. A change of name alone leaves them signed in, and so does every other
user's session.
"""

from django.test import Client as HttpClient

from backoffice.tenancy.choices import Role
from tests.factories import PASSWORD, make_user


def signed_in(user) -> HttpClient:
    http = HttpClient()
    assert http.post("/login/", {"login": user.email, "password": PASSWORD}).status_code == 302
    assert http.get("/devices/").status_code == 200
    return http


def is_signed_out(http: HttpClient) -> bool:
    response = http.get("/devices/")
    return response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_role_change_ends_the_users_sessions(as_admin_a, company_a, team_a):
    viewer = make_user(company_a, Role.VIEWER, email="val@a.example")
    bystander = make_user(company_a, email="bea@a.example")
    phone, laptop, other = signed_in(viewer), signed_in(viewer), signed_in(bystander)
    response = as_admin_a.post(f"/users/{viewer.pk}/edit/", {"full_name": "Val", "role": "viewer"})
    assert response.status_code == 302
    assert not is_signed_out(phone)  # the name alone changed
    response = as_admin_a.post(
        f"/users/{viewer.pk}/edit/", {"full_name": "Val", "role": "team_administrator", "team": team_a.pk}
    )
    assert response.status_code == 302
    assert is_signed_out(phone)
    assert is_signed_out(laptop)
    assert not is_signed_out(other)
    assert not is_signed_out(as_admin_a)
    # Signing in again works, with the new role.
    assert signed_in(viewer).get("/devices/").status_code == 200


def test_deactivating_a_user_ends_their_sessions_and_reactivating_does_not_revive_them(as_admin_a, company_a):
    viewer = make_user(company_a, Role.VIEWER, email="vic@a.example")
    session = signed_in(viewer)
    assert as_admin_a.post(f"/users/{viewer.pk}/deactivate/").status_code == 302
    assert is_signed_out(session)
    assert as_admin_a.post(f"/users/{viewer.pk}/reactivate/").status_code == 302
    assert is_signed_out(session)
    assert signed_in(viewer).get("/devices/").status_code == 200
