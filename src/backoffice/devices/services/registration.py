"""
Writes on registration codes made in the Back Office: issue, replace,
revoke, cancel, the registration emails, the wiping of expired display
copies and the release of licenses held by expired codes. Redemption, by
the device, is ``redemption``.

A plain registration code exists only in memory while it is issued or
redeemed: the database keeps its keyed digest and an encrypted display copy,
and no audit event, log line or exception message ever carries it
(DESIGN §3). Every function is atomic and takes the acting party.
"""

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import ngettext

from backoffice.audit.services import audit_record
from backoffice.core.ratelimit import Limit, ratelimit_refund, ratelimit_reserve
from backoffice.devices.codes import (
    code_digest,
    code_format,
    code_generate,
    code_seal,
    code_unseal,
)
from backoffice.devices.models import Device, RegistrationCode, expired_code_release_due
from backoffice.licensing.models import License
from backoffice.notifications.models import OutboxEmail
from backoffice.notifications.services import (
    RenderedEmail,
    outbox_batch_email_queue,
    outbox_email_obsolete,
    outbox_email_queue,
    outbox_email_requeue,
)
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.permissions import HOUSEKEEPING, Actor, require_team_writer
from backoffice.tenancy.scoping import company_scope, scopes_disabled

DEFAULT_CODE_LIFETIME = datetime.timedelta(minutes=15)
MAX_CODE_LIFETIME = datetime.timedelta(days=7)
# The Expires In choices of the Device dialog.
CODE_LIFETIMES: tuple[tuple[datetime.timedelta, str], ...] = (
    (datetime.timedelta(minutes=15), "15 minutes"),
    (datetime.timedelta(minutes=30), "30 minutes"),
    (datetime.timedelta(hours=1), "1 hour"),
    (datetime.timedelta(hours=4), "4 hours"),
    (datetime.timedelta(days=1), "1 day"),
    (datetime.timedelta(days=3), "3 days"),
    (datetime.timedelta(days=7), "7 days"),
)


# Resends are counted in windows of an hour (RESEND_PER_*_PER_HOUR).
RESEND_WINDOW_SECONDS = 3600


class RegistrationCodeLimitReached(ValidationError):
    """
    Raised when a code would exceed its company's cap: a company's live codes
    are at most its licenses (one open code per device, one device per
    license), so a device without a license gets no code.
    """


def _digest_exists(digest: str) -> bool:
    with scopes_disabled():
        return RegistrationCode.objects.filter(digest=digest).exists()


def _registration_code_issue(
    *, device: Device, acting_user: Actor, expires_in: datetime.timedelta, batch_id: uuid.UUID | None = None
) -> RegistrationCode:
    """
    Issue a code for ``device`` and queue an email to each of its recipients;
    part of ``device_add`` and ``registration_code_replace``, which check the
    acting user and lock the device first (``batch_id``: the event's batch).

    The device must have no open code (the database refuses a second one)
    and must hold a license (``RegistrationCodeLimitReached`` otherwise):
    with one device per license, a company's live codes never outnumber its
    licenses. That is the only cap, and it is the company's own: nothing here
    counts or locks across companies, so one company's rollout never stops
    another adding devices. The guessing budget of the device API is derived
    from the code space for the service's licenses (docs/security.md).
    Only the HMAC digest and an encrypted display copy are stored.
    """
    if not datetime.timedelta(minutes=1) <= expires_in <= MAX_CODE_LIFETIME:
        raise ValidationError({"expires_in": "Pick one of the offered expiry periods."})
    if device.license_id is None:
        raise RegistrationCodeLimitReached(
            "A registration code needs a license: give the device a license first (a company has at most one "
            "code waiting per license)."
        )
    now = timezone.now()
    for _ in range(5):
        code = code_generate()
        digest = code_digest(code)
        if not _digest_exists(digest):
            break
    registration_code = RegistrationCode.objects.create(
        company=device.company,
        device=device,
        digest=digest,
        sealed_code=code_seal(code),
        expires_at=now + expires_in,
        created_by=acting_user if isinstance(acting_user, User) and acting_user.pk else None,
    )
    outbox_email_queue(
        company=device.company, registration_code_id=registration_code.pk, recipients=device.recipients, now=now
    )
    audit_record(
        company=device.company,
        actor=acting_user,
        action="registration_code.issued",
        obj=device,
        summary=f"Registration code issued for {device.nickname}",
        data={
            "device_id": device.pk,
            "registration_code_id": registration_code.pk,
            "expires_at": registration_code.expires_at.isoformat(),
            "emails": len(device.recipients),
        },
        batch_id=batch_id,
    )
    return registration_code


