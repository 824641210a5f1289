"""
Writes on a device's settings: add, edit and delete (the Device dialog's
Device Settings, Clients and Allowed Functionality tabs).

Every function is atomic, takes the acting user (checked by
``require_team_writer``) and records an audit event. Lock order, the same on
every write path: the device row first, then its license (``license_lock_free``),
then its codes and credentials.
"""

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from backoffice.audit.services import audit_changes, audit_event_build, audit_events_save, audit_initial, audit_record
from backoffice.core.text import TextKind, text_problem
from backoffice.core.timezones import is_valid_time_zone
from backoffice.devices.choices import ClientScope, ClientSelectionType, FunctionalityMode
from backoffice.devices.clients import ClientSettings, client_settings_clean, functionality_clean
from backoffice.devices.models import Device, DeviceClient
from backoffice.devices.services.registration import (
    DEFAULT_CODE_LIFETIME,
    _lock_device,
    _registration_code_issue,
    device_cancel,
    registration_codes_issue_batch,
    revoke_open_codes,
)
from backoffice.licensing.models import License
from backoffice.licensing.services import license_lock_free, license_lock_free_many
from backoffice.organization.models import Client, Team
from backoffice.organization.services import team_lock_for_entering_devices
from backoffice.tenancy.choices import Functionality
from backoffice.tenancy.models import User
from backoffice.tenancy.permissions import require_team_writer

MAX_RECIPIENTS = 20
NICKNAME_MAX_LENGTH = 64
DESCRIPTION_MAX_LENGTH = 500
# A batch of the Device dialog: 1 to BATCH_MAX devices at once.
BATCH_MAX = 200


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


def _clean_device_settings(*, company_id: int, team: Team, time_zone: str, nickname: str, description: str) -> str:
    """Check the Device Settings tab's own fields; return the stripped nickname."""
    if team.company_id != company_id:
        raise ValidationError({"team": "Select one of your company's teams."})
    if time_zone and not is_valid_time_zone(time_zone):
        raise ValidationError({"time_zone": "Select a time zone from the list."})
    nickname = nickname.strip()
    if not 1 <= len(nickname) <= NICKNAME_MAX_LENGTH:
        raise ValidationError({"nickname": f"Enter a nickname of at most {NICKNAME_MAX_LENGTH} characters."})
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise ValidationError({"description": f"Enter at most {DESCRIPTION_MAX_LENGTH} characters."})
    return nickname


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


