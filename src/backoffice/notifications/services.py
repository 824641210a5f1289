"""
The outbox worker and the writes on queued emails.

Registration-code emails are written to the outbox in the same transaction
as the code they announce, then sent here. Sending is at least once with
no double send in normal operation: a worker claims a due email in a short
transaction (PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite:
the IMMEDIATE transaction serialises workers) by moving its next attempt
past the send timeout, sends with no transaction or lock held, then records
the outcome. Only a crash between the SMTP hand-over and that record can
repeat an email, after the claim lapses.

The body is rendered at send time from the code's encrypted copy and is
never stored; log lines and ``last_error`` never carry the code.
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from backoffice.audit.services import audit_record
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import RegistrationCode
from backoffice.notifications.choices import EmailState
from backoffice.notifications.models import OutboxEmail
from backoffice.tenancy.models import User

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE = datetime.timedelta(seconds=30)
RETRY_MAX = datetime.timedelta(hours=1)
# How long a claimed email stays invisible to other workers while it is sent.
CLAIM_LEASE = datetime.timedelta(minutes=5)


@dataclass
class OutboxRun:
    """What one pass of the worker did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    obsolete: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed + self.obsolete


def retry_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff after the ``attempts``-th failure: 30 s · 2^(n-1), at most one hour."""
    return min(RETRY_MAX, RETRY_BASE * 2 ** max(0, attempts - 1))


def code_is_live(code: RegistrationCode, *, now: datetime.datetime) -> bool:
    return code.used_at is None and code.revoked_at is None and code.expires_at > now


def _claim_next(*, now: datetime.datetime) -> OutboxEmail | None:
    """
    Claim one due email: count the attempt and push ``next_attempt_at`` past
    the lease, so no other worker takes it while it is being sent.
    """
    with transaction.atomic(), scopes_disabled():
        due = OutboxEmail.objects.filter(state=EmailState.QUEUED, next_attempt_at__lte=now).order_by(
            "next_attempt_at", "pk"
        )
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        email = due.first()
        if email is None:
            return None
        email.attempts += 1
        email.next_attempt_at = now + CLAIM_LEASE
        email.save(update_fields=["attempts", "next_attempt_at"])
    return email


def _scrub(message: str, code: str) -> str:
    """Remove any trace of the code from an error message before it is stored or logged."""
    for variant in (code, code_format(code), code.lower(), code_format(code).lower()):
        message = message.replace(variant, "[code]")
    return message


def _render(email: OutboxEmail, code: str, registration_code: RegistrationCode) -> EmailMultiAlternatives:
    device = registration_code.device
    company = device.company
    zone = company.zone
    context = {
        "code": code_format(code),
        "device": device,
        "company": company,
        "expires_at": registration_code.expires_at,
        "time_zone": zone.key,
    }
    # A nickname is one line on screen; a line break must not reach an email header.
    subject = "ReconPro registration code for " + " ".join(device.nickname.split())
    # Templates show times in the active time zone: the company's, here.
    with timezone.override(zone):
        text = render_to_string("notifications/registration_code_email.txt", context)
        html = render_to_string("notifications/registration_code_email.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[email.recipient]
    )
    message.attach_alternative(html, "text/html")
    return message


def _record(email: OutboxEmail, **changes: object) -> None:
    with transaction.atomic(), scopes_disabled():
        OutboxEmail.objects.filter(pk=email.pk).update(**changes)


def _send_one(email: OutboxEmail, *, now: datetime.datetime, run: OutboxRun) -> None:
    with scopes_disabled():
        registration_code = RegistrationCode.objects.select_related("device__company").get(
            pk=email.registration_code_id
        )
    code = code_unseal(registration_code.sealed_code) if code_is_live(registration_code, now=now) else None
    if code is None:
        _record(email, state=EmailState.OBSOLETE, next_attempt_at=now)
        logger.info("outbox: email %s not sent: its registration code is no longer valid", email.pk)
        run.obsolete += 1
        return
    company = registration_code.device.company
    try:
        message = _render(email, code, registration_code)
        mailers.default.send_messages([message])
    except Exception as exc:  # noqa: BLE001 - any failure of the mailer is retried
        error = _scrub(f"{type(exc).__name__}: {exc}", code)[:300]
        gave_up = email.attempts >= MAX_ATTEMPTS
        retry_at = timezone.now() + retry_delay(email.attempts)
        logger.warning(
            "outbox: email %s to %s failed (attempt %s of %s): %s",
            email.pk,
            email.recipient,
            email.attempts,
            MAX_ATTEMPTS,
            error,
        )
        with company_scope(company), transaction.atomic():
            _record(
                email,
                state=EmailState.FAILED if gave_up else EmailState.QUEUED,
                last_error=error,
                next_attempt_at=retry_at,
            )
            audit_record(
                company=company,
                actor=None,
                action="email.failed",
                obj=email,
                summary=f"Registration email to {email.recipient} failed (attempt {email.attempts} of {MAX_ATTEMPTS})"
                + ("; giving up" if gave_up else f"; retry at {retry_at:%H:%M:%S} UTC"),
                data={"email_id": email.pk, "attempts": email.attempts, "error": error, "gave_up": gave_up},
            )
        if gave_up:
            run.failed += 1
        else:
            run.retrying += 1
        return
    with company_scope(company), transaction.atomic():
        _record(email, state=EmailState.SENT, sent_at=timezone.now(), last_error="")
        audit_record(
            company=company,
            actor=None,
            action="email.sent",
            obj=email,
            summary=f"Registration email for {registration_code.device.nickname} sent to {email.recipient}",
            data={"email_id": email.pk, "device_id": registration_code.device_id, "attempts": email.attempts},
        )
    logger.info("outbox: email %s to %s sent", email.pk, email.recipient)
    run.sent += 1


def outbox_send_due(*, limit: int = 100) -> OutboxRun:
    """
    Send up to ``limit`` due emails of every company, one at a time, and
    return what happened. Emails whose code was used, replaced or has expired
    become obsolete instead of being sent.
    """
    run = OutboxRun()
    while run.total < limit:
        now = timezone.now()
        email = _claim_next(now=now)
        if email is None:
            break
        _send_one(email, now=now, run=run)
    return run


@transaction.atomic
def outbox_email_resend(*, email: OutboxEmail, acting_user: User) -> OutboxEmail:
    """
    Queue ``email`` to be sent again at once, with a fresh retry budget.
    Refused when its code can no longer be used: Replace issues a new one.
    """
    if not acting_user.can_write:
        raise PermissionDenied("Your role does not allow this action.")
    email = OutboxEmail.objects.select_for_update().select_related("registration_code__device").get(pk=email.pk)
    device = email.registration_code.device
    if acting_user.is_team_administrator and device.team_id != acting_user.team_id:
        raise PermissionDenied("Team Administrators act only on their own team's devices.")
    if not code_is_live(email.registration_code, now=timezone.now()):
        raise ValidationError("This code can no longer be used; use Replace to send a new one.")
    email.state = EmailState.QUEUED
    email.attempts = 0
    email.last_error = ""
    email.sent_at = None
    email.next_attempt_at = timezone.now()
    email.save(update_fields=["state", "attempts", "last_error", "sent_at", "next_attempt_at"])
    audit_record(
        company=email.company,
        actor=acting_user,
        action="email.resent",
        obj=email,
        summary=f"Registration email for {device.nickname} queued again for {email.recipient}",
        data={"email_id": email.pk, "device_id": device.pk},
    )
    return email