def registration_codes_issue_batch(
    *,
    devices: Sequence[Device],
    acting_user: Actor,
    expires_in: datetime.timedelta,
    batch_id: uuid.UUID,
    recipients: Sequence[str],
    now: datetime.datetime,
) -> list[RegistrationCode]:
    """
    Issue one code per device of a batch just added (part of
    ``devices_add_batch``, which checks the acting user and holds the
    licenses' locks), all sharing ``batch_id``, and queue ONE email per
    recipient listing every code of the batch. Two queries for the codes
    whatever their number: the digests are checked against the stored ones
    at once, and the few that collide are drawn again.
    """
    if not datetime.timedelta(minutes=1) <= expires_in <= MAX_CODE_LIFETIME:
        raise ValidationError({"expires_in": "Pick one of the offered expiry periods."})
    if any(device.license_id is None for device in devices):
        raise RegistrationCodeLimitReached("A registration code needs a license: give every device a license first.")
    codes: dict[str, str] = {}
    for _ in range(5):
        while len(codes) < len(devices):
            code = code_generate()
            codes.setdefault(code_digest(code), code)
        with scopes_disabled():
            taken = set(RegistrationCode.objects.filter(digest__in=list(codes)).values_list("digest", flat=True))
        if not taken:
            break
        for digest in taken:
            del codes[digest]
    created_by = acting_user if isinstance(acting_user, User) and acting_user.pk else None
    registration_codes = RegistrationCode.objects.bulk_create(
        RegistrationCode(
            company_id=device.company_id,
            device=device,
            digest=digest,
            sealed_code=code_seal(code),
            expires_at=now + expires_in,
            created_by=created_by,
            batch_id=batch_id,
        )
        for device, (digest, code) in zip(devices, codes.items(), strict=True)
    )
    if recipients and devices:
        outbox_batch_email_queue(company=devices[0].company, batch_id=batch_id, recipients=recipients, now=now)
    return registration_codes


def revoke_open_codes(*, device: Device, now: datetime.datetime) -> list[int]:
    """Revoke the device's open code at once, wipe its copy and drop its unsent emails; part of other services."""
    open_codes = list(RegistrationCode.objects.open().filter(device_id=device.pk).values_list("pk", flat=True))
    if open_codes:
        RegistrationCode.objects.filter(pk__in=open_codes).update(revoked_at=now, sealed_code=None)
        outbox_email_obsolete(registration_code_ids=open_codes)
    return open_codes


def _lifetime_of_last_code(device: Device) -> datetime.timedelta:
    """The offered lifetime nearest to the one chosen for the device's latest code."""
    last = device.codes.order_by("-created_at", "-pk").first()
    if last is None:
        return DEFAULT_CODE_LIFETIME
    lifetime = last.expires_at - last.created_at
    return min((choice for choice, _label in CODE_LIFETIMES), key=lambda choice: abs(choice - lifetime))


