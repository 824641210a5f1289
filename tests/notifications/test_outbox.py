"""The outbox worker against a real SMTP server: delivery, outage, retries, no double send."""

import datetime
import email
import email.policy
import logging
import zoneinfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import RegistrationCode
from backoffice.devices.services import device_add, registration_code_replace
from backoffice.notifications.choices import EmailState
from backoffice.notifications.models import OutboxEmail
from backoffice.notifications.services import MAX_ATTEMPTS, outbox_send_due, retry_delay
from backoffice.tenancy.scoping import company_scope
from tests.factories import LicenseFactory
from tests.notifications.conftest import smtp_mailers


@pytest.fixture
def pending_device(company_a, team_a, admin_a):
    """A pending device of company A whose code is emailed to two recipients."""
    with company_scope(company_a):
        return device_add(
            acting_user=admin_a,
            team=team_a,
            license=LicenseFactory(company=company_a, number="NW-10044"),
            nickname="Bay 3 iPad",
            recipients=["tech@a.example", "lead@a.example"],
            expires_in=datetime.timedelta(hours=4),
        )


def the_code(company, device) -> str:
    with company_scope(company):
        value = code_unseal(RegistrationCode.objects.get(device=device, revoked_at__isnull=True).sealed_code)
    assert value is not None
    return value


def emails_of(company, device) -> list[OutboxEmail]:
    with company_scope(company):
        return list(OutboxEmail.objects.filter(registration_code__device=device).order_by("pk"))


def parse(envelope) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def test_sends_through_a_real_smtp_server(settings, smtp_server, company_a, pending_device):
    settings.MAILERS = smtp_mailers(smtp_server.port)
    code = code_format(the_code(company_a, pending_device))
    call_command("send_outbox")
    messages = smtp_server.handler.messages
    assert sorted(m.rcpt_tos[0] for m in messages) == ["lead@a.example", "tech@a.example"]
    message = parse(messages[0])
    assert message["Subject"] == "ReconPro registration code for Bay 3 iPad"
    assert code not in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert code in body
        assert "Open ReconPro" in body
        assert "Verification screen" in body
        assert "Tap Verify" in body
        assert "America/Chicago" in body  # the company's time zone
    states = [(e.state, e.attempts) for e in emails_of(company_a, pending_device)]
    assert states == [(EmailState.SENT, 1), (EmailState.SENT, 1)]
    with company_scope(company_a):
        assert AuditEvent.objects.filter(action="email.sent").count() == 2


def test_expiry_shown_in_the_company_time_zone(company_a, pending_device, mailoutbox):
    with company_scope(company_a):
        code_row = RegistrationCode.objects.get(device=pending_device)
    outbox_send_due()
    local = code_row.expires_at.astimezone(zoneinfo.ZoneInfo("America/Chicago"))
    hour = local.strftime("%I").lstrip("0")
    expected = f"expires on {local:%A, %B} {local.day}, {local.year} at {hour}:{local:%M %p} (America/Chicago time)"
    assert expected in mailoutbox[0].body, mailoutbox[0].body


def test_smtp_down_then_up_sends_exactly_once(settings, smtp_server, closed_port, company_a, pending_device):
    settings.MAILERS = smtp_mailers(closed_port)
    started = timezone.now()
    call_command("send_outbox")
    with company_scope(company_a):
        assert RegistrationCode.objects.filter(device=pending_device).count() == 1
    emails = emails_of(company_a, pending_device)
    assert len(emails) == 2
    for row in emails:
        assert row.state == EmailState.QUEUED
        assert row.attempts == 1
        assert row.next_attempt_at > started + datetime.timedelta(seconds=25)
        assert row.last_error.startswith("ConnectionRefusedError")
    # Not due yet: another pass sends nothing and counts no attempt.
    settings.MAILERS = smtp_mailers(smtp_server.port)
    call_command("send_outbox")
    assert smtp_server.handler.messages == []
    assert [e.attempts for e in emails_of(company_a, pending_device)] == [1, 1]
    # The time has come.
    with company_scope(company_a):
        OutboxEmail.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    call_command("send_outbox")
    assert sorted(m.rcpt_tos[0] for m in smtp_server.handler.messages) == ["lead@a.example", "tech@a.example"]
    assert [(e.state, e.attempts) for e in emails_of(company_a, pending_device)] == [
        (EmailState.SENT, 2),
        (EmailState.SENT, 2),
    ]
    call_command("send_outbox")
    assert len(smtp_server.handler.messages) == 2


