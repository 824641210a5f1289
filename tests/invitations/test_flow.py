"""
The whole invitation path through HTTP and a real SMTP server: invite on the
Users page, the worker sends the email, the link in it opens the acceptance
page, a password makes the account and signs the person in; then the link is
dead. Resend, Revoke and expiry kill links too.
"""

import datetime
import logging
import re

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.invitations.models import Invitation
from backoffice.invitations.services import EMAILS_PER_ADDRESS_PER_HOUR
from backoffice.notifications.choices import EmailState
from backoffice.notifications.models import OutboxEmail
from backoffice.organization.services import team_create
from backoffice.tenancy.models import User
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.dbstate import snapshot
from tests.invitations.conftest import (
    LINK_DEAD,
    NEW_PASSWORD,
    accept,
    deliver,
    html_of,
    invitation_of,
    invite,
    link_in,
    text_of,
)


def test_invite_email_accept_and_signed_in(as_admin_a, admin_a, company_a, team_a, mail):
    response = invite(as_admin_a, "New.Lead@A.example", role="team_administrator", team=team_a.pk, full_name="Nia")
    assert (response.status_code, response["Location"]) == (302, "/users/")
    assert not User.objects.filter(email="new.lead@a.example").exists()  # nothing reserved before acceptance
    page = as_admin_a.get("/users/").content.decode()
    invitation = invitation_of("new.lead@a.example")
    assert "new.lead@a.example" in page
    assert f"/users/invitations/{invitation.public_id}/resend/" in page
    assert f"/users/invitations/{invitation.public_id}/revoke/" in page

    [message] = deliver(mail)
    assert message["To"] == "new.lead@a.example"
    assert message["Subject"] == "Your invitation to the ReconPro Back Office of Company A"
    expires = invitation.expires_at.astimezone(company_a.zone)
    assert invitation.expires_at - invitation.sent_at == datetime.timedelta(hours=72)
    for body in (text_of(message), html_of(message)):
        assert "admin@a.example invited you to the ReconPro Back Office of" in body
        assert "Company A" in body
        assert "Team Administrator" in body
        assert "Alpha Team" in body
        assert f"{expires:%A, %B} {expires.day}, {expires.year}" in body
        assert "(America/Chicago time)" in body
    link = link_in(message)
    assert link.startswith(f"/invitations/{invitation.public_id}/?token=")

    invitee = HttpClient()
    page = invitee.get(link)
    assert page.status_code == 200
    assert "Join Company A" in page.content.decode()
    assert page.context["form"]["full_name"].value() == "Nia"
    response = accept(invitee, link, full_name="Nia Lead")
    assert (response.status_code, response["Location"]) == (302, "/devices/")
    user = User.objects.get(email="new.lead@a.example")
    assert (user.full_name, user.company_id, user.role, user.team_id, user.is_active) == (
        "Nia Lead",
        company_a.pk,
        "team_administrator",
        team_a.pk,
        True,
    )
    assert user.check_password(NEW_PASSWORD)
    assert invitee.get("/devices/").context["user"] == user  # signed in
    with scopes_disabled():
        invitation.refresh_from_db()
    assert (invitation.state, invitation.accepted_user_id) == ("accepted", user.pk)
    with company_scope(company_a):
        events = list(
            AuditEvent.objects.exclude(action__startswith="company.").order_by("pk").values_list("action", "actor_id")
        )
    assert events == [("invitation.sent", admin_a.pk), ("email.sent", None), ("invitation.accepted", user.pk)]
    assert HttpClient().login(username="new.lead@a.example", password=NEW_PASSWORD)


def test_a_used_link_is_dead(as_admin_a, company_a, mail):
    invite(as_admin_a, "v@a.example")
    link = link_in(deliver(mail)[0])
    assert accept(HttpClient(), link).status_code == 302
    before = snapshot()
    for response in (HttpClient().get(link), accept(HttpClient(), link, password="another-long-secret-7")):
        assert response.status_code == 410
        assert LINK_DEAD in response.content.decode()
        assert "<form" not in response.content.decode().split('id="main"', 1)[1]
    assert snapshot() == before