def _lock_device(device: Device, *, gone: str) -> Device:
    """
    Lock the device's row (the first lock of every write on a device); ``gone``
    is the error if it was deleted. The row is locked alone, then read with
    its team: locking with a join, PostgreSQL re-checks a row that a
    concurrent write changed (a move to another team) against the joined team
    row of its own snapshot, finds no match and returns nothing, as if the
    device had been deleted.
    """
    if not Device.objects.select_for_update().filter(pk=device.pk).values_list("pk", flat=True).first():
        raise ValidationError(gone)
    locked = Device.objects.select_related("team").filter(pk=device.pk).first()
    if locked is None:  # pragma: no cover - the row is locked by this transaction
        raise ValidationError(gone)
    return locked


@transaction.atomic
def registration_code_replace(
    *, device: Device, acting_user: User, expires_in: datetime.timedelta | None = None
) -> RegistrationCode:
    """
    Revoke the device's open code at once and issue a fresh one, emailed to
    the same recipients again.

    Works on pending and on registered devices: a registered device's new
    code is redeemed by a new or reset phone, which the device API handles.
    ``expires_in`` defaults to the lifetime chosen for the previous code.
    """
    require_team_writer(acting_user, team_id=device.team_id)
    device = _lock_device(device, gone="This registration was cancelled meanwhile.")
    if device.license_id is None and not device.is_registered:
        raise RegistrationCodeLimitReached(license_released_message(device))
    if expires_in is None:
        expires_in = _lifetime_of_last_code(device)
    revoked = revoke_open_codes(device=device, now=timezone.now())
    registration_code = _registration_code_issue(device=device, acting_user=acting_user, expires_in=expires_in)
    audit_record(
        company=device.company,
        actor=acting_user,
        action="registration_code.replaced",
        obj=device,
        summary=f"Registration code replaced for {device.nickname}",
        data={"device_id": device.pk, "revoked_code_ids": revoked, "registration_code_id": registration_code.pk},
    )
    return registration_code


@transaction.atomic
def registration_code_revoke(*, device: Device, acting_user: User) -> None:
    """
    Revoke a registered device's open replacement code; the device keeps
    working with its current credential.
    """
    require_team_writer(acting_user, team_id=device.team_id)
    device = _lock_device(device, gone="This device was deleted meanwhile.")
    revoked = revoke_open_codes(device=device, now=timezone.now())
    if not revoked:
        raise ValidationError("This device has no registration code to cancel.")
    audit_record(
        company=device.company,
        actor=acting_user,
        action="registration_code.revoked",
        obj=device,
        summary=f"Replacement code for {device.nickname} cancelled",
        data={"device_id": device.pk, "revoked_code_ids": revoked},
    )


@transaction.atomic
def device_cancel(*, device: Device, acting_user: User) -> None:
    """
    Cancel a pending registration: delete the device, which frees its license
    and deletes its codes (so none can be redeemed) and their queued emails.
    A device that registered meanwhile is refused.
    """
    require_team_writer(acting_user, team_id=device.team_id)
    locked = _lock_device(device, gone="This registration was already cancelled.")
    if locked.is_registered:
        raise ValidationError(f"{locked.nickname} has just been registered; it can no longer be cancelled.")
    license_number = locked.license.number if locked.license else ""
    audit_record(
        company=locked.company,
        actor=acting_user,
        action="device.cancelled",
        obj=locked,
        summary=f"Pending device {locked.nickname} cancelled"
        + (f"; license {license_number} is free again" if license_number else ""),
        data={"device_id": locked.pk, "license": license_number},
    )
    locked.delete()


@transaction.atomic
def registration_code_wipe_expired(*, now: datetime.datetime | None = None) -> int:
    """
    Wipe the display copies of expired codes in every company, so that a
    database dump reveals none (DESIGN §3). Returns how many were wiped. Run
    by the outbox worker after every pass, as ``HOUSEKEEPING``.
    """
    now = now or timezone.now()
    with scopes_disabled():
        return RegistrationCode.objects.filter(expires_at__lte=now, sealed_code__isnull=False).update(sealed_code=None)


