"""Reads of the Pending Registrations section and of registration emails."""

import datetime
import hashlib
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, FilteredRelation, Prefetch, Q
from django.http import Http404
from django.utils import timezone
from django.utils.timesince import timeuntil

from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode, expired_code_release_due
from backoffice.devices.selectors.active_devices import device_visible_queryset
from backoffice.licensing.selectors import LicenseCounts, license_counts
from backoffice.notifications.models import OutboxEmail
from backoffice.tenancy.models import User


@dataclass(frozen=True)
class PendingRegistration:
    """
    One row of the Pending Registrations section: a pending device, or a
    registered one with a live replacement code. ``code`` is the formatted
    code while it can be used, None once it has expired (or its copy is gone).

    For a never-registered device whose code has expired,
    ``license_release_at`` is when housekeeping releases its license (the
    code's expiry plus the company's grace days) while it still holds one;
    ``license_released`` says that it no longer holds one.
    """

    device: Device
    registration_code: RegistrationCode | None
    code: str | None
    emails: list[OutboxEmail]
    is_expired: bool
    license_release_at: datetime.datetime | None = None
    license_release_due: bool = False

    @property
    def is_replacement(self) -> bool:
        return self.device.is_registered

    @property
    def expired_at(self) -> datetime.datetime | None:
        """When the row's code expired; None while it can be used."""
        return self.registration_code.expires_at if self.is_expired and self.registration_code else None

    @property
    def license_released(self) -> bool:
        """A never-registered device without a license: housekeeping released it after its code expired."""
        return not self.is_replacement and self.device.license_id is None


def pending_registration_list(*, user: User, now: datetime.datetime | None = None) -> list[PendingRegistration]:
    """
    Pending devices and registered devices with a live replacement code,
    oldest first, each with its live code and that code's emails, and for an
    expired code of a never-registered device when its license is released
    (the company's ``expired_code_grace_days`` after the expiry). Three
    queries whatever the number of rows.
    """
    now = now or timezone.now()
    grace_days = user.company.expired_code_grace_days if user.company else 0
    queryset = (
        device_visible_queryset(user=user)
        # Two index lookups (pending devices; devices of open codes) rather
        # than a test of every device of the fleet.
        .filter(
            pk__in=device_visible_queryset(user=user)
            .filter(registered_at__isnull=True)
            .values("pk")
            .union(RegistrationCode.objects.open().values("device_id"))
        )
        .select_related("team", "license")
        .prefetch_related(
            Prefetch(
                "codes",
                queryset=RegistrationCode.objects.open().prefetch_related(
                    Prefetch("emails", queryset=OutboxEmail.objects.order_by("pk"), to_attr="email_list")
                ),
                to_attr="live_codes",
            )
        )
        .order_by("created_at", "pk")
    )
    devices = list(queryset)
    # A batch's emails (one per recipient for every code of the batch) are
    # shown on each of its rows: one query for all of them.
    batch_ids = {code.batch_id for device in devices for code in device.live_codes if code.batch_id}  # type: ignore[attr-defined]
    batch_emails: dict[object, list[OutboxEmail]] = {}
    if batch_ids:
        for email in OutboxEmail.objects.filter(batch_id__in=batch_ids).order_by("pk"):
            batch_emails.setdefault(email.batch_id, []).append(email)
    rows = []
    for device in devices:
        live = device.live_codes[0] if device.live_codes else None  # type: ignore[attr-defined]
        code = None
        is_expired = live is not None and not live.is_live(now)
        if live is not None and not is_expired:
            plain = code_unseal(live.sealed_code)
            code = code_format(plain) if plain else None
        release_at = None
        if live is not None and is_expired and not device.is_registered and device.license_id is not None:
            release_at = expired_code_release_due(expires_at=live.expires_at, grace_days=grace_days)
        rows.append(
            PendingRegistration(
                device=device,
                registration_code=live,
                code=code,
                emails=(
                    [*live.email_list, *batch_emails.get(live.batch_id, [])]  # type: ignore[attr-defined]
                    if live is not None
                    else []
                ),
                is_expired=is_expired,
                license_release_at=release_at,
                license_release_due=release_at is not None and release_at <= now,
            )
        )
    return rows


@dataclass(frozen=True)
class PendingFingerprint:
    """What ``pending_registration_fingerprint`` read: the digest, and the license counts it covers."""

    digest: str
    counts: LicenseCounts


_FINGERPRINT_COLUMNS = (
    "pk",
    "nickname",
    "changed_at",
    "registered_at",
    "team__name",
    "license_id",
    "license__number",
    "license__license_type",
    "live__pk",
    "live__expires_at",
    "live__batch_id",
    "live_has_copy",
)


def _fingerprint_rows(*, user: User) -> list[tuple[Any, ...]]:
    """
    The rows the fingerprint reads: the pending devices ``user`` may see and
    their devices with an open code, each with that code joined. One
    statement, driven by the pending devices' and the open codes' indexes.
    """
    shown = (
        device_visible_queryset(user=user)
        .filter(registered_at__isnull=True)
        .values("pk")
        .union(RegistrationCode.objects.open().values("device_id"))
    )
    live = FilteredRelation("codes", condition=Q(codes__used_at__isnull=True, codes__revoked_at__isnull=True))
    rows = (
        device_visible_queryset(user=user)
        .filter(pk__in=shown)
        .annotate(
            live=live,
            live_has_copy=ExpressionWrapper(Q(live__sealed_code__isnull=False), output_field=BooleanField()),
        )
        .order_by("pk")
        .values_list(*_FINGERPRINT_COLUMNS)
    )
    return list(rows)


