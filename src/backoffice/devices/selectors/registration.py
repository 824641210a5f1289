"""Reads of the Pending Registrations section and of registration emails."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import FilteredRelation, Prefetch, Q
from django.http import Http404
from django.utils import timezone

from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode, expired_code_release_due
from backoffice.devices.selectors.active_devices import device_visible_queryset
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


@dataclass(frozen=True)
class PendingRegistrations:
    """
    What the Pending Registrations section shows: ``rows``, every pending row
    oldest first or, when the section asked for fewer (``limit``), the oldest
    of them; ``row_keys``, every row's ``device[:code]`` (the page's script
    compares them between refreshes), and ``valid_until``, the first moment
    the clock alone changes what the section or the license counts show: the
    next expiry of a live code, the next due license release, the company's
    next midnight (licenses expire by day). The "… left" text of a live code
    is not one of them: the page's script rewrites it every second, and the
    section refreshes only where the script runs.
    """

    rows: list[PendingRegistration]
    row_keys: list[str]
    valid_until: datetime.datetime

    def __bool__(self) -> bool:
        return bool(self.row_keys)

    @property
    def total(self) -> int:
        return len(self.row_keys)

    @property
    def complete(self) -> bool:
        """Whether ``rows`` holds every row."""
        return len(self.rows) == len(self.row_keys)


_DEVICE_COLUMNS = (
    "company_id",
    "nickname",
    "recipients",
    "registered_at",
    "created_at",
    "team__name",
    "license__number",
    "license__license_type",
    "license__expires_on",
    "license__is_suspended",
)
_CODE_COLUMNS = ("company_id", "device_id", "expires_at", "sealed_code", "batch_id", "used_at", "revoked_at")
_EMAIL_COLUMNS = (
    "company_id",
    "registration_code_id",
    "batch_id",
    "recipient",
    "state",
    "attempts",
    "next_attempt_at",
    "last_error",
    "sent_at",
)


def _pending_device_ids(user: User) -> Any:
    """The pending devices ``user`` may see and the devices with an open code: two index lookups, not a scan."""
    return (
        device_visible_queryset(user=user)
        .filter(registered_at__isnull=True)
        .values("pk")
        .union(RegistrationCode.objects.open().values("device_id"))
    )


def _next_midnight(now: datetime.datetime) -> datetime.datetime:
    """The next midnight in the current time zone (the company's, on its pages)."""
    zone = timezone.get_current_timezone()
    tomorrow = timezone.localtime(now, zone).date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(tomorrow, datetime.time.min, tzinfo=zone)


def pending_registration_list(
    *, user: User, now: datetime.datetime | None = None, limit: int | None = None
) -> PendingRegistrations:
    """
    Pending devices and registered devices with a live replacement code,
    oldest first, each with its live code and that code's emails, and for an
    expired code of a never-registered device when its license is released
    (the company's ``expired_code_grace_days`` after the expiry). With
    ``limit``, only the oldest ``limit`` rows are read in full (the others
    only by their keys and expiry), so that the cost follows what the
    section shows, not how many codes are open. Five queries whatever the
    number of rows.
    """
    now = now or timezone.now()
    grace_days = user.company.expired_code_grace_days if user.company else 0
    open_code = FilteredRelation("codes", condition=Q(codes__used_at__isnull=True, codes__revoked_at__isnull=True))
    keys = list(
        device_visible_queryset(user=user)
        .filter(pk__in=_pending_device_ids(user))
        .annotate(live=open_code)
        .order_by("created_at", "pk")
        .values_list("pk", "live__pk", "live__expires_at", "registered_at", "license_id")
    )
    valid_until = _next_midnight(now)
    for _, code_id, expires_at, registered_at, license_id in keys:
        if code_id is None:
            continue
        if expires_at > now:
            valid_until = min(valid_until, expires_at)
        elif registered_at is None and license_id is not None:
            release_due = expired_code_release_due(expires_at=expires_at, grace_days=grace_days)
            if release_due > now:
                valid_until = min(valid_until, release_due)
    queryset = (
        device_visible_queryset(user=user)
        .filter(pk__in=_pending_device_ids(user))
        .select_related("team", "license")
        # Only the columns the section shows (and its search reads): a row costs less to build.
        .only(*_DEVICE_COLUMNS)
        .prefetch_related(
            Prefetch(
                "codes",
                queryset=RegistrationCode.objects.open()
                .only(*_CODE_COLUMNS)
                .prefetch_related(
                    Prefetch(
                        "emails",
                        queryset=OutboxEmail.objects.only(*_EMAIL_COLUMNS).order_by("pk"),
                        to_attr="email_list",
                    )
                ),
                to_attr="live_codes",
            )
        )
        .order_by("created_at", "pk")
    )
    devices = list(queryset if limit is None or len(keys) <= limit else queryset[:limit])
    # A batch's emails (one per recipient for every code of the batch) are
    # shown on each of its rows: one query for all of them.
    batch_ids = {code.batch_id for device in devices for code in device.live_codes if code.batch_id}  # type: ignore[attr-defined]
    batch_emails: dict[object, list[OutboxEmail]] = {}
    if batch_ids:
        for email in OutboxEmail.objects.filter(batch_id__in=batch_ids).only(*_EMAIL_COLUMNS).order_by("pk"):
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
    return PendingRegistrations(
        rows=rows,
        row_keys=[f"{pk}:{code_id}" if code_id is not None else str(pk) for pk, code_id, *_ in keys],
        valid_until=valid_until,
    )


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