def test_an_expired_link_is_dead_and_its_email_not_sent(as_admin_a, company_a, mail):
    invite(as_admin_a, "late@a.example")
    link = link_in(deliver(mail)[0])
    invite(as_admin_a, "never@a.example")
    with scopes_disabled():
        Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    before = snapshot()
    for response in (HttpClient().get(link), accept(HttpClient(), link)):
        assert response.status_code == 410
        assert LINK_DEAD in response.content.decode()
    assert snapshot() == before
    assert deliver(mail) == []
    with company_scope(company_a):
        assert OutboxEmail.objects.get(recipient="never@a.example").state == EmailState.OBSOLETE
    assert "Expired" in as_admin_a.get("/users/").content.decode()


def test_resend_kills_the_old_link_and_renews_the_expiry(as_admin_a, admin_a, company_a, mail):
    invite(as_admin_a, "v@a.example")
    old_link = link_in(deliver(mail)[0])
    invitation = invitation_of("v@a.example")
    with scopes_disabled():
        Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(hours=1))
    response = as_admin_a.post(f"/users/invitations/{invitation.public_id}/resend/", follow=True)
    assert [str(m) for m in response.context["messages"]][-1] == (
        "Invitation sent. The link stays valid for 72 hours. The earlier link no longer works."
    )
    new_link = link_in(deliver(mail)[0])
    assert new_link != old_link
    assert HttpClient().get(old_link).status_code == 410
    assert HttpClient().get(new_link).status_code == 200
    renewed = invitation_of("v@a.example")
    assert renewed.pk == invitation.pk
    assert renewed.expires_at > timezone.now() + datetime.timedelta(hours=71)
    with company_scope(company_a):
        assert AuditEvent.objects.filter(action="invitation.resent", actor_id=admin_a.pk).count() == 1


def test_inviting_a_pending_address_again_resends_that_invitation(as_admin_a, company_a, team_a, mail):
    first = invite(as_admin_a, "v@a.example")
    old_link = link_in(deliver(mail)[0])
    second = invite(as_admin_a, "V@a.example", role="team_administrator", team=team_a.pk)
    assert (first.status_code, first["Location"]) == (second.status_code, second["Location"])
    with scopes_disabled():
        assert Invitation.objects.count() == 1
    invitation = invitation_of("v@a.example")
    assert (invitation.role, invitation.team_id) == ("team_administrator", team_a.pk)
    new_link = link_in(deliver(mail)[0])
    assert HttpClient().get(old_link).status_code == 410
    assert HttpClient().get(new_link).status_code == 200


def test_resend_before_the_first_email_went_sends_one_email(as_admin_a, company_a, mail):
    invite(as_admin_a, "v@a.example")
    invitation = invitation_of("v@a.example")
    as_admin_a.post(f"/users/invitations/{invitation.public_id}/resend/")
    messages = deliver(mail)
    assert len(messages) == 1
    assert HttpClient().get(link_in(messages[0])).status_code == 200


def test_revoke_kills_the_link(as_admin_a, admin_a, company_a, mail):
    invite(as_admin_a, "v@a.example")
    link = link_in(deliver(mail)[0])
    invitation = invitation_of("v@a.example")
    response = as_admin_a.post(f"/users/invitations/{invitation.public_id}/revoke/", follow=True)
    assert [str(m) for m in response.context["messages"]][-1] == (
        "Invitation of v@a.example revoked: its link no longer works."
    )
    assert response.context["invitations"].count() == 0
    before = snapshot()
    for response in (HttpClient().get(link), accept(HttpClient(), link)):
        assert response.status_code == 410
        assert LINK_DEAD in response.content.decode()
    assert snapshot() == before
    with company_scope(company_a):
        assert AuditEvent.objects.filter(action="invitation.revoked", actor_id=admin_a.pk).count() == 1
    again = as_admin_a.post(f"/users/invitations/{invitation.public_id}/resend/", follow=True)
    assert [str(m) for m in again.context["messages"]] == ["This invitation was already accepted or revoked."]
    assert snapshot() == before