def _label(choices: type[models.TextChoices], value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def _device_as_shown(
    *, device: Device, team: Team, license: License | None, client_names: dict[int, str], client_ids: Iterable[int]
) -> dict[str, object]:
    """
    The Device dialog's three tabs as the administrator reads them, keyed by
    the fields' labels: names for the team, the license and the clients,
    labels for choices and functionality, the team's zone when the device
    uses its team's default.
    """
    return {
        "Team": team.name,
        "Time Zone": device.time_zone or f"Team default ({team.time_zone})",
        "Lic.#": license.number if license is not None else None,
        "Nickname": device.nickname,
        "Description": device.description,
        "Client Selection Type": _label(ClientSelectionType, device.client_selection_type),
        "All or Selected": _label(ClientScope, device.client_scope),
        "Include ALL from Area": device.include_area_clients,
        "Assigned Clients": [client_names.get(pk, f"client #{pk}") for pk in client_ids],
        "Allowed Functionality": _label(FunctionalityMode, device.functionality_mode),
        "Custom functionality": [_label(Functionality, value) for value in device.functionality or []],
    }


def _client_names(ids: Iterable[int]) -> dict[int, str]:
    """Names of the clients ``ids`` (archived ones too), for the audit trail."""
    return dict(Client.objects.filter(pk__in=set(ids)).values_list("pk", "name"))


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
    clients: ClientSettings | None = None,
    functionality_mode: str = FunctionalityMode.COMPANY,
    functionality: Iterable[str] = (),
    batch_id: uuid.UUID | None = None,
) -> Device:
    """
    Add a pending device with its registration code and one queued email per
    recipient, all in one transaction, with its Clients tab (checked by
    ``client_settings_clean``; the defaults when None) and Allowed
    Functionality tab (``functionality_clean``).

    The license row is locked and re-checked (active and held by no device),
    so two administrators picking the same license get one device and one
    clear error. A race lost on the unique license column also becomes a
    ``ValidationError`` on ``license``, never an ``IntegrityError``.
    ``batch_id`` groups the events of a bulk add (an import).
    """
    company = require_team_writer(acting_user, team_id=team.pk)
    nickname = _clean_device_settings(
        company_id=company.pk, team=team, time_zone=time_zone, nickname=nickname, description=description
    )
    clean_recipients = _clean_recipients(recipients)
    team_lock_for_entering_devices(team=team)
    checked = client_settings_clean(company=company, clients=clients or ClientSettings())
    allowed = functionality_clean(functionality_mode=functionality_mode, functionality=functionality)

    locked = license_lock_free(license=license)
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
                client_selection_type=checked.client_selection_type,
                client_scope=checked.client_scope,
                include_area_clients=checked.include_area_clients,
                functionality_mode=functionality_mode,
                functionality=allowed,
                changed_at=now,
            )
    except IntegrityError:
        raise taken from None
    _replace_assigned_clients(device=device, client_ids=checked.assigned_client_ids)

    shown = _device_as_shown(
        device=device,
        team=team,
        license=locked,
        client_names=_client_names(checked.assigned_client_ids),
        client_ids=checked.assigned_client_ids,
    )
    audit_record(
        company=company,
        actor=acting_user,
        action="device.added",
        obj=device,
        summary=f"Device {nickname} added with license {locked.number}",
        # What it was added with, as changes from nothing (empty fields are left out).
        changes=audit_initial({**shown, "Recipients": clean_recipients}),
        data={
            "device_id": device.pk,
            "team_id": team.pk,
            "license": locked.number,
            "recipients": len(clean_recipients),
            "client_selection_type": checked.client_selection_type,
            "client_scope": checked.client_scope,
            "include_area_clients": checked.include_area_clients,
            "assigned_client_ids": list(checked.assigned_client_ids),
            "functionality_mode": functionality_mode,
            "functionality": allowed,
        },
        batch_id=batch_id,
    )
    _registration_code_issue(device=device, acting_user=acting_user, expires_in=expires_in, batch_id=batch_id)
    return device


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
    clients: ClientSettings | None = None,
    functionality_mode: str | None = None,
    functionality: Iterable[str] | None = None,
) -> Device:
    """
    Save the Device Settings, Clients and Allowed Functionality tabs of an
    existing device and set its Change Date; the Assigned Clients are
    replaced in the same transaction. ``clients`` or a functionality
    argument left None keeps the device's current value.

    The Reg Date never changes here. A new license is locked and must be
    active and held by no other device; the old one is freed by the same
    UPDATE. A Team Administrator may neither edit another team's device nor
    move a device to another team.
    """
    require_team_writer(acting_user, team_id=device.team_id)
    require_team_writer(acting_user, team_id=team.pk)
    nickname = _clean_device_settings(
        company_id=device.company_id, team=team, time_zone=time_zone, nickname=nickname, description=description
    )
    team_lock_for_entering_devices(team=team)
    locked = _lock_device(device, gone="This device was deleted meanwhile.")
    current = ClientSettings.of_device(locked)
    checked = client_settings_clean(company=locked.company, clients=clients or current, device=locked)
    mode = locked.functionality_mode if functionality_mode is None else functionality_mode
    allowed = functionality_clean(
        functionality_mode=mode, functionality=locked.functionality if functionality is None else functionality
    )
    old_license_number = locked.license.number if locked.license else ""
    if license.pk != locked.license_id:
        license = license_lock_free(license=license)
    names = _client_names([*current.assigned_client_ids, *checked.assigned_client_ids])
    shown_before = _device_as_shown(
        device=locked,
        team=locked.team,
        license=locked.license,
        client_names=names,
        client_ids=current.assigned_client_ids,
    )
    changes = {
        name: (str(getattr(locked, attr)), str(value))
        for name, attr, value in (
            ("team", "team_id", team.pk),
            ("license", "license_id", license.pk),
            ("time_zone", "time_zone", time_zone),
            ("nickname", "nickname", nickname),
            ("description", "description", description),
            ("client_selection_type", "client_selection_type", checked.client_selection_type),
            ("client_scope", "client_scope", checked.client_scope),
            ("include_area_clients", "include_area_clients", checked.include_area_clients),
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
    locked.client_selection_type = checked.client_selection_type
    locked.client_scope = checked.client_scope
    locked.include_area_clients = checked.include_area_clients
    locked.functionality_mode = mode
    locked.functionality = allowed
    # Never before the Reg Date, even when this server's clock is behind the
    # one that stored the registration.
    now = timezone.now()
    locked.changed_at = max(now, locked.registered_at) if locked.registered_at else now
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
    if _replace_assigned_clients(device=locked, client_ids=checked.assigned_client_ids):
        changes["assigned_clients"] = (
            str(sorted(current.assigned_client_ids)),
            str(sorted(checked.assigned_client_ids)),
        )
    readable = audit_changes(
        shown_before,
        _device_as_shown(
            device=locked, team=team, license=license, client_names=names, client_ids=checked.assigned_client_ids
        ),
    )
    summary = f"Device {nickname} changed" if readable else f"Device {nickname} saved without changes"
    if "license" in changes:
        summary += f"; license {old_license_number or 'none'} → {license.number}"
    # Filed under the device's (new) team; a move names the old team in ``changes``.
    audit_record(
        company=locked.company,
        actor=acting_user,
        action="device.changed",
        obj=locked,
        summary=summary,
        changes=readable,
        data={
            "device_id": locked.pk,
            "changed": sorted(changes),
            "assigned_client_ids": sorted(checked.assigned_client_ids),
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
    require_team_writer(acting_user, team_id=device.team_id)
    locked = _lock_device(device, gone="This device was already deleted.")
    if not locked.is_registered:
        device_cancel(device=locked, acting_user=acting_user)
        return
    license_number = locked.license.number if locked.license else ""
    revoke_open_codes(device=locked, now=timezone.now())
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


@dataclass(frozen=True)
class BatchAdded:
    """What ``devices_add_batch`` did: the batch's id, its devices (in order) and how many were asked for."""

    batch_id: uuid.UUID
    devices: list[Device]
    asked: int

    @property
    def short_by(self) -> int:
        """How many fewer devices than asked were added ("as many as there are licenses")."""
        return self.asked - len(self.devices)


def batch_nicknames_check(nicknames: Sequence[str]) -> list[str]:
    """
    A batch's list of nicknames, one a line: stripped, empty lines dropped;
    a ``ValidationError`` on ``nicknames`` naming the first bad line (too
    long, a control or invisible character, a duplicate in any case).
    """
    cleaned: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(nicknames, start=1):
        nickname = raw.strip()
        if not nickname:
            continue
        problem = text_problem(nickname, TextKind.NAME)
        if problem is not None:
            raise ValidationError({"nicknames": f"Line {number} {problem}."})
        if len(nickname) > NICKNAME_MAX_LENGTH:
            raise ValidationError(
                {"nicknames": f"Line {number} is {len(nickname)} characters long; at most {NICKNAME_MAX_LENGTH}."}
            )
        key = nickname.casefold()
        if key in seen:
            raise ValidationError({"nicknames": f"Line {number} repeats “{nickname}” of line {seen[key]}."})
        seen[key] = number
        cleaned.append(nickname)
    if not cleaned:
        raise ValidationError({"nicknames": "Enter at least one nickname, one a line."})
    if len(cleaned) > BATCH_MAX:
        raise ValidationError({"nicknames": f"At most {BATCH_MAX} devices at once; the list has {len(cleaned)}."})
    return cleaned


def batch_nicknames_generate(*, prefix: str, count: int, taken: Iterable[str]) -> list[str]:
    """
    ``count`` nicknames "<prefix> 01", "<prefix> 02"… (at least two digits),
    skipping those in ``taken`` (compared in any case), so that each is new
    among the company's devices.
    """
    taken_keys = {name.casefold() for name in taken}
    width = max(2, len(str(count)))
    names: list[str] = []
    number = 0
    while len(names) < count:
        number += 1
        name = f"{prefix} {number:0{width}d}"
        if name.casefold() not in taken_keys:
            names.append(name)
    return names


def _nicknames_in_use(nicknames: Iterable[str]) -> list[str]:
    """Which of ``nicknames`` a device of the scoped company already has (in any case)."""
    return list(
        Device.objects.annotate(lowered=Lower("nickname"))
        .filter(lowered__in=[name.lower() for name in nicknames])
        .values_list("nickname", flat=True)
    )


@transaction.atomic
def devices_add_batch(
    *,
    acting_user: User,
    team: Team,
    nicknames: Sequence[str] = (),
    quantity: int = 0,
    nickname_prefix: str = "",
    as_many_as_licenses: bool = False,
    description: str = "",
    time_zone: str = "",
    recipients: Sequence[str] = (),
    expires_in: datetime.timedelta = DEFAULT_CODE_LIFETIME,
    clients: ClientSettings | None = None,
    functionality_mode: str = FunctionalityMode.COMPANY,
    functionality: Iterable[str] = (),
) -> BatchAdded:
    """
    Add several pending devices at once, all or nothing, in one transaction:
    the devices named in ``nicknames`` (one each), or ``quantity`` devices
    named "<nickname_prefix> 01"… (numbers that no device of the company
    has). Team, time zone, description, recipients, the Clients and Allowed
    Functionality tabs apply to all.

    Each device takes its own free license (``license_lock_free_many``: the
    licenses are locked, then counted again, so concurrent adds never share
    one). With fewer free licenses than devices the batch is refused as a
    whole, unless ``as_many_as_licenses``, which adds the first ones, as
    many as there are licenses. Each device gets its own code, all sharing
    the batch id; each recipient gets ONE email listing every code. The
    audit trail gets one ``device.added`` per device and one
    ``device.batch_added``, all with the batch id, and never a code.
    """
    company = require_team_writer(acting_user, team_id=team.pk)
    if nicknames:
        names = batch_nicknames_check(nicknames)
    else:
        if not 1 <= quantity <= BATCH_MAX:
            raise ValidationError({"quantity": f"Enter a number of devices from 1 to {BATCH_MAX}."})
        prefix = nickname_prefix.strip()
        if len(prefix) > NICKNAME_MAX_LENGTH - 1 - max(2, len(str(quantity))):
            raise ValidationError({"nickname": "With a quantity, the nickname is a prefix: shorten it to leave room."})
        names = []
    _clean_device_settings(
        company_id=company.pk,
        team=team,
        time_zone=time_zone,
        nickname=names[0] if names else nickname_prefix,
        description=description,
    )
    clean_recipients = _clean_recipients(recipients)
    checked = client_settings_clean(company=company, clients=clients or ClientSettings())
    allowed = functionality_clean(functionality_mode=functionality_mode, functionality=functionality)
    asked = len(names) or quantity

    team_lock_for_entering_devices(team=team)
    licenses = license_lock_free_many(count=asked)
    if len(licenses) < asked and not (as_many_as_licenses and licenses):
        free = len(licenses)
        raise ValidationError(
            ("No license is free" if free == 0 else f"Only {free} license{'s are' if free != 1 else ' is'} free")
            + f"; you asked for {asked}. Free licenses by cancelling pending registrations or deleting devices"
            + (", or tick “As many as there are licenses”." if free else ", or ask for more licenses.")
        )
    count = len(licenses)
    # Nicknames are decided under the licenses' locks, so two batches with one
    # prefix running at once number their devices apart.
    if names:
        names = names[:count]
        in_use = _nicknames_in_use(names)
        if in_use:
            raise ValidationError(
                {"nicknames": f"A device is already called “{in_use[0]}”; give each new device a name of its own."}
            )
    else:
        taken = Device.objects.filter(nickname__istartswith=prefix).values_list("nickname", flat=True)
        names = batch_nicknames_generate(prefix=prefix, count=count, taken=taken)

    now = timezone.now()
    batch_id = uuid.uuid4()
    try:
        with transaction.atomic():
            devices = Device.objects.bulk_create(
                Device(
                    company=company,
                    team=team,
                    license=license,
                    time_zone=time_zone,
                    nickname=nickname,
                    description=description,
                    recipients=clean_recipients,
                    client_selection_type=checked.client_selection_type,
                    client_scope=checked.client_scope,
                    include_area_clients=checked.include_area_clients,
                    functionality_mode=functionality_mode,
                    functionality=allowed,
                    changed_at=now,
                )
                for nickname, license in zip(names, licenses, strict=True)
            )
    except IntegrityError:
        raise ValidationError("A license was just taken by another device; try again.") from None
    DeviceClient.objects.bulk_create(
        DeviceClient(company_id=company.pk, device=device, client_id=pk)
        for device in devices
        for pk in checked.assigned_client_ids
    )
    codes = registration_codes_issue_batch(
        devices=devices,
        acting_user=acting_user,
        expires_in=expires_in,
        batch_id=batch_id,
        recipients=clean_recipients,
        now=now,
    )
    client_names = _client_names(checked.assigned_client_ids)
    events = []
    for device, license, registration_code in zip(devices, licenses, codes, strict=True):
        shown = _device_as_shown(
            device=device,
            team=team,
            license=license,
            client_names=client_names,
            client_ids=checked.assigned_client_ids,
        )
        event = audit_event_build(
            company=company,
            actor=acting_user,
            action="device.added",
            obj=device,
            summary=f"Device {device.nickname} added with license {license.number} (batch of {count})",
            changes=audit_initial({**shown, "Recipients": clean_recipients}),
            data={
                "device_id": device.pk,
                "team_id": team.pk,
                "license": license.number,
                "recipients": len(clean_recipients),
                "registration_code_id": registration_code.pk,
                "expires_at": registration_code.expires_at.isoformat(),
                "client_selection_type": checked.client_selection_type,
                "client_scope": checked.client_scope,
                "include_area_clients": checked.include_area_clients,
                "assigned_client_ids": list(checked.assigned_client_ids),
                "functionality_mode": functionality_mode,
                "functionality": allowed,
            },
            batch_id=batch_id,
        )
        events.append(event)
    batch_event = audit_event_build(
        company=company,
        actor=acting_user,
        action="device.batch_added",
        summary=f"{count} devices added to {team.name} in one batch"
        + (f" ({asked - count} fewer than asked: no more free licenses)" if count < asked else ""),
        data={
            "device_ids": [device.pk for device in devices],
            "asked": asked,
            "added": count,
            "licenses": [license.number for license in licenses],
            "recipients": len(clean_recipients),
            "emails": len(clean_recipients),
            "expires_at": (now + expires_in).isoformat(),
        },
        team_id=team.pk,
        batch_id=batch_id,
    )
    audit_events_save([*events, batch_event])
    return BatchAdded(batch_id=batch_id, devices=devices, asked=asked)
