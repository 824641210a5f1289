"""
Writes on devices and their registration codes.

Every function here is atomic, takes the acting user and records an audit
event. A plain registration code exists only in memory while it is issued:
the database keeps its keyed digest and an encrypted display copy, and no
audit event, log line or exception message ever carries it (DESIGN §3).
"""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backoffice.audit.services import audit_record
from backoffice.tenancy.scoping import scopes_disabled
from backoffice.core.timezones import is_valid_time_zone
from backoffice.devices.choices import ClientScope, ClientSelectionType, FunctionalityMode
from backoffice.tenancy.choices import Functionality
from backoffice.devices.codes import code_digest, code_generate, code_seal
from backoffice.devices.models import Device, DeviceClient, RegistrationCode
from backoffice.licensing.models import License
from backoffice.notifications.choices import EmailState
from backoffice.notifications.models import OutboxEmail
from backoffice.organization.choices import ClientType
from backoffice.organization.models import Client, Team
from backoffice.tenancy.models import Company, User

DEFAULT_CODE_LIFETIME = datetime.timedelta(minutes=15)
MAX_CODE_LIFETIME = datetime.timedelta(days=7)
MAX_RECIPIENTS = 20
MAX_ASSIGNED_CLIENTS = 5000
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

# Key of the PostgreSQL advisory lock that serialises code issuance, so that
# the service-wide cap on live codes holds exactly under concurrency.
_LIVE_CODES_LOCK_KEY = 4_711_004


class RegistrationCodeLimitReached(ValidationError):
    """Raised when issuing a code would exceed ``REGISTRATION_MAX_LIVE_CODES``."""


def _require_writer(*, acting_user: User, team: Team) -> None:
    """Administrators act on every team; Team Administrators on their own team only."""
    if not acting_user.can_write:
        raise PermissionDenied("Your role does not allow this action.")
    if acting_user.is_team_administrator and team.pk != acting_user.team_id:
        raise PermissionDenied("Team Administrators act only on their own team's devices.")


def _clean_recipients(recipients: Sequence[str]) -> list[str]:
    """Strip, drop empties and case-insensitive duplicates, keep the order."""
    seen: set[str] = set()
    cleaned: list[str] = []
    for address in recipients:
        address = address.strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            cleaned.append(address)
    if len(cleaned) > MAX_RECIPIENTS:
        raise ValidationError({"recipients": f"At most {MAX_RECIPIENTS} recipients."})
    return cleaned


@dataclass(frozen=True)
class ClientSettings:
    """The Clients tab of a device, checked by ``_clean_client_settings``."""

    client_selection_type: str
    client_scope: str
    include_area_clients: bool
    assigned_client_ids: tuple[int, ...]


def _clean_client_settings(
    *,
    company: Company,
    client_selection_type: str,
    client_scope: str,
    include_area_clients: bool,
    assigned_client_ids: Iterable[int],
    device: Device | None = None,
) -> ClientSettings:
    """
    Check the Clients tab against the rule of docs/clients-and-functionality.md.

    *Selected* needs a type that includes wholesale (only wholesale clients
    can be selected one by one). Assigned clients must be active wholesale
    clients of ``company``; a client already assigned to ``device`` that has
    been archived since may stay. Assigned Clients are kept only under
    *Selected*, where they count. *Include ALL from Area* is stored False
    when the company has no Area Support, whatever was sent.
    """
    if client_selection_type not in ClientSelectionType.values:
        raise ValidationError({"client_selection_type": "Select Both, Retail or Wholesale."})
    if client_scope not in ClientScope.values:
        raise ValidationError({"client_scope": "Select All or Selected."})
    if client_scope == ClientScope.SELECTED and client_selection_type == ClientSelectionType.RETAIL:
        raise ValidationError(
            {"client_scope": "Particular retail clients cannot be selected: choose All, or a type with wholesale."}
        )
    ids: list[int] = []
    for value in assigned_client_ids:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError({"assigned_clients": "Select clients from the list."})
        if value not in ids:
            ids.append(value)
    if client_scope != ClientScope.SELECTED:
        ids = []
    if len(ids) > MAX_ASSIGNED_CLIENTS:
        raise ValidationError({"assigned_clients": f"At most {MAX_ASSIGNED_CLIENTS} assigned clients."})
    if ids:
        kept = set()
        if device is not None and device.pk is not None:
            kept = set(DeviceClient.objects.filter(device_id=device.pk).values_list("client_id", flat=True))
        found = {
            row["pk"]: row
            for row in Client.objects.filter(company_id=company.pk, pk__in=ids).values("pk", "client_type", "is_active")
        }
        for pk in ids:
            row = found.get(pk)
            if row is None:
                raise ValidationError({"assigned_clients": "Select your company's clients from the list."})
            if row["client_type"] != ClientType.WHOLESALE:
                raise ValidationError(
                    {"assigned_clients": "Only wholesale clients can be assigned one by one; retail clients cannot."}
                )
            if not row["is_active"] and pk not in kept:
                raise ValidationError({"assigned_clients": "Archived clients cannot be assigned."})
    return ClientSettings(
        client_selection_type=client_selection_type,
        client_scope=client_scope,
        include_area_clients=bool(include_area_clients) and company.area_support,
        assigned_client_ids=tuple(ids),
    )