def license_released_message(device: Device) -> str:
    """What Replace says for a never-registered device whose license was released after its code expired."""
    return (
        f"{device.nickname} has no license: its registration code expired and the license was released. "
        "Pick a license in Edit, then click Replace."
    )


def _release_candidates(now: datetime.datetime) -> list[tuple[int, int]]:
    """
    ``(company id, device id)`` of never-registered devices holding a license
    whose open code's release time has come, in every company.
    """
    with scopes_disabled():
        rows = (
            RegistrationCode.objects.open()
            .filter(expires_at__lte=now, device__registered_at__isnull=True, device__license__isnull=False)
            .values_list("company_id", "device_id", "expires_at", "device__company__expired_code_grace_days")
            .order_by("expires_at", "device_id")
        )
        return [
            (company_id, device_id)
            for company_id, device_id, expires_at, grace_days in rows
            if expired_code_release_due(expires_at=expires_at, grace_days=grace_days) <= now
        ]


def _license_release_one(*, device_id: int, now: datetime.datetime) -> bool:
    """
    In the device's company scope:
    release the license of one never-registered device whose code expired
    longer ago than its company's grace period; False when a concurrent
    Replace, Cancel, Edit or redemption made that no longer true. Takes the
    locks in the order of every write on a device: device, license, codes.
    """
    with transaction.atomic():
        device = (
            Device.objects.select_for_update(of=("self",))
            .select_related("company", "license")
            .filter(pk=device_id)
            .first()
        )
        if device is None or device.is_registered or device.license_id is None:
            return False
        license = License.objects.select_for_update().filter(pk=device.license_id).first()
        codes = list(RegistrationCode.objects.open().select_for_update().filter(device_id=device.pk))
        grace_days = device.company.expired_code_grace_days
        if not codes or any(
            expired_code_release_due(expires_at=code.expires_at, grace_days=grace_days) > now for code in codes
        ):
            return False
        number = license.number if license else ""
        Device.objects.filter(pk=device.pk).update(license=None, changed_at=max(now, device.changed_at))
        audit_record(
            company=device.company,
            actor=HOUSEKEEPING,
            action="device.license_released",
            obj=device,
            summary=f"License {number} of {device.nickname} released: its registration code expired "
            + (
                ngettext("%(days)d day before", "%(days)d days before", grace_days) % {"days": grace_days}
                if grace_days
                else "and the company keeps no grace period"
            ),
            data={
                "device_id": device.pk,
                "license": number,
                "license_type": license.license_type if license else "",
                "registration_code_ids": [code.pk for code in codes],
                "code_expired_at": max(code.expires_at for code in codes).isoformat(),
                "grace_days": grace_days,
            },
        )
        return True


def registration_license_release_expired(*, now: datetime.datetime | None = None) -> int:
    """
    Release the licenses of never-registered devices whose registration code
    expired longer ago than their company's ``expired_code_grace_days``, in
    every company, as ``HOUSEKEEPING``; returns how many were released. The
    device keeps its pending row (Expired, no license) so that the
    administrator sees what happened; Replace then asks for a license in
    Edit. Each release is its own transaction, safe against a concurrent
    Replace, Cancel, Edit or redemption (each re-checks under the locks).
    """
    now = now or timezone.now()
    candidates = _release_candidates(now)
    companies = Company.objects.in_bulk({company_id for company_id, _device_id in candidates})
    released = 0
    for company_id, device_id in candidates:
        with company_scope(companies[company_id]):
            released += _license_release_one(device_id=device_id, now=now)
    return released


def registration_housekeeping() -> str:
    """The outbox worker's housekeeping task for registration codes, with what it did."""
    wiped = registration_code_wipe_expired()
    released = registration_license_release_expired()
    return (
        f"{HOUSEKEEPING}: "
        + ngettext("wiped %(n)d expired code copy", "wiped %(n)d expired code copies", wiped) % {"n": wiped}
        + ", "
        + ngettext("released %(n)d license of expired codes", "released %(n)d licenses of expired codes", released)
        % {"n": released}
    )


