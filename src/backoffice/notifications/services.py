"""
The outbox: queued emails, the worker that sends them, and the writes on them.

Emails are written to the outbox in the same transaction as what they
announce, then sent here. Sending is at least once with no double send in
normal operation: a worker claims a due email in a short transaction
(PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite: the IMMEDIATE
transaction serialises workers) by moving its next attempt past the send
timeout, sends with no transaction or lock held, then records the outcome.
Only a crash between the SMTP hand-over and that record can repeat an email,
after the claim lapses.

This app sits below the apps whose emails it sends, so it does not know what
an email says: each app that owns what emails announce registers a renderer
for them (``outbox_renderer_register``: devices for registration codes and
batches, invitations for invitations); the worker picks the renderer by what
the email is about. The renderer builds the message at send time, or answers
None when what it announces no longer holds. Bodies are
never stored; log lines and ``last_error`` are scrubbed of the secrets the
renderer names.
"""

import datetime
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import connection, models, transaction
from django.utils import timezone

from backoffice.audit.services import audit_record
from backoffice.notifications.choices import EmailState
from backoffice.notifications.models import OutboxEmail
from backoffice.tenancy.models import Company
from backoffice.tenancy.permissions import OUTBOX_WORKER, Actor
from backoffice.tenancy.scoping import company_scope, scopes_disabled

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


@dataclass(frozen=True)
class RenderedEmail:
    """
    A message ready to send, with what the audit trail says about it:
    ``label`` names what it announces ("Registration email for Van 3"),
    ``audit_data`` adds ids to its events, and ``secrets`` are the strings
    (a registration code, in every form it is written) that must never reach
    a log line or ``last_error``.
    """

    message: EmailMultiAlternatives
    label: str
    audit_data: dict[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()


Renderer = Callable[[OutboxEmail, datetime.datetime], RenderedEmail | None]
# What an email can be about: the field of ``OutboxEmail`` that names it
# (the table's check constraint lets exactly one of them be set).
ABOUT_FIELDS = ("registration_code", "batch_id", "invitation")
_renderers: dict[str, Renderer] = {}
WorkerTask = Callable[[], object]
_worker_tasks: list[WorkerTask] = []


def outbox_renderer_register(renderer: Renderer, *, about: Iterable[str]) -> None:
    """
    Set how the queued emails about ``about`` (fields of ``ABOUT_FIELDS``)
    are rendered; called from the owning app's ``AppConfig.ready``, once per
    app, each for what it announces (registering again replaces). The
    renderer gets the email and the time of the attempt and returns the
    message, or None to make the email obsolete.
    """
    for name in about:
        if name not in ABOUT_FIELDS:
            raise ValueError(f"An outbox email cannot be about {name!r}; choose from {', '.join(ABOUT_FIELDS)}.")
        _renderers[name] = renderer


def _about(email: OutboxEmail) -> str:
    """The field that names what ``email`` is about."""
    for name in ABOUT_FIELDS:
        if getattr(email, name if name == "batch_id" else f"{name}_id") is not None:
            return name
    raise ValueError(f"Outbox email {email.pk} is about nothing.")


def worker_task_register(task: WorkerTask) -> None:
    """Add a housekeeping task that ``send_outbox`` runs after every pass (idempotent)."""
    if task not in _worker_tasks:
        _worker_tasks.append(task)


def worker_tasks_run() -> list[object]:
    """Run every registered housekeeping task once; return their results in order."""
    return [task() for task in _worker_tasks]


@transaction.atomic
def outbox_email_queue(
    *, company: Company, registration_code_id: int, recipients: Iterable[str], now: datetime.datetime
) -> list[OutboxEmail]:
    """Queue one email per recipient for what ``registration_code_id`` announces, due at once."""
    return OutboxEmail.objects.bulk_create(
        OutboxEmail(company=company, registration_code_id=registration_code_id, recipient=address, next_attempt_at=now)
        for address in recipients
    )


@transaction.atomic
def outbox_batch_email_queue(
    *, company: Company, batch_id: uuid.UUID, recipients: Iterable[str], now: datetime.datetime
) -> list[OutboxEmail]:
    """
    Queue one email per recipient about every code of the batch ``batch_id``
    (devices added together), due at once: a recipient gets one email listing
    all their codes, not one email per device.
    """
    return OutboxEmail.objects.bulk_create(
        OutboxEmail(company=company, batch_id=batch_id, recipient=address, next_attempt_at=now)
        for address in recipients
    )


@transaction.atomic
def outbox_invitation_email_queue(
    *, company: Company, invitation_id: int, recipient: str, now: datetime.datetime
) -> OutboxEmail:
    """Queue the email of the invitation ``invitation_id`` to ``recipient``, due at once."""
    return OutboxEmail.objects.create(
        company=company, invitation_id=invitation_id, recipient=recipient, next_attempt_at=now
    )


def outbox_email_obsolete(*, registration_code_ids: Iterable[int] = (), invitation_ids: Iterable[int] = ()) -> int:
    """
    Stop the queued emails about these codes or invitations from being sent
    (what they announce no longer holds, or a newer email replaces them);
    return how many.
    """
    return OutboxEmail.objects.filter(
        models.Q(registration_code_id__in=list(registration_code_ids))
        | models.Q(invitation_id__in=list(invitation_ids)),
        state=EmailState.QUEUED,
    ).update(state=EmailState.OBSOLETE)


@transaction.atomic
def outbox_email_requeue(
    *, email: OutboxEmail, acting_user: Actor, label: str, audit_data: dict[str, Any] | None = None
) -> OutboxEmail:
    """
    Queue ``email`` to be sent again at once, with a fresh retry budget. The
    caller has checked that the acting user may and that what it announces
    still holds; ``label`` names it for the audit trail. Refused with a
    ``ValidationError`` while a worker is sending it, so that one click never
    produces two emails.
    """
    email = OutboxEmail.objects.select_for_update().get(pk=email.pk)
    if email.state == EmailState.SENDING and email.next_attempt_at > timezone.now():
        # A worker holds it: queueing it again now would send it twice.
        raise ValidationError(
            f"The email to {email.recipient} is being sent right now; resend it later if it does not arrive."
        )
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
        summary=f"{label} queued again for {email.recipient}",
        data={"email_id": email.pk, **(audit_data or {})},
        **_filed_under(audit_data),
    )
    return email