def _clean_functionality(*, functionality_mode: str, functionality: Iterable[str]) -> list[str]:
    """
    The Custom set in catalog order; empty under "Use Company Settings",
    which follows the company's set wherever it goes.
    """
    if functionality_mode not in FunctionalityMode.values:
        raise ValidationError({"functionality_mode": "Select Use Company Settings or Custom."})
    chosen = list(functionality)
    unknown = sorted({str(value) for value in chosen} - set(Functionality.values))
    if unknown:
        raise ValidationError({"functionality": f"Unknown functionality: {', '.join(unknown)}."})
    if functionality_mode == FunctionalityMode.COMPANY:
        return []
    return [value for value in Functionality.values if value in chosen]


def _replace_assigned_clients(*, device: Device, client_ids: Sequence[int]) -> bool:
    """Make ``client_ids`` the device's Assigned Clients; return whether they changed."""
    current = set(DeviceClient.objects.filter(device_id=device.pk).values_list("client_id", flat=True))
    if current == set(client_ids):
        return False
    DeviceClient.objects.filter(device_id=device.pk).exclude(client_id__in=client_ids).delete()
    DeviceClient.objects.bulk_create(
        DeviceClient(company_id=device.company_id, device=device, client_id=pk)
        for pk in client_ids
        if pk not in current
    )
    return True


def _clean_device_settings(*, company_id: int, team: Team, time_zone: str, nickname: str, description: str) -> str:
    """Check the Device Settings tab's own fields; return the stripped nickname."""
    if team.company_id != company_id:
        raise ValidationError({"team": "Select one of your company's teams."})
    if time_zone and not is_valid_time_zone(time_zone):
        raise ValidationError({"time_zone": "Select a time zone from the list."})
    nickname = nickname.strip()
    if not 1 <= len(nickname) <= 64:
        raise ValidationError({"nickname": "Enter a nickname of at most 64 characters."})
    if len(description) > 500:
        raise ValidationError({"description": "Enter at most 500 characters."})
    return nickname


def _lock_free_license(license: License) -> License:
    """
    Lock ``license`` and check that a device may take it: it exists, it is
    active and no device holds it. Raises ``ValidationError`` on ``license``.
    """
    locked = License.objects.select_for_update().filter(pk=license.pk).first()
    if locked is None:
        raise ValidationError({"license": "Select one of the available licenses."})
    if not locked.is_active:
        status = locked.get_status_display().lower()
        raise ValidationError({"license": f"License {locked.number} is {status}; pick another."})
    if Device.objects.filter(license_id=locked.pk).exists():
        raise ValidationError({"license": f"License {locked.number} was just taken; pick another."})
    return locked


def _live_code_count(*, now: datetime.datetime) -> int:
    """Codes that could still be redeemed, in every company."""
    with scopes_disabled():
        return RegistrationCode.objects.filter(
            used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).count()


