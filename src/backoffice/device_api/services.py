"""
Writes the device API makes on behalf of a device: redeeming a registration
code and checking in.

No registration code and no credential is ever passed to a log line or an
audit record here (DESIGN §3); log lines and audit data carry device ids,
reasons and client addresses only.
"""

import datetime
import ipaddress
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backoffice.audit.services import audit_record
from backoffice.core.ratelimit import Limit, ratelimit_check, ratelimit_hit
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from backoffice.device_api import errors
from backoffice.device_api.selectors import device_license_is_active
from backoffice.devices.codes import (
    code_digest,
    code_is_well_formed,
    code_normalize,
    credential_digest,
    credential_generate,
)
from backoffice.devices.models import Device, DeviceCredential, RegistrationCode

logger = logging.getLogger(__name__)

# Reasons a redemption fails, mapped to the answer the device gets.
FAILURES = {
    "malformed": errors.code_invalid,
    "unknown": errors.code_invalid,
    "replaced": errors.code_invalid,
    "used": errors.code_used,
    "expired": errors.code_expired,
}


@dataclass(frozen=True)
class Registration:
    """A redeemed code: the registered device and its new credential (never stored in clear)."""

    device: Device
    credential: str


def _address_key(client_address: str) -> str:
    """
    What the per-address limit counts by: the address itself for IPv4, its /64
    network for IPv6, since one client commonly holds a whole /64 and could
    otherwise rotate through it.
    """
    try:
        address = ipaddress.ip_address(client_address)
    except ValueError:
        return client_address[:64]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def registration_failure_limits(*, client_address: str) -> tuple[Limit, Limit]:
    """
    The two limits on failed redemptions, read from settings at call time: one
    per client address, one for all clients together (DESIGN §3).
    """
    window = settings.REGISTRATION_RATE_WINDOW_SECONDS
    return (
        Limit(
            "registration-failed",
            f"address:{_address_key(client_address)}",
            settings.REGISTRATION_FAILED_PER_ADDRESS,
            window,
        ),
        Limit("registration-failed", "global", settings.REGISTRATION_FAILED_GLOBAL, window),
    )


def device_register(
    *,
    code: str,
    client_address: str,
    name: str,
    device_identifier: str,
    os_type: str,
    platform: str,
    app_version: str,
) -> Registration:
    """
    Redeem a registration code typed on a device and register the device.

    The rate limits on failed redemptions are checked before the code is even
    looked at, so a client over its limit learns nothing about any code
    (``rate_limited``). The code is normalised, then looked up by its keyed
    digest across companies; its row is locked and marked used by a
    conditional UPDATE, so concurrent redemptions of one code give exactly one
    registration and the others ``code_used``.

    On success, inside the device's company scope: the displayed copy of the
    code is wiped, the reported details replace the stored ones, the Reg Date
    becomes now (a re-registration through a replaced code moves it), every
    earlier credential of the device is revoked and a new one is created and
    returned (only its digest is stored).

    Raise ``ApiError``: ``code_invalid`` for a malformed, unknown or replaced
    code, ``code_used``, ``code_expired`` (each counted against the limits and,
    for a known code, audited), ``license_inactive`` when the device's license
    is not active (not counted, and the code stays usable once the license is
    fixed), ``rate_limited`` with a ``Retry-After``.
    """
    limits = registration_failure_limits(client_address=client_address)
    verdict = ratelimit_check(*limits)
    if not verdict.allowed:
        logger.warning("Device registration refused: too many failed attempts (client %s)", client_address)
        raise errors.rate_limited(verdict.retry_after_seconds)

    normalized = code_normalize(code)
    if not code_is_well_formed(normalized):
        raise _registration_failed(reason="malformed", row=None, client_address=client_address, limits=limits)

    now = timezone.now()
    with transaction.atomic():
        with scopes_disabled():
            # A code may belong to any company: it is the code that says which.
            row = (
                RegistrationCode.objects.select_for_update(of=("self",))
                .select_related("device__company", "device__team", "device__license")
                .filter(digest=code_digest(normalized))
                .first()
            )
        reason = _code_refusal(row=row, now=now)
        if row is not None and reason is None:
            device = row.device
            if not device_license_is_active(device=device):
                raise errors.license_inactive()
            with scopes_disabled():
                claimed = RegistrationCode.objects.filter(
                    pk=row.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
                ).update(used_at=now, sealed_code=None)
            if claimed == 1:
                with company_scope(device.company):
                    credential = _device_register_claimed(
                        device=device,
                        now=now,
                        client_address=client_address,
                        reported={
                            "device_name": name,
                            "device_identifier": device_identifier,
                            "os_type": os_type,
                            "platform": platform,
                            "app_version": app_version,
                        },
                    )
                return Registration(device=device, credential=credential)
            reason = "used"
    raise _registration_failed(reason=reason or "unknown", row=row, client_address=client_address, limits=limits)


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


