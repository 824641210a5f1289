"""
What the device API adds to the devices' own services: the rate limit on
failed redemptions and its answers, the coalescing of check-in writes,
and the clients rule applied to a recorded document.

No registration code and no credential is ever passed to a log line or an
audit record here (DESIGN §3); log lines and audit data carry device ids,
reasons and client addresses only.
"""

import datetime
import ipaddress
import logging
import math
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from backoffice.core.generations import company_generations_held
from backoffice.core.ratelimit import Limit, Reservation, ratelimit_count_event, ratelimit_refund, ratelimit_reserve
from backoffice.device_api import errors
from backoffice.device_api.auth import confirmed_device
from backoffice.device_api.selectors import (
    device_confirmed_by,
    device_credential_cache_refresh,
    device_license_is_active,
    device_unconfirmed_generation,
)
from backoffice.devices.clients import device_available_clients
from backoffice.devices.codes import CODE_SPACE, code_is_well_formed, code_normalize
from backoffice.devices.models import Device, version_sort_key
from backoffice.devices.services import Redemption, registration_code_redeem, registration_failure_record
from backoffice.devices.services import device_check_in as device_report_store
from backoffice.devices.services.check_ins import check_in_buffer, check_in_buffer_if_current
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


# The chance the guessing budget allows an attacker per window (DESIGN §3).
GUESS_PROBABILITY_PER_WINDOW = 2**-20


def _address_key(client_address: str) -> str:
    """
    What the limit counts by, the client's network: the address itself for
    IPv4, its /64 network for IPv6, since one client commonly holds a whole
    /64 and could otherwise rotate through it.
    """
    try:
        address = ipaddress.ip_address(client_address)
    except ValueError:
        return client_address[:64]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def registration_failure_limits(*, client_address: str) -> tuple[Limit, ...]:
    """
    The limits on failed redemptions, read from settings at call time: one
    per client network, and nothing shared by every client. A limit counted
    across clients (or companies) would let an attacker with a few networks
    exhaust it and lock every company's technicians out (docs/security.md).
    """
    return (
        Limit(
            "registration-failed",
            f"network:{_address_key(client_address)}",
            settings.REGISTRATION_FAILED_PER_ADDRESS,
            settings.REGISTRATION_RATE_WINDOW_SECONDS,
        ),
    )