@transaction.atomic
def registration_email_resend(*, email: OutboxEmail, acting_user: User) -> OutboxEmail:
    """
    Queue a registration email again, to be sent at once with a fresh retry
    budget. Refused when its code can no longer be used (Replace issues a new
    one), while a worker is sending it, and beyond
    ``RESEND_PER_DEVICE_PER_HOUR`` resends of one device's emails or
    ``RESEND_PER_COMPANY_PER_HOUR`` of the company's in an hour, so that the
    Back Office cannot be used to relay company-branded email.
    """
    if email.batch_id is not None:
        return _batch_email_resend(email=email, acting_user=acting_user)
    registration_code = RegistrationCode.objects.select_related("device").get(pk=email.registration_code_id or 0)
    device = registration_code.device
    require_team_writer(acting_user, team_id=device.team_id)
    if not registration_code.is_live(timezone.now()):
        raise ValidationError("This code can no longer be used; use Replace to send a new one.")
    reservation = ratelimit_reserve(
        Limit("email-resend", f"device:{device.pk}", settings.RESEND_PER_DEVICE_PER_HOUR, RESEND_WINDOW_SECONDS),
        Limit(
            "email-resend", f"company:{device.company_id}", settings.RESEND_PER_COMPANY_PER_HOUR, RESEND_WINDOW_SECONDS
        ),
    )
    if not reservation.allowed:
        minutes = max(1, round(reservation.retry_after_seconds / 60))
        raise ValidationError(
            f"Too many resends for {device.nickname} or your company in the last hour; "
            + ngettext("try again in %(n)d minute", "try again in %(n)d minutes", minutes) % {"n": minutes}
            + ", or use Replace."
        )
    try:
        return outbox_email_requeue(
            email=email,
            acting_user=acting_user,
            label=f"Registration email for {device.nickname}",
            audit_data={"device_id": device.pk, "team_id": device.team_id},
        )
    except ValidationError:
        ratelimit_refund(reservation)
        raise


def _batch_email_resend(*, email: OutboxEmail, acting_user: User) -> OutboxEmail:
    """
    Resend a batch's email: checked against every device of the batch (a Team
    Administrator's batch is of their own team), refused once no code of the
    batch can be used, and counted against the company's resends.
    """
    codes = list(RegistrationCode.objects.select_related("device").filter(batch_id=email.batch_id))
    for team_id in {code.device.team_id for code in codes}:
        require_team_writer(acting_user, team_id=team_id)
    now = timezone.now()
    if not any(code.is_live(now) for code in codes):
        raise ValidationError("No code of this batch can be used any more; use Replace to send new ones.")
    company_id = acting_user.company_id
    reservation = ratelimit_reserve(
        Limit("email-resend", f"company:{company_id}", settings.RESEND_PER_COMPANY_PER_HOUR, RESEND_WINDOW_SECONDS),
    )
    if not reservation.allowed:
        minutes = max(1, round(reservation.retry_after_seconds / 60))
        raise ValidationError(
            "Too many resends for your company in the last hour; "
            + ngettext("try again in %(n)d minute", "try again in %(n)d minutes", minutes) % {"n": minutes}
            + "."
        )
    try:
        return outbox_email_requeue(
            email=email,
            acting_user=acting_user,
            label=f"Registration email for a batch of {len(codes)} devices",
            audit_data={"team_id": codes[0].device.team_id if codes else None, "batch_id": str(email.batch_id)},
        )
    except ValidationError:
        ratelimit_refund(reservation)
        raise


def _one_line(text: str) -> str:
    """A name on one line: a line break must reach neither a header nor a line of its own in a body."""
    return " ".join(text.split())