def _filed_under(audit_data: dict[str, Any] | None) -> dict[str, Any]:
    """The device and team an email's events are filed under, as the owning app named them."""
    data = audit_data or {}
    batch_id = data.get("batch_id")
    return {
        "device_id": data.get("device_id"),
        "team_id": data.get("team_id"),
        "batch_id": uuid.UUID(str(batch_id)) if batch_id else None,
    }


def _claim_next(*, now: datetime.datetime) -> OutboxEmail | None:
    """
    Claim one due email: mark it ``SENDING``, count the attempt and push
    ``next_attempt_at`` past the lease, so that no other worker takes it and
    Resend leaves it alone while it is being sent. An email still marked
    ``SENDING`` after its lease (its worker died mid-send) is due again.
    """
    with transaction.atomic(), scopes_disabled():
        due = OutboxEmail.objects.filter(
            state__in=(EmailState.QUEUED, EmailState.SENDING), next_attempt_at__lte=now
        ).order_by("next_attempt_at", "pk")
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        email = due.first()
        if email is None:
            return None
        email.state = EmailState.SENDING
        email.attempts += 1
        email.next_attempt_at = now + CLAIM_LEASE
        email.save(update_fields=["state", "attempts", "next_attempt_at"])
    return email


def _scrub(message: str, secrets: Iterable[str]) -> str:
    """Remove every secret from an error message before it is stored or logged."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "[secret]")
    return message


def _record(email: OutboxEmail, **changes: object) -> None:
    with transaction.atomic(), scopes_disabled():
        OutboxEmail.objects.filter(pk=email.pk).update(**changes)


def _send_one(email: OutboxEmail, *, now: datetime.datetime, run: OutboxRun) -> None:
    with scopes_disabled():
        company = Company.objects.get(pk=email.company_id)
        renderer = _renderers.get(_about(email))
        rendered = renderer(email, now) if renderer is not None else None
    if rendered is None:
        _record(email, state=EmailState.OBSOLETE, next_attempt_at=now)
        logger.info("outbox: email %s not sent: what it announces no longer holds", email.pk)
        run.obsolete += 1
        return
    try:
        mailers.default.send_messages([rendered.message])
    except Exception as exc:  # noqa: BLE001 - any failure of the mailer is retried
        error = _scrub(f"{type(exc).__name__}: {exc}", rendered.secrets)[:300]
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
                actor=OUTBOX_WORKER,
                action="email.failed",
                obj=email,
                summary=f"{rendered.label} to {email.recipient} failed (attempt {email.attempts} of {MAX_ATTEMPTS})"
                + ("; giving up" if gave_up else f"; retry at {retry_at:%H:%M:%S} UTC"),
                data={
                    "email_id": email.pk,
                    **rendered.audit_data,
                    "attempts": email.attempts,
                    "error": error,
                    "gave_up": gave_up,
                },
                **_filed_under(rendered.audit_data),
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
            actor=OUTBOX_WORKER,
            action="email.sent",
            obj=email,
            summary=f"{rendered.label} sent to {email.recipient}",
            data={"email_id": email.pk, **rendered.audit_data, "attempts": email.attempts},
            **_filed_under(rendered.audit_data),
        )
    logger.info("outbox: email %s to %s sent", email.pk, email.recipient)
    run.sent += 1


def outbox_send_due(*, limit: int = 100) -> OutboxRun:
    """
    Send up to ``limit`` due emails of every company, one at a time, and
    return what happened. Emails whose renderer answers None (for a
    registration email: its code was used, replaced or has expired) become
    obsolete instead of being sent.
    """
    run = OutboxRun()
    while run.total < limit:
        now = timezone.now()
        email = _claim_next(now=now)
        if email is None:
            break
        _send_one(email, now=now, run=run)
    return run