def test_a_revoked_invitation_email_not_yet_sent_is_not_sent(as_admin_a, company_a, mail):
    invite(as_admin_a, "v@a.example")
    as_admin_a.post(f"/users/invitations/{invitation_of('v@a.example').public_id}/revoke/")
    assert deliver(mail) == []


def test_every_dead_link_gets_the_same_page(as_admin_a, company_a, mail):
    invite(as_admin_a, "v@a.example")
    link = link_in(deliver(mail)[0])
    path, token = link.split("?token=")
    other_id = "00000000-0000-4000-8000-000000000000"
    for dead in (
        f"{path}?token={token[:-1]}0" if not token.endswith("0") else f"{path}?token={token[:-1]}1",
        f"{path}?token=",
        path,
        f"/invitations/{other_id}/?token={token}",
        f"/invitations/not-a-uuid/?token={token}",
        f"{path}?token={'a' * 5000}",
    ):
        response = HttpClient().get(dead)
        assert response.status_code == 410, dead
        assert LINK_DEAD in response.content.decode()


def test_no_token_reaches_an_audit_event_the_outbox_or_a_log(as_admin_a, company_a, mail, caplog):
    caplog.set_level(logging.DEBUG)
    invite(as_admin_a, "v@a.example")
    link = link_in(deliver(mail)[0])
    as_admin_a.post(f"/users/invitations/{invitation_of('v@a.example').public_id}/resend/")
    second = link_in(deliver(mail)[0])
    accept(HttpClient(), second)
    tokens = [link.split("token=")[1], second.split("token=")[1]]
    HttpClient().get(link)  # dead now: logged as a refused request
    state = str(snapshot())
    # Every log line of the Back Office (the test's SMTP server logs what it receives: not ours).
    logged = "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("mail.log"))
    assert "outbox: email" in logged
    for token in tokens:
        assert token not in state
        assert token not in logged


def test_the_team_is_kept_only_for_a_team_administrator(as_admin_a, team_a):
    invite(as_admin_a, "v@a.example", role="viewer", team=team_a.pk)
    assert (invitation_of("v@a.example").role, invitation_of("v@a.example").team_id) == ("viewer", None)


def test_a_team_administrator_invitation_dies_with_its_team(as_admin_a, admin_a, company_a, mail):
    with company_scope(company_a):
        spare = team_create(acting_user=admin_a, name="Spare", time_zone="UTC")
    invite(as_admin_a, "lead@a.example", role="team_administrator", team=spare.pk)
    link = link_in(deliver(mail)[0])
    assert as_admin_a.post(f"/teams/{spare.pk}/delete/").status_code == 302
    before = snapshot()
    for response in (HttpClient().get(link), accept(HttpClient(), link)):
        assert response.status_code == 410
    assert snapshot() == before
    assert not User.objects.filter(email="lead@a.example").exists()


@pytest.mark.usefixtures("inside_one_window")  # no test straddles the hour's end
def test_invitation_emails_to_one_address_are_limited(as_admin_a, company_a):
    for _ in range(EMAILS_PER_ADDRESS_PER_HOUR - 1):
        assert invite(as_admin_a, "v@a.example").status_code == 302
    invitation = invitation_of("v@a.example")
    assert as_admin_a.post(f"/users/invitations/{invitation.public_id}/resend/").status_code == 302
    before = snapshot()
    refused = invite(as_admin_a, "V@a.example")
    assert refused.status_code == 200
    limited = re.compile(
        r"Too many invitation emails to this address or from your company in the last hour; "
        r"try again in \d+ minutes?\."
    )
    [error] = refused.context["form"].non_field_errors()
    assert limited.fullmatch(error)
    response = as_admin_a.post(f"/users/invitations/{invitation.public_id}/resend/", follow=True)
    assert limited.fullmatch([str(m) for m in response.context["messages"]][-1])
    assert snapshot() == before
    assert invite(as_admin_a, "other@a.example").status_code == 302  # another address is not held up