@transaction.atomic
def device_add(
    *,
    acting_user: User,
    team: Team,
    license: License,
    nickname: str,
    description: str = "",
    time_zone: str = "",
    recipients: Sequence[str] = (),
    expires_in: datetime.timedelta = DEFAULT_CODE_LIFETIME,
    client_selection_type: str = ClientSelectionType.BOTH,
    client_scope: str = ClientScope.ALL,
    include_area_clients: bool = False,
    assigned_client_ids: Iterable[int] = (),
    functionality_mode: str = FunctionalityMode.COMPANY,
    functionality: Iterable[str] = (),
) -> Device:
    """
    Add a pending device with its registration code and one queued email per
    recipient, all in one transaction, with its Clients and Allowed
    Functionality tabs (checked as ``_clean_client_settings`` and
    ``_clean_functionality`` say).

    The license row is locked and re-checked (active and held by no device),
    so two administrators picking the same license get one device and one
    clear error. A race lost on the unique license column also becomes a
    ``ValidationError`` on ``license``, never an ``IntegrityError``.
    """
    _require_writer(acting_user=acting_user, team=team)
    company = acting_user.company
    if company is None:
        raise ValidationError({"team": "Select one of your company's teams."})
    nickname = _clean_device_settings(
        company_id=company.pk, team=team, time_zone=time_zone, nickname=nickname, description=description
    )
    clean_recipients = _clean_recipients(recipients)
    clients = _clean_client_settings(
        company=company,
        client_selection_type=client_selection_type,
        client_scope=client_scope,
        include_area_clients=include_area_clients,
        assigned_client_ids=assigned_client_ids,
    )
    allowed = _clean_functionality(functionality_mode=functionality_mode, functionality=functionality)

    locked = _lock_free_license(license)
    taken = ValidationError({"license": f"License {locked.number} was just taken; pick another."})

    now = timezone.now()
    try:
        with transaction.atomic():
            device = Device.objects.create(
                company=company,
                team=team,
                license=locked,
                time_zone=time_zone,
                nickname=nickname,
                description=description,
                recipients=clean_recipients,
                client_selection_type=clients.client_selection_type,
                client_scope=clients.client_scope,
                include_area_clients=clients.include_area_clients,
                functionality_mode=functionality_mode,
                functionality=allowed,
                changed_at=now,
            )
    except IntegrityError:
        raise taken from None
    _replace_assigned_clients(device=device, client_ids=clients.assigned_client_ids)

    audit_record(
        company=company,
        actor=acting_user,
        action="device.added",
        obj=device,
        summary=f"Device {nickname} added with license {locked.number}",
        data={
            "device_id": device.pk,
            "team_id": team.pk,
            "license": locked.number,
            "recipients": len(clean_recipients),
            "client_selection_type": clients.client_selection_type,
            "client_scope": clients.client_scope,
            "include_area_clients": clients.include_area_clients,
            "assigned_client_ids": list(clients.assigned_client_ids),
            "functionality_mode": functionality_mode,
            "functionality": allowed,
        },
    )
    registration_code_issue(device=device, acting_user=acting_user, expires_in=expires_in)
    return device


@transaction.atomic
def registration_code_issue(
    *, device: Device, acting_user: User | None, expires_in: datetime.timedelta = DEFAULT_CODE_LIFETIME
) -> RegistrationCode:
    """
    Issue a code for ``device`` and queue an email to each of its recipients.

    The device must have no live code (the database refuses a second one).
    Only the HMAC digest and an encrypted display copy are stored. Raises
    ``RegistrationCodeLimitReached`` when ``REGISTRATION_MAX_LIVE_CODES``
    unexpired codes already exist across every company: the device API's
    guessing budget relies on that bound.
    """
    if not datetime.timedelta(minutes=1) <= expires_in <= MAX_CODE_LIFETIME:
        raise ValidationError({"expires_in": "Pick one of the offered expiry periods."})
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LIVE_CODES_LOCK_KEY])
    if _live_code_count(now=now) >= settings.REGISTRATION_MAX_LIVE_CODES:
        raise RegistrationCodeLimitReached(
            "The service has too many registration codes waiting to be used. "
            "Try again in a few minutes or cancel codes that are no longer needed."
        )
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
        created_by=acting_user if acting_user is not None and acting_user.pk else None,
    )
    OutboxEmail.objects.bulk_create(
        OutboxEmail(company=device.company, registration_code=registration_code, recipient=address, next_attempt_at=now)
        for address in device.recipients
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
    )
    return registration_code


def _digest_exists(digest: str) -> bool:
    with scopes_disabled():
        return RegistrationCode.objects.filter(digest=digest).exists()


def _revoke_live_codes(*, device: Device, now: datetime.datetime) -> list[int]:
    """Revoke the device's live code at once, wipe its copy and drop its unsent emails."""
    live = list(device.codes.filter(used_at__isnull=True, revoked_at__isnull=True).values_list("pk", flat=True))
    if live:
        RegistrationCode.objects.filter(pk__in=live).update(revoked_at=now, sealed_code=None)
        OutboxEmail.objects.filter(registration_code_id__in=live, state=EmailState.QUEUED).update(
            state=EmailState.OBSOLETE
        )
    return live