def _device_register_claimed(
    *, device: Device, now: datetime.datetime, client_address: str, reported: dict[str, str]
) -> str:
    """Register ``device`` whose code was just claimed; return the new credential."""
    revoked = DeviceCredential.objects.filter(device=device, revoked_at__isnull=True).update(revoked_at=now)
    credential = credential_generate()
    DeviceCredential.objects.create(company=device.company, device=device, digest=credential_digest(credential))
    Device.objects.filter(pk=device.pk).update(**reported, registered_at=now, last_check_in_at=now)
    for field, value in reported.items():
        setattr(device, field, value)
    device.registered_at = now
    device.last_check_in_at = now
    if revoked:
        audit_record(
            company=device.company,
            actor=None,
            action="device.credential_revoked",
            obj=device,
            summary=f"Earlier credential of {device.nickname} revoked by a new registration",
            data={"device_id": device.pk, "count": revoked},
        )
    audit_record(
        company=device.company,
        actor=None,
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


def _registration_failed(
    *, reason: str, row: RegistrationCode | None, client_address: str, limits: tuple[Limit, ...]
) -> errors.ApiError:
    """
    Count a failed redemption against the limits and record it (an audit
    event for a known code, whose company is known; a log line otherwise);
    return the answer for ``reason``, for the caller to raise. Runs outside
    the redemption's transaction so that neither the count nor the record is
    rolled back with it.
    """
    ratelimit_hit(*limits)
    if row is None:
        logger.info("Device registration refused: %s code (client %s)", reason, client_address)
    else:
        device = row.device
        logger.info("Device registration refused: %s code for device %s (client %s)", reason, device.pk, client_address)
        with company_scope(device.company):
            audit_record(
                company=device.company,
                actor=None,
                action="device.registration_failed",
                obj=device,
                summary=f"Registration of {device.nickname} refused: code {reason}",
                data={"device_id": device.pk, "reason": reason, "code_id": row.pk, "client_address": client_address},
            )
    return FAILURES[reason]()


def device_check_in(
    *, device: Device, name: str, os_type: str, platform: str, app_version: str, now: datetime.datetime | None = None
) -> bool:
    """
    Record that ``device`` is alive and what it runs; return whether the row was written.

    Writes are coalesced because check-ins are the API's hottest call: the row
    is updated only when a reported field changed or the stored last check-in
    is at least ``CHECK_IN_WRITE_INTERVAL_SECONDS`` old, so last-seen has that
    resolution. The write is a single UPDATE statement, atomic by itself.
    """
    now = now or timezone.now()
    reported = {"device_name": name, "os_type": os_type, "platform": platform, "app_version": app_version}
    changed = any(getattr(device, field) != value for field, value in reported.items())
    interval = datetime.timedelta(seconds=settings.CHECK_IN_WRITE_INTERVAL_SECONDS)
    stale = device.last_check_in_at is None or now - device.last_check_in_at >= interval
    if not changed and not stale:
        return False
    Device.objects.filter(pk=device.pk).update(**reported, last_check_in_at=now)
    for field, value in reported.items():
        setattr(device, field, value)
    device.last_check_in_at = now
    return True