def registration_live_codes_bound() -> int:
    """
    The most live codes, across every company, for which the guessing budget
    holds: ``REGISTRATION_ATTACKER_NETWORKS`` networks, each failing
    ``REGISTRATION_FAILED_PER_ADDRESS`` times per window, hit one of them with
    a chance ≤ ``GUESS_PROBABILITY_PER_WINDOW``. Derived from the code space,
    never counted: the live codes are bounded per company by its licenses,
    and the service's licenses must stay below this (docs/security.md).
    """
    guesses = settings.REGISTRATION_ATTACKER_NETWORKS * settings.REGISTRATION_FAILED_PER_ADDRESS
    return math.floor(CODE_SPACE * GUESS_PROBABILITY_PER_WINDOW / guesses)


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

    A slot of the client network's failure limit is reserved first, in one
    atomic step, before the code is even looked at: a client over its limit
    learns nothing about any code and costs no look-up (``rate_limited``),
    and concurrent requests can never be evaluated more often than the
    limit allows. When only attempts in flight from the same network stand
    in the way, the request waits up to ``REGISTRATION_BUSY_WAIT_SECONDS``
    for one to finish. A failure counts the slot; a success (and a refusal
    for an inactive license, which says nothing about the code) gives it
    back, so only failures count; a refusal of a known code (used, expired, replaced) is charged to
    that code rather than the network (``_charge_to_the_code``). The
    redemption itself is ``devices.services.registration_code_redeem``.

    Raise ``ApiError``: ``code_invalid`` for a malformed, unknown or replaced
    code, ``code_used``, ``code_expired`` (each counted and, for a known code,
    audited), ``license_inactive`` when the device's license
    is not active (not counted, and the code stays usable once the license is
    fixed), ``rate_limited`` with a ``Retry-After``.
    """
    reservation = ratelimit_reserve(
        *registration_failure_limits(client_address=client_address),
        wait_seconds=settings.REGISTRATION_BUSY_WAIT_SECONDS,
    )
    if not reservation.allowed:
        logger.warning(
            "Device registration refused: %s (client %s)",
            "too many attempts at once" if reservation.busy else "too many failed attempts",
            client_address,
        )
        raise errors.rate_limited(reservation.retry_after_seconds)
    try:
        outcome = _redeem(
            code=code,
            reported={
                "device_name": name,
                "device_identifier": device_identifier,
                "os_type": os_type,
                "platform": platform,
                "app_version": app_version,
                "app_version_key": version_sort_key(app_version),
            },
            client_address=client_address,
        )
    except BaseException:
        # An error after the look-up (a database error) counts: failing
        # closed means nothing an attacker provokes there is free.
        ratelimit_count_event(reservation)
        raise
    if outcome is not None and outcome.refusal is None and outcome.device is not None:
        ratelimit_refund(reservation)
        return Registration(device=outcome.device, credential=outcome.credential)
    if outcome is not None and outcome.refusal == "license_inactive":
        ratelimit_refund(reservation)
        raise errors.license_inactive()
    if outcome is not None and outcome.code is not None:
        _charge_to_the_code(reservation, code_id=outcome.code.pk)
    else:
        ratelimit_count_event(reservation)
    reason = "malformed" if outcome is None else outcome.refusal or "unknown"
    raise _registration_failed(reason=reason, outcome=outcome, client_address=client_address)


def _redeem(*, code: str, reported: dict[str, str], client_address: str) -> Redemption | None:
    """The redemption of a typed code; None when it is malformed (nothing is looked up)."""
    normalized = code_normalize(code)
    if not code_is_well_formed(normalized):
        return None
    return registration_code_redeem(
        normalized_code=normalized,
        reported=reported,
        client_address=client_address,
        license_is_active=lambda device: device_license_is_active(device=device),
    )


def _charge_to_the_code(reservation: Reservation, *, code_id: int) -> None:
    """
    A refusal of a known code (used, expired or replaced) is no guess: the
    code exists and can no longer be redeemed. It is counted on that code
    (``REGISTRATION_FAILED_PER_CODE`` per window) and the network's slot is
    given back, so a technician retrying a stale code keeps the network's
    allowance for the new one; beyond the code's allowance it counts on the
    network. Every look-up that found no code counts on the network, so the
    guesses per network and window never exceed
    ``REGISTRATION_FAILED_PER_ADDRESS``.
    """
    per_code = Limit(
        "registration-failed",
        f"code:{code_id}",
        settings.REGISTRATION_FAILED_PER_CODE,
        settings.REGISTRATION_RATE_WINDOW_SECONDS,
    )
    on_the_code = ratelimit_reserve(per_code)
    if on_the_code.allowed:
        ratelimit_count_event(on_the_code)
        ratelimit_refund(reservation)
    else:
        ratelimit_count_event(reservation)


def _registration_failed(*, reason: str, outcome: Redemption | None, client_address: str) -> errors.ApiError:
    """
    Record a failed redemption, already counted (an audit event for a known
    code, whose company is known; a log line otherwise); return the answer
    for ``reason``, for the caller to raise. Runs after the redemption's
    transaction, so that the record is not rolled back with it.
    """
    code = outcome.code if outcome is not None else None
    if code is None:
        logger.info("Device registration refused: %s code (client %s)", reason, client_address)
    else:
        logger.info(
            "Device registration refused: %s code for device %s (client %s)", reason, code.device_id, client_address
        )
        registration_failure_record(refusal=reason, code=code, client_address=client_address)
    return FAILURES[reason]()


def _changed_and_due(device: Device, reported: dict[str, str], now: datetime.datetime) -> tuple[bool, bool]:
    """Whether a check-in reports a change, and whether the stored last check-in is old enough to write again."""
    changed = any(getattr(device, field) != value for field, value in reported.items())
    interval = datetime.timedelta(seconds=settings.CHECK_IN_WRITE_INTERVAL_SECONDS)
    due = device.last_check_in_at is None or now - device.last_check_in_at >= interval
    return changed, due


def device_check_in(
    *, device: Device, name: str, os_type: str, platform: str, app_version: str, now: datetime.datetime | None = None
) -> bool:
    """
    Record that ``device`` is alive and what it runs; return whether the row was written.

    Writes are coalesced because check-ins are the API's hottest call: the row
    is updated only when a reported field changed or the stored last check-in
    is at least ``CHECK_IN_WRITE_INTERVAL_SECONDS`` old, so last-seen has that
    resolution. A write that only moves last-seen goes to the check-in
    buffer when there is one (``devices.services.check_ins``), written by the
    worker in batches; a reported change is written at once, in a single
    UPDATE (with its history row in one transaction).
    """
    now = now or timezone.now()
    reported = {"device_name": name, "os_type": os_type, "platform": platform, "app_version": app_version}
    changed, stale = _changed_and_due(device, reported, now)
    if not changed and not stale:
        return False
    if changed or not check_in_buffer(device=device, now=now):
        reported = {**reported, "app_version_key": version_sort_key(app_version)}
        device_report_store(device=device, reported=reported, now=now)
    device_credential_cache_refresh(device=device)
    return True


def device_check_in_confirmed(
    *, device: Device, name: str, os_type: str, platform: str, app_version: str, now: datetime.datetime | None = None
) -> Device:
    """
    ``device_check_in`` for a device the API authenticated, which may be a
    provisional held copy: return the confirmed device (raise
    ``credential_invalid`` or ``license_inactive`` as ``auth.confirmed_device``).
    A due check-in that reports no change, for a company whose generations
    this process does not hold in memory, is confirmed and buffered by one
    Redis script (``check_in_buffer_if_current``); any other is confirmed
    first (from memory when it holds them), then checked in.
    """
    now = now or timezone.now()
    expected = device_unconfirmed_generation(device=device)
    if expected is not None:
        reported = {"device_name": name, "os_type": os_type, "platform": platform, "app_version": app_version}
        changed, due = _changed_and_due(device, reported, now)
        # With the generations in memory (pushed), confirming costs nothing: confirm, then buffer.
        if due and not changed and company_generations_held(device.company_id) is None:
            generations = check_in_buffer_if_current(device=device, now=now, expected=expected)
            if generations is not None and device_confirmed_by(device=device, generations=generations):
                device_credential_cache_refresh(device=device)
                return device
        device = confirmed_device(device)
    device_check_in(device=device, name=name, os_type=os_type, platform=platform, app_version=app_version, now=now)
    return device


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
        team_id=device.team_id,
        kind=kind,
        number=number,
        client_id=client_id,
        available_clients=device_available_clients(device=device),
    )