def _lifetime_of_last_code(device: Device) -> datetime.timedelta:
    """The offered lifetime nearest to the one chosen for the device's latest code."""
    last = device.codes.order_by("-created_at", "-pk").first()
    if last is None:
        return DEFAULT_CODE_LIFETIME
    lifetime = last.expires_at - last.created_at
    return min((choice for choice, _label in CODE_LIFETIMES), key=lambda choice: abs(choice - lifetime))


@transaction.atomic
def registration_code_replace(
    *, device: Device, acting_user: User, expires_in: datetime.timedelta | None = None
) -> RegistrationCode:
    """
    Revoke the device's live code at once and issue a fresh one, emailed to
    the same recipients again.

    Works on pending and on registered devices: a registered device's new
    code is redeemed by a new or reset phone, which the device API handles.
    ``expires_in`` defaults to the lifetime chosen for the previous code.
    """
    _require_writer(acting_user=acting_user, team=device.team)
    locked = Device.objects.select_for_update(of=("self",)).select_related("team").filter(pk=device.pk).first()
    if locked is None:
        raise ValidationError("This registration was cancelled meanwhile.")
    device = locked
    if expires_in is None:
        expires_in = _lifetime_of_last_code(device)
    revoked = _revoke_live_codes(device=device, now=timezone.now())
    registration_code = registration_code_issue(device=device, acting_user=acting_user, expires_in=expires_in)
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
    Revoke a registered device's live replacement code; the device keeps
    working with its current credential.
    """
    _require_writer(acting_user=acting_user, team=device.team)
    locked = Device.objects.select_for_update().filter(pk=device.pk).first()
    if locked is None:
        raise ValidationError("This device was deleted meanwhile.")
    device = locked
    revoked = _revoke_live_codes(device=device, now=timezone.now())
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
    _require_writer(acting_user=acting_user, team=device.team)
    locked = Device.objects.select_for_update().filter(pk=device.pk).first()
    if locked is None:
        raise ValidationError("This registration was already cancelled.")
    if locked.is_registered:
        raise ValidationError(f"{locked.nickname} has just been registered; it can no longer be cancelled.")
    license_number = locked.license.number if locked.license else ""
    device_pk = locked.pk
    audit_record(
        company=locked.company,
        actor=acting_user,
        action="device.cancelled",
        obj=locked,
        summary=f"Pending device {locked.nickname} cancelled"
        + (f"; license {license_number} is free again" if license_number else ""),
        data={"device_id": device_pk, "license": license_number},
    )
    locked.delete()


@transaction.atomic
def registration_code_wipe_expired(*, now: datetime.datetime | None = None) -> int:
    """
    Wipe the display copies of expired codes in every company, so that a
    database dump reveals none (DESIGN §3). Returns how many were wiped.
    """
    now = now or timezone.now()
    with scopes_disabled():
        return RegistrationCode.objects.filter(expires_at__lte=now, sealed_code__isnull=False).update(sealed_code=None)


@transaction.atomic
def device_update(
    *,
    device: Device,
    acting_user: User,
    team: Team,
    license: License,
    nickname: str,
    description: str = "",
    time_zone: str = "",
    client_selection_type: str | None = None,
    client_scope: str | None = None,
    include_area_clients: bool | None = None,
    assigned_client_ids: Iterable[int] | None = None,
    functionality_mode: str | None = None,
    functionality: Iterable[str] | None = None,
) -> Device:
    """
    Save the Device Settings, Clients and Allowed Functionality tabs of an
    existing device and set its Change Date; the Assigned Clients are
    replaced in the same transaction. A Clients or Functionality argument
    left None keeps the device's current value.

    The Reg Date never changes here. A new license is locked and must be
    active and held by no other device; the old one is freed by the same
    UPDATE. A Team Administrator may neither edit another team's device nor
    move a device to another team.
    """
    _require_writer(acting_user=acting_user, team=device.team)
    _require_writer(acting_user=acting_user, team=team)
    nickname = _clean_device_settings(
        company_id=device.company_id, team=team, time_zone=time_zone, nickname=nickname, description=description
    )
    locked = Device.objects.select_for_update().filter(pk=device.pk).first()
    if locked is None:
        raise ValidationError("This device was deleted meanwhile.")
    current_ids = list(
        DeviceClient.objects.filter(device_id=locked.pk).order_by("client_id").values_list("client_id", flat=True)
    )
    clients = _clean_client_settings(
        company=locked.company,
        client_selection_type=locked.client_selection_type if client_selection_type is None else client_selection_type,
        client_scope=locked.client_scope if client_scope is None else client_scope,
        include_area_clients=locked.include_area_clients if include_area_clients is None else include_area_clients,
        assigned_client_ids=current_ids if assigned_client_ids is None else assigned_client_ids,
        device=locked,
    )
    mode = locked.functionality_mode if functionality_mode is None else functionality_mode
    allowed = _clean_functionality(
        functionality_mode=mode, functionality=locked.functionality if functionality is None else functionality
    )
    old_license_number = locked.license.number if locked.license else ""
    if license.pk != locked.license_id:
        license = _lock_free_license(license)
    changes = {
        name: (str(getattr(locked, attr)), str(value))
        for name, attr, value in (
            ("team", "team_id", team.pk),
            ("license", "license_id", license.pk),
            ("time_zone", "time_zone", time_zone),
            ("nickname", "nickname", nickname),
            ("description", "description", description),
            ("client_selection_type", "client_selection_type", clients.client_selection_type),
            ("client_scope", "client_scope", clients.client_scope),
            ("include_area_clients", "include_area_clients", clients.include_area_clients),
            ("functionality_mode", "functionality_mode", mode),
            ("functionality", "functionality", allowed),
        )
        if str(getattr(locked, attr)) != str(value)
    }
    locked.team = team
    locked.license = license
    locked.time_zone = time_zone
    locked.nickname = nickname
    locked.description = description
    locked.client_selection_type = clients.client_selection_type
    locked.client_scope = clients.client_scope
    locked.include_area_clients = clients.include_area_clients
    locked.functionality_mode = mode
    locked.functionality = allowed
    locked.changed_at = timezone.now()
    try:
        with transaction.atomic():
            locked.save(
                update_fields=[
                    "team",
                    "license",
                    "time_zone",
                    "nickname",
                    "description",
                    "client_selection_type",
                    "client_scope",
                    "include_area_clients",
                    "functionality_mode",
                    "functionality",
                    "changed_at",
                ]
            )
    except IntegrityError:
        raise ValidationError({"license": f"License {license.number} was just taken; pick another."}) from None
    if _replace_assigned_clients(device=locked, client_ids=clients.assigned_client_ids):
        changes["assigned_clients"] = (str(current_ids), str(sorted(clients.assigned_client_ids)))
    summary = f"Device {nickname} changed"
    if "license" in changes:
        summary += f"; license {old_license_number or 'none'} → {license.number}"
    audit_record(
        company=locked.company,
        actor=acting_user,
        action="device.changed",
        obj=locked,
        summary=summary,
        data={
            "device_id": locked.pk,
            "changed": sorted(changes),
            "assigned_client_ids": sorted(clients.assigned_client_ids),
            "functionality": allowed,
        },
    )
    return locked


@transaction.atomic
def device_delete(*, device: Device, acting_user: User) -> None:
    """
    Delete a device: its license is free at once, its credentials and codes
    go with it (its next API call gets 401), its documents stay without it.
    Deleting a pending device is the same as cancelling its registration.
    """
    _require_writer(acting_user=acting_user, team=device.team)
    locked = Device.objects.select_for_update().filter(pk=device.pk).first()
    if locked is None:
        raise ValidationError("This device was already deleted.")
    if not locked.is_registered:
        device_cancel(device=locked, acting_user=acting_user)
        return
    license_number = locked.license.number if locked.license else ""
    now = timezone.now()
    _revoke_live_codes(device=locked, now=now)
    revoked = list(locked.credentials.filter(revoked_at__isnull=True).values_list("pk", flat=True))
    audit_record(
        company=locked.company,
        actor=acting_user,
        action="device.deleted",
        obj=locked,
        summary=f"Device {locked.nickname} deleted"
        + (f"; license {license_number} is free again" if license_number else ""),
        data={"device_id": locked.pk, "license": license_number, "revoked_credential_ids": revoked},
    )
    if revoked:
        audit_record(
            company=locked.company,
            actor=acting_user,
            action="credential.revoked",
            obj=locked,
            summary=f"Credential of {locked.nickname} revoked (device deleted)",
            data={"device_id": locked.pk, "credential_ids": revoked},
        )
    locked.delete()
