"""
Writes a device makes through the device API: redeeming a registration code
and checking in. The acting party is the device (``DEVICE_API``).

No registration code and no credential is ever passed to a log line or an
audit record here (DESIGN §3): audit data carry ids, reasons and client
addresses only.
"""

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from backoffice.audit.services import audit_record
from backoffice.devices.codes import code_digest, credential_digest, credential_generate
from backoffice.devices.models import CheckInKind, Device, DeviceCheckIn, DeviceCredential, RegistrationCode
from backoffice.tenancy.permissions import DEVICE_API, HOUSEKEEPING
from backoffice.tenancy.scoping import company_scope, scopes_disabled

# Whether a device's license lets it register now (the device API's rule).
LicenseCheck = Callable[[Device], bool]


@dataclass(frozen=True)
class Redemption:
    """
    The outcome of redeeming a code: ``device`` and ``credential`` when it
    worked; otherwise ``refusal`` says why ("unknown", "replaced", "used",
    "expired", "license_inactive") and ``code`` is the row when one matched.
    """

    refusal: str | None
    device: Device | None = None
    credential: str = ""
    code: RegistrationCode | None = None


def _code_refusal(*, row: RegistrationCode | None, now: datetime.datetime) -> str | None:
    """Why a looked-up code cannot be redeemed now, or None when it can."""
    if row is None:
        return "unknown"
    if row.revoked_at is not None:
        return "replaced"
    if row.used_at is not None:
        return "used"
    if row.expires_at <= now:
        return "expired"
    return None


@transaction.atomic
def registration_code_redeem(
    *, normalized_code: str, reported: Mapping[str, str], client_address: str, license_is_active: LicenseCheck
) -> Redemption:
    """
    Redeem a well-formed, normalised code typed on a device, as the device
    (``DEVICE_API``): look it up by its keyed digest across companies, lock
    its device's row and then its own (the lock order of every write on a
    device), and mark it used by a conditional UPDATE, so concurrent
    redemptions of one code give exactly one registration and the others
    ``used``. A code whose device was deleted meanwhile is unknown.

    On success, inside the device's company scope: the displayed copy of the
    code is wiped, the reported details replace the stored ones, the Reg Date
    and the Change Date both become now, from one clock reading (a
    registration is the device's latest change, so the Change Date is never
    before the Reg Date; a re-registration through a replaced code moves
    both), every
    earlier credential of the device is revoked and a new one is created and
    returned (only its digest is stored). ``license_is_active`` decides
    whether the device's license lets it register; when it does not, nothing
    changes and the code stays usable.
    """
    now = timezone.now()
    with scopes_disabled():
        # A code may belong to any company: it is the code that says which.
        found = RegistrationCode.objects.filter(digest=code_digest(normalized_code)).values_list("pk", "device_id")
        match = found.first()
        row = None
        # The lock order of every write on a device: the device row first,
        # then its codes (as Replace, Cancel and Delete take them).
        if match is not None and Device.objects.select_for_update(of=("self",)).filter(pk=match[1]).exists():
            row = (
                RegistrationCode.objects.select_for_update(of=("self",))
                .select_related("device__company", "device__team", "device__license")
                .filter(pk=match[0])
                .first()
            )
    refusal = _code_refusal(row=row, now=now)
    if row is None or refusal is not None:
        return Redemption(refusal=refusal, code=row)
    device = row.device
    if not license_is_active(device):
        return Redemption(refusal="license_inactive", code=row)
    with scopes_disabled():
        claimed = RegistrationCode.objects.live(now).filter(pk=row.pk).update(used_at=now, sealed_code=None)
    if claimed != 1:
        return Redemption(refusal="used", code=row)
    with company_scope(device.company):
        credential = _device_register_claimed(device=device, now=now, client_address=client_address, reported=reported)
    return Redemption(refusal=None, device=device, credential=credential, code=row)


def _device_register_claimed(
    *, device: Device, now: datetime.datetime, client_address: str, reported: Mapping[str, str]
) -> str:
    """Register ``device`` whose code was just claimed; return the new credential."""
    revoked = DeviceCredential.objects.filter(device=device, revoked_at__isnull=True).update(revoked_at=now)
    credential = credential_generate()
    DeviceCredential.objects.create(company=device.company, device=device, digest=credential_digest(credential))
    # One ``now`` for both dates: the registration is the latest change.
    Device.objects.filter(pk=device.pk).update(**reported, registered_at=now, changed_at=now, last_check_in_at=now)
    for field, value in reported.items():
        setattr(device, field, value)
    device.registered_at = now
    device.changed_at = now
    device.last_check_in_at = now
    _history_write(device=device, kind=CheckInKind.REGISTERED, at=now)
    if revoked:
        audit_record(
            company=device.company,
            actor=DEVICE_API,
            action="device.credential_revoked",
            obj=device,
            summary=f"Earlier credential of {device.nickname} revoked by a new registration",
            data={"device_id": device.pk, "count": revoked},
        )
    audit_record(
        company=device.company,
        actor=DEVICE_API,
        action="device.registered",
        obj=device,
        summary=f"{device.nickname} registered from {device.platform} {device.app_version}".strip(),
        data={
            "device_id": device.pk,
            "client_address": client_address,
            "platform": device.platform,
            "app_version": device.app_version,
            "re_registration": bool(revoked),
        },
    )
    return credential