@dataclass(frozen=True)
class _BatchLine:
    """One code of a batch's email: its device's name and team, the code (formatted and plain), its expiry."""

    nickname: str
    team: str
    code: str
    plain: str
    expires_at: datetime.datetime


def _batch_email_render(email: OutboxEmail, now: datetime.datetime) -> RenderedEmail | None:
    """
    A batch's email to one recipient: every code of the batch still usable
    now whose device still names the recipient, one line each; None (the
    email becomes obsolete) when none is.
    """
    codes = (
        RegistrationCode.objects.select_related("device__company", "device__team")
        .filter(batch_id=email.batch_id)
        .order_by("device__nickname", "pk")
    )
    recipient = email.recipient.lower()
    entries = []
    for registration_code in codes:
        device = registration_code.device
        if recipient not in {address.lower() for address in device.recipients}:
            continue
        code = code_unseal(registration_code.sealed_code) if registration_code.is_live(now) else None
        if code is None:
            continue
        entries.append(
            _BatchLine(
                nickname=_one_line(device.nickname),
                team=_one_line(device.team.name),
                code=code_format(code),
                plain=code,
                expires_at=registration_code.expires_at,
            )
        )
    if not entries:
        return None
    company = codes[0].device.company
    zone = company.zone
    context = {
        "entries": entries,
        "company_name": _one_line(company.name),
        "expires_at": min(entry.expires_at for entry in entries),
        "time_zone": zone.key,
    }
    count = len(entries)
    subject = ngettext(
        "ReconPro registration code for %(n)d device", "ReconPro registration codes for %(n)d devices", count
    ) % {"n": count}
    with timezone.override(zone):
        text = render_to_string("devices/registration_batch_email.txt", context)
        html = render_to_string("devices/registration_batch_email.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[email.recipient]
    )
    message.attach_alternative(html, "text/html")
    secrets = tuple(
        secret for entry in entries for secret in (entry.plain, entry.code, entry.plain.lower(), entry.code.lower())
    )
    return RenderedEmail(
        message=message,
        label=ngettext("Registration email for %(n)d device", "Registration email for %(n)d devices", count)
        % {"n": count},
        audit_data={"team_id": codes[0].device.team_id, "batch_id": str(email.batch_id), "codes": count},
        secrets=secrets,
    )


def registration_email_render(email: OutboxEmail, now: datetime.datetime) -> RenderedEmail | None:
    """
    Render a queued registration email from its code's encrypted copy (the
    outbox's renderer, registered by this app); None when the code can no
    longer be used, so the email becomes obsolete. Runs with scopes disabled.
    A batch's email lists every code of the batch still usable.
    """
    if email.batch_id is not None:
        return _batch_email_render(email, now)
    registration_code = RegistrationCode.objects.select_related("device__company").get(
        pk=email.registration_code_id or 0
    )
    code = code_unseal(registration_code.sealed_code) if registration_code.is_live(now) else None
    if code is None:
        return None
    device = registration_code.device
    company = device.company
    zone = company.zone
    # Names are one line on screen: a line break must reach neither a header
    # nor a line of its own in the body (where it could pass for a header).
    nickname = " ".join(device.nickname.split())
    context = {
        "code": code_format(code),
        "nickname": nickname,
        "company_name": " ".join(company.name.split()),
        "device": device,
        "company": company,
        "expires_at": registration_code.expires_at,
        "time_zone": zone.key,
    }
    subject = "ReconPro registration code for " + nickname
    # Templates show times in the active time zone: the company's, here.
    with timezone.override(zone):
        text = render_to_string("devices/registration_code_email.txt", context)
        html = render_to_string("devices/registration_code_email.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[email.recipient]
    )
    message.attach_alternative(html, "text/html")
    formatted = code_format(code)
    return RenderedEmail(
        message=message,
        label=f"Registration email for {device.nickname}",
        audit_data={"device_id": device.pk, "team_id": device.team_id},
        secrets=(code, formatted, code.lower(), formatted.lower()),
    )
