"""Only Administrators invite, resend and revoke; another company's invitation answers 404; nothing changes."""

import pytest
from django.test import Client as HttpClient

from tests.dbstate import snapshot
from tests.invitations.conftest import invitation_of, invite


@pytest.fixture
def pending(as_admin_a, company_a):
    invite(as_admin_a, "pending@a.example", full_name="Pat")
    return invitation_of("pending@a.example")


@pytest.mark.parametrize("who", ["as_teamadmin_a", "as_viewer_a"])
def test_other_roles_get_403_and_change_nothing(request, pending, who):
    http = request.getfixturevalue(who)
    before = snapshot()
    assert http.get("/users/invite/").status_code == 403
    assert invite(http, "someone@a.example").status_code == 403
    assert http.post(f"/users/invitations/{pending.public_id}/resend/").status_code == 403
    assert http.post(f"/users/invitations/{pending.public_id}/revoke/").status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("who", ["as_teamadmin_a", "as_viewer_a"])
def test_other_roles_see_pending_invitations_without_controls(request, pending, who):
    html = request.getfixturevalue(who).get("/users/").content.decode()
    assert "pending@a.example" in html
    for control in ("/users/invite/", "/resend/", "/revoke/", "/edit/", "/deactivate/"):
        assert control not in html


def test_the_administrator_gets_the_controls(as_admin_a, pending):
    html = as_admin_a.get("/users/").content.decode()
    assert "Invite user" in html
    assert "/users/add/" not in html
    assert f"/users/invitations/{pending.public_id}/resend/" in html


def test_another_company_invitation_answers_404(as_admin_b, pending):
    before = snapshot()
    assert as_admin_b.post(f"/users/invitations/{pending.public_id}/resend/").status_code == 404
    assert as_admin_b.post(f"/users/invitations/{pending.public_id}/revoke/").status_code == 404
    assert "pending@a.example" not in as_admin_b.get("/users/").content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("public_id", ["not-a-uuid", "9" * 30, "00000000-0000-4000-8000-000000000000"])
def test_an_unknown_invitation_answers_404(as_admin_a, pending, public_id):
    before = snapshot()
    assert as_admin_a.post(f"/users/invitations/{public_id}/resend/").status_code == 404
    assert as_admin_a.post(f"/users/invitations/{public_id}/revoke/").status_code == 404
    assert snapshot() == before


def test_resend_and_revoke_need_post(as_admin_a, pending):
    before = snapshot()
    assert as_admin_a.get(f"/users/invitations/{pending.public_id}/resend/").status_code == 405
    assert as_admin_a.get(f"/users/invitations/{pending.public_id}/revoke/").status_code == 405
    assert snapshot() == before


def test_signed_out_visitors_are_sent_to_sign_in(pending):
    before = snapshot()
    for response in (
        HttpClient().get("/users/invite/"),
        HttpClient().post(f"/users/invitations/{pending.public_id}/revoke/"),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    assert snapshot() == before


def test_the_operators_admin_shows_invitations_read_only(as_operator, pending):
    listing = as_operator.get("/admin/invitations/invitation/")
    assert listing.status_code == 200
    assert "pending@a.example" in listing.content.decode()
    page = as_operator.get(f"/admin/invitations/invitation/{pending.pk}/change/")
    assert page.status_code == 200
    assert pending.nonce not in page.content.decode()
    before = snapshot()
    change, delete = (f"/admin/invitations/invitation/{pending.pk}/{view}/" for view in ("change", "delete"))
    assert as_operator.post(change, {"email": "x@x.example"}).status_code == 403
    assert as_operator.post(delete, {"post": "yes"}).status_code == 403
    assert as_operator.get("/admin/invitations/invitation/add/").status_code == 403
    assert snapshot() == before
