"""
A batch of devices added together: ONE email per recipient listing every
code of the batch, through a real SMTP server; codes that can no longer be
used are left out, and the email is obsolete when none is left.
"""

import email
import email.policy
import json

from django.core.management import call_command
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.services import device_cancel, devices_add_batch, registration_code_replace
from backoffice.notifications.choices import EmailState
from backoffice.notifications.models import OutboxEmail
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.conftest import login
from tests.devices.batch_setup import free_licenses
from tests.factories import TeamFactory, make_user
from tests.notifications.conftest import smtp_mailers

RECIPIENTS = ["lead@a.example", "tech@a.example"]


def _add(company, team, admin, count=5):
    free_licenses(company, count)
    with company_scope(company):
        return devices_add_batch(
            acting_user=admin, team=team, quantity=count, nickname_prefix="Van tablet", recipients=RECIPIENTS
        )


def _codes(company, batch) -> dict[str, str]:
    with company_scope(company):
        codes = RegistrationCode.objects.filter(batch_id=batch.batch_id).select_related("device")
        return {code.device.nickname: code_format(code_unseal(code.sealed_code) or "") for code in codes}


def _bodies(envelope) -> tuple[email.message.EmailMessage, str, str]:
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return message, text, html


def test_each_recipient_gets_one_email_with_every_code_of_the_batch(settings, smtp_server, company_a, team_a, admin_a):
    settings.MAILERS = smtp_mailers(smtp_server.port)
    batch = _add(company_a, team_a, admin_a)
    codes = _codes(company_a, batch)
    call_command("send_outbox")
    messages = smtp_server.handler.messages
    assert sorted(m.rcpt_tos[0] for m in messages) == RECIPIENTS
    for envelope in messages:
        message, text, html = _bodies(envelope)
        assert message["Subject"] == "ReconPro registration codes for 5 devices"
        for body in (text, html):
            for nickname, code in codes.items():
                assert nickname in body
                assert code in body
            assert "Open ReconPro" in body
            assert "Tap Verify" in body
            assert "America/Chicago" in body
        assert not any(code in message["Subject"] for code in codes.values())
    with company_scope(company_a):
        assert {e.state for e in OutboxEmail.objects.all()} == {EmailState.SENT}
    with scopes_disabled():
        sent = list(AuditEvent.objects.filter(action="email.sent"))
    assert len(sent) == 2
    assert {event.batch_id for event in sent} == {batch.batch_id}
    assert all(event.team_id == team_a.pk for event in sent)
    trail = json.dumps([[e.summary, e.data] for e in sent])
    assert not any(code in trail for code in codes.values())


def test_codes_replaced_or_cancelled_before_sending_are_left_out(settings, smtp_server, company_a, team_a, admin_a):
    settings.MAILERS = smtp_mailers(smtp_server.port)
    batch = _add(company_a, team_a, admin_a)
    codes = _codes(company_a, batch)
    with company_scope(company_a):
        registration_code_replace(device=Device.objects.get(nickname="Van tablet 02"), acting_user=admin_a)
        device_cancel(device=Device.objects.get(nickname="Van tablet 04"), acting_user=admin_a)
    call_command("send_outbox")
    # The replacement has its own email (one per recipient); the batch's email lists the three left.
    batch_messages = [m for m in smtp_server.handler.messages if "3 devices" in _bodies(m)[0]["Subject"]]
    assert len(batch_messages) == 2
    _message, text, _html = _bodies(batch_messages[0])
    assert codes["Van tablet 01"] in text
    assert codes["Van tablet 02"] not in text
    assert codes["Van tablet 04"] not in text
    assert "Van tablet 04" not in text


def test_the_batch_email_is_obsolete_when_no_code_is_usable(settings, smtp_server, company_a, team_a, admin_a):
    settings.MAILERS = smtp_mailers(smtp_server.port)
    batch = _add(company_a, team_a, admin_a, count=2)
    with company_scope(company_a):
        RegistrationCode.objects.filter(batch_id=batch.batch_id).update(expires_at=timezone.now())
    call_command("send_outbox")
    assert smtp_server.handler.messages == []
    with company_scope(company_a):
        assert {e.state for e in OutboxEmail.objects.filter(batch_id=batch.batch_id)} == {EmailState.OBSOLETE}


def test_resend_queues_the_batch_email_again(settings, smtp_server, company_a, team_a, admin_a):
    settings.MAILERS = smtp_mailers(smtp_server.port)
    batch = _add(company_a, team_a, admin_a, count=3)
    call_command("send_outbox")
    with company_scope(company_a):
        first = OutboxEmail.objects.filter(batch_id=batch.batch_id).order_by("pk").first()
    response = login(admin_a).post(f"/devices/emails/{first.pk}/resend/")
    assert response.status_code == 302
    call_command("send_outbox")
    assert len(smtp_server.handler.messages) == 3
    _message, text, _html = _bodies(smtp_server.handler.messages[-1])
    assert all(code in text for code in _codes(company_a, batch).values())


def test_another_teams_administrator_cannot_resend_a_batch_email(company_a, team_a, admin_a):
    batch = _add(company_a, team_a, admin_a, count=2)
    with company_scope(company_a):
        other_team = TeamFactory(company=company_a, name="Other Team")
        email_row = OutboxEmail.objects.filter(batch_id=batch.batch_id).first()
    outsider = make_user(company_a, "team_administrator", team=other_team, email="outsider@a.example")
    own = make_user(company_a, "team_administrator", team=team_a, email="own@a.example")
    assert login(outsider).post(f"/devices/emails/{email_row.pk}/resend/").status_code == 404
    assert login(own).post(f"/devices/emails/{email_row.pk}/resend/").status_code == 302


def test_a_failed_batch_email_stores_no_code(settings, closed_port, company_a, team_a, admin_a):
    settings.MAILERS = smtp_mailers(closed_port)
    batch = _add(company_a, team_a, admin_a, count=2)
    codes = _codes(company_a, batch)
    call_command("send_outbox")
    with company_scope(company_a):
        rows = list(OutboxEmail.objects.filter(batch_id=batch.batch_id))
    assert all(row.state == EmailState.QUEUED and row.last_error for row in rows)
    assert not any(code in row.last_error for row in rows for code in codes.values())
