"""
What the device API adds to the devices' own services: the rate limits on
failed redemptions and their answers, the coalescing of check-in writes,
and the clients rule applied to a recorded document.

No registration code and no credential is ever passed to a log line or an
audit record here (DESIGN §3); log lines and audit data carry device ids,
reasons and client addresses only.
"""

import datetime
import ipaddress
import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from backoffice.core.ratelimit import Limit, ratelimit_check, ratelimit_hit
from backoffice.device_api import errors
from backoffice.device_api.selectors import device_license_is_active
from backoffice.devices.clients import device_available_clients
from backoffice.devices.codes import code_is_well_formed, code_normalize
from backoffice.devices.models import Device
from backoffice.devices.services import Redemption, registration_code_redeem, registration_failure_record
from backoffice.devices.services import device_check_in as device_report_store
from backoffice.documents.models import Document
from backoffice.documents.services import document_record

logger = logging.getLogger(__name__)

# Reasons a redemption fails, mapped to the answer the device gets.
FAILURES = {
    "license_inactive": errors.license_inactive,
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
    (``rate_limited``). The redemption itself is
    ``devices.services.registration_code_redeem``.

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
        raise _registration_failed(reason="malformed", outcome=None, client_address=client_address, limits=limits)
    outcome = registration_code_redeem(
        normalized_code=normalized,
        reported={
            "device_name": name,
            "device_identifier": device_identifier,
            "os_type": os_type,
            "platform": platform,
            "app_version": app_version,
        },
        client_address=client_address,
        license_is_active=lambda device: device_license_is_active(device=device),
    )
    if outcome.refusal is None and outcome.device is not None:
        return Registration(device=outcome.device, credential=outcome.credential)
    if outcome.refusal == "license_inactive":
        raise errors.license_inactive()
    raise _registration_failed(
        reason=outcome.refusal or "unknown", outcome=outcome, client_address=client_address, limits=limits
    )


def _registration_failed(
    *, reason: str, outcome: Redemption | None, client_address: str, limits: tuple[Limit, ...]
) -> errors.ApiError:
    """
    Count a failed redemption against the limits and record it (an audit
    event for a known code, whose company is known; a log line otherwise);
    return the answer for ``reason``, for the caller to raise. Runs after the
    redemption's transaction, so that neither the count nor the record is
    rolled back with it.
    """
    ratelimit_hit(*limits)
    code = outcome.code if outcome is not None else None
    if code is None:
        logger.info("Device registration refused: %s code (client %s)", reason, client_address)
    else:
        logger.info(
            "Device registration refused: %s code for device %s (client %s)", reason, code.device_id, client_address
        )
        registration_failure_record(refusal=reason, code=code, client_address=client_address)
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
    device_report_store(device=device, reported=reported, now=now)
    return True


def device_document_record(*, device: Device, kind: str, number: str, client_id: int) -> Document:
    """
    Record a document created on ``device``, for a client that the Clients
    tab rule makes available on it (``device_available_clients``); raises
    ``documents.services.ClientNotAvailable`` otherwise.
    """
    return document_record(
        company=device.company,
        device_id=device.pk,
        device_label=device.nickname,
        kind=kind,
        number=number,
        client_id=client_id,
        available_clients=device_available_clients(device=device),
    )