def registration_failure_record(*, refusal: str, code: RegistrationCode, client_address: str) -> None:
    """Record a refused redemption of a known code (whose company is known) on its device's trail."""
    device = code.device
    with company_scope(device.company):
        audit_record(
            company=device.company,
            actor=DEVICE_API,
            action="device.registration_failed",
            obj=device,
            summary=f"Registration of {device.nickname} refused: code {refusal}",
            data={"device_id": device.pk, "reason": refusal, "code_id": code.pk, "client_address": client_address},
        )


# What a check-in reports that the history follows (the device ID is set at registration).
HISTORY_FIELDS = ("device_name", "os_type", "platform", "app_version")
# Rows the pruning deletes per statement, and statements per worker pass.
PRUNE_BATCH = 5000
PRUNE_BATCHES_PER_PASS = 20


def _history_write(*, device: Device, kind: str, at: datetime.datetime) -> None:
    """One row of the device's check-in history, with what it reports now."""
    DeviceCheckIn.objects.create(
        company_id=device.company_id,
        device_id=device.pk,
        at=at,
        kind=kind,
        **{field: getattr(device, field) for field in HISTORY_FIELDS},
    )


def sample_slot(moment: datetime.datetime) -> int:
    """The ``CHECK_IN_HISTORY_SAMPLE_MINUTES`` slot (counted from the epoch) that ``moment`` falls in."""
    return int(moment.timestamp()) // (max(1, settings.CHECK_IN_HISTORY_SAMPLE_MINUTES) * 60)


def check_in_history_kind(*, device: Device, reported: Mapping[str, str], now: datetime.datetime) -> str | None:
    """
    Which history row a stored check-in adds, decided from what is already
    loaded, without a query: ``changed`` when it reports a device name, OS,
    platform or ReconPro version other than the stored one; otherwise
    ``sample`` when the device's previous stored check-in falls in an earlier
    ``CHECK_IN_HISTORY_SAMPLE_MINUTES`` slot than this one (so at most one
    sample per slot, the first check-in of each hour by default, and the
    first after any silence); otherwise none.
    """
    if any(field in reported and getattr(device, field) != reported[field] for field in HISTORY_FIELDS):
        return CheckInKind.CHANGED
    previous = device.last_check_in_at
    if previous is None or sample_slot(previous) != sample_slot(now):
        return CheckInKind.SAMPLE
    return None


def device_check_in(*, device: Device, reported: Mapping[str, str], now: datetime.datetime) -> None:
    """
    Store what a registered device reported at a check-in and when; the
    caller (the device API) decides when a write is due. A single UPDATE of
    the last check-in and of the reported fields that changed (the others,
    some indexed and followed by the tally's triggers, are left alone), plus
    one row of the check-in history when ``check_in_history_kind`` says one
    is due (a change, or the first stored check-in of a sample slot): the
    two in one transaction, the UPDATE alone atomic by itself. The UPDATE
    leaves the company's generation alone (``core.generations``): a cached
    copy of the device stays valid.
    """
    kind = check_in_history_kind(device=device, reported=reported, now=now)
    changed = {field: value for field, value in reported.items() if getattr(device, field) != value}

    def store() -> None:
        # Last-seen and reported fields only: nothing the device API's
        # credential cache depends on, so its company generation stays.
        Device.objects.filter(pk=device.pk).update_uncached(**changed, last_check_in_at=now)
        for field, value in changed.items():
            setattr(device, field, value)
        device.last_check_in_at = now
        if kind is not None:
            _history_write(device=device, kind=kind, at=now)

    if kind is None:
        store()
    else:
        with transaction.atomic():
            store()


def check_in_history_prune(*, now: datetime.datetime | None = None) -> int:
    """
    Delete check-in history older than ``CHECK_IN_HISTORY_RETENTION_DAYS`` in
    every company, oldest first, in batches of ``PRUNE_BATCH`` rows and at
    most ``PRUNE_BATCHES_PER_PASS`` batches per call (the rest waits for the
    worker's next pass), so that no statement holds locks for long. Return
    how many rows were deleted.
    """
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.CHECK_IN_HISTORY_RETENTION_DAYS)
    deleted = 0
    with scopes_disabled():
        for _ in range(PRUNE_BATCHES_PER_PASS):
            ids = list(
                DeviceCheckIn.objects.filter(at__lt=cutoff)
                .order_by("at", "id")
                .values_list("pk", flat=True)[:PRUNE_BATCH]
            )
            if not ids:
                break
            deleted += DeviceCheckIn.objects.filter(pk__in=ids).delete()[0]
            if len(ids) < PRUNE_BATCH:
                break
    return deleted


def check_in_history_housekeeping() -> str:
    """The outbox worker's housekeeping task for the check-in history, with what it did."""
    deleted = check_in_history_prune()
    return f"{HOUSEKEEPING}: " + ngettext(
        "pruned %(n)d check-in history entry", "pruned %(n)d check-in history entries", deleted
    ) % {"n": deleted}