def pending_registration_fingerprint(*, user: User, now: datetime.datetime | None = None) -> PendingFingerprint:
    """
    A digest of everything the Pending Registrations section and the license
    counts beside it show to ``user`` at ``now``: it changes whenever one of
    them would render differently. The rows (each device's nickname, team,
    license and registration state, its open code's id, expiry and batch,
    whether the code's copy is there), their emails' delivery state, the
    license counts, and the parts that follow the clock: whether each code
    has expired, the minutes left of each live one (all its "… left" text is
    made of) and whether an expired code's license release is due.

    A few small statements whatever the number of rows, driven by indexes:
    the pending devices and the devices with an open code, with that code
    joined; then those codes' emails (none when no code is open); the license
    counts (the license tally's few rows, and the expired codes' holds from
    the pending devices). No code is decrypted and nothing is rendered. The
    counts come back with the digest, for the answer to show what the digest
    covers.
    """
    now = now or timezone.now()
    grace_days = user.company.expired_code_grace_days if user.company else 0
    rows = _fingerprint_rows(user=user)
    counts = license_counts(day=timezone.localdate(now))
    digest = hashlib.sha256(repr((grace_days, counts)).encode())
    code_ids, batch_ids = [], set()
    for row in rows:
        code_id, expires_at, batch_id = row[8], row[9], row[10]
        clock: object = None
        if code_id is not None:
            code_ids.append(code_id)
            if batch_id is not None:
                batch_ids.add(batch_id)
            if expires_at > now:
                # The "… left" text itself (timeuntil, as the template writes it): with days
                # left it changes once an hour, not every minute.
                clock = timeuntil(expires_at, now)
            else:
                clock = (
                    row[3] is None
                    and row[5] is not None
                    and expired_code_release_due(expires_at=expires_at, grace_days=grace_days) <= now
                )
        digest.update(repr((row[:12], clock)).encode())
    if code_ids:
        emails = (
            OutboxEmail.objects.filter(Q(registration_code_id__in=code_ids) | Q(batch_id__in=batch_ids))
            .order_by("pk")
            .values_list(
                "pk",
                "registration_code_id",
                "batch_id",
                "recipient",
                "state",
                "attempts",
                "sent_at",
                "next_attempt_at",
                "last_error",
            )
        )
        digest.update(repr(list(emails)).encode())
    return PendingFingerprint(digest=digest.hexdigest(), counts=counts)


def pending_code_for_qr(
    *, user: User, device_id: object, code_id: object = None, now: datetime.datetime | None = None
) -> tuple[str, datetime.datetime]:
    """
    The formatted live code of device ``device_id`` and when it expires, for
    its QR image: the code the Pending Registrations row shows. ``code_id``,
    when given, must be that code's id (the row's image names the code it
    was drawn for, so a replaced code's image is never served for the new
    one). Http404 alike for a missing device, another company's, another
    team's (Team Administrator), a device without a live code, a code that
    is not ``code_id`` and a code whose copy is gone.
    """
    now = now or timezone.now()
    try:
        codes = RegistrationCode.objects.live(now).filter(
            device__in=device_visible_queryset(user=user).filter(pk=int(str(device_id)))
        )
        if code_id is not None:
            codes = codes.filter(pk=int(str(code_id)))
        registration_code = codes.get()
    except (RegistrationCode.DoesNotExist, ValueError, TypeError):
        raise Http404("No such registration code") from None
    plain = code_unseal(registration_code.sealed_code)
    if not plain:
        raise Http404("No such registration code")
    return code_format(plain), registration_code.expires_at


def pending_nickname_taken(*, nickname: str, exclude_device_id: int | None = None) -> bool:
    """
    Whether another device of the scoped company that is waiting for
    registration has ``nickname`` (in any case): the Device dialog warns,
    since two pending rows of one name are easy to mix up.
    """
    devices = Device.objects.filter(registered_at__isnull=True, nickname__iexact=nickname.strip())
    if exclude_device_id is not None:
        devices = devices.exclude(pk=exclude_device_id)
    return devices.exists()


def license_expired_code_hold_q(now: datetime.datetime) -> Q:
    """
    Licenses (a filter on ``License``) held by a never-registered device whose
    open code has expired at ``now``: the devices' rule that the Licenses page
    and the license counts use, registered with licensing in
    ``DevicesConfig.ready``. Such a license is not free until housekeeping
    releases it.
    """
    expired = RegistrationCode.objects.open().filter(expires_at__lte=now, device__registered_at__isnull=True)
    return Q(device__pk__in=expired.values("device_id"))


def registration_email_get_for_company(*, user: User, pk: object) -> OutboxEmail:
    """
    Return the registration email ``pk`` if ``user`` may see its device;
    Http404 alike for a missing email, another company's and (Team
    Administrator) another team's.
    """
    emails = OutboxEmail.objects.all()
    if user.is_team_administrator:
        own = RegistrationCode.objects.filter(device__team_id=user.team_id or 0)
        other = RegistrationCode.objects.exclude(device__team_id=user.team_id or 0).filter(batch_id__isnull=False)
        emails = emails.filter(
            Q(registration_code_id__in=own.values("pk"))
            | Q(batch_id__in=own.filter(batch_id__isnull=False).values("batch_id"))
            & ~Q(batch_id__in=other.values("batch_id"))
        )
    try:
        return emails.get(pk=int(str(pk)))
    except (OutboxEmail.DoesNotExist, ValueError, TypeError):
        raise Http404("No such email") from None