def test_backoff_grows_and_gives_up_after_eight_attempts(settings, closed_port, company_a, pending_device):
    assert [retry_delay(n).total_seconds() for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    settings.MAILERS = smtp_mailers(closed_port)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with company_scope(company_a):
            OutboxEmail.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
        before = timezone.now()
        outbox_send_due()
        rows = emails_of(company_a, pending_device)
        assert {r.attempts for r in rows} == {attempt}
        if attempt < MAX_ATTEMPTS:
            assert {r.state for r in rows} == {EmailState.QUEUED}
            for row in rows:
                delay = row.next_attempt_at - before
                assert retry_delay(attempt) <= delay < retry_delay(attempt) + datetime.timedelta(seconds=5)
    assert {r.state for r in emails_of(company_a, pending_device)} == {EmailState.FAILED}
    with company_scope(company_a):
        OutboxEmail.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    assert outbox_send_due().total == 0
    with company_scope(company_a):
        assert AuditEvent.objects.filter(action="email.failed").count() == 2 * MAX_ATTEMPTS
        assert AuditEvent.objects.filter(action="email.failed", data__gave_up=True).count() == 2


def test_emails_of_a_replaced_or_expired_code_are_not_sent(company_a, admin_a, pending_device, mailoutbox):
    old_emails = emails_of(company_a, pending_device)
    with company_scope(company_a):
        registration_code_replace(device=pending_device, acting_user=admin_a)
    # The replaced code's emails were dropped at once; the new code's go out.
    run = outbox_send_due()
    assert run.sent == 2
    assert {e.state for e in emails_of(company_a, pending_device)[:2]} == {EmailState.OBSOLETE}
    assert [e.pk for e in emails_of(company_a, pending_device)[:2]] == [e.pk for e in old_emails]
    new_code = code_format(the_code(company_a, pending_device))
    assert all(new_code in m.body for m in mailoutbox)
    # An expired code: its queued email becomes obsolete instead of being sent.
    with company_scope(company_a):
        OutboxEmail.objects.filter(state=EmailState.SENT).update(
            state=EmailState.QUEUED, next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
        )
        RegistrationCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    mailoutbox.clear()
    run = outbox_send_due()
    assert run.obsolete == 2
    assert mailoutbox == []


def test_loop_wipes_the_copies_of_expired_codes(company_a, pending_device):
    with company_scope(company_a):
        RegistrationCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    call_command("send_outbox")
    with company_scope(company_a):
        assert RegistrationCode.objects.get().sealed_code is None


def test_no_code_in_logs_errors_or_audit(settings, closed_port, company_a, pending_device, caplog, mailoutbox):
    code = the_code(company_a, pending_device)
    caplog.set_level(logging.DEBUG)
    settings.MAILERS = smtp_mailers(closed_port)
    outbox_send_due()
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    with company_scope(company_a):
        OutboxEmail.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    outbox_send_due()
    assert len(mail.outbox) == 2
    assert caplog.records
    for variant in (code, code_format(code), code.lower()):
        assert variant not in caplog.text
    with company_scope(company_a):
        for event in AuditEvent.objects.all():
            assert code not in f"{event.summary} {event.data}"
            assert code_format(code) not in f"{event.summary} {event.data}"
        for row in OutboxEmail.objects.all():
            assert code not in row.last_error
