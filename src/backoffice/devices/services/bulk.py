"""
Bulk actions on a selection of devices (the Active Devices list's selection
bar): move to a team, set the time zone, set Allowed Functionality, replace
the codes of pending devices, delete.

Each runs in one transaction, all or nothing. The lock order is the one of
every write on a device (docs/architecture.md): the device rows first, here
all of them in one ``SELECT … FOR UPDATE`` in id order (so two bulk actions,
or a bulk action and a single edit, queue instead of deadlocking), then
their codes and credentials. A selection that names a device that is gone
(deleted meanwhile, or never the company's) or one of a team the acting
user may not write fails as a whole, before anything is written.

The writes are set-based (one UPDATE or DELETE for the selection); the audit
trail gets one event per device, with its ``changes`` built by the same
helper as the single edit (``_device_as_shown``), in one bulk INSERT, and one
event for the batch, all with one ``batch_id``.
"""

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import ngettext

from backoffice.audit.services import audit_changes, audit_record, audit_record_many
from backoffice.core.timezones import is_valid_time_zone
from backoffice.devices.choices import FunctionalityMode
from backoffice.devices.clients import ClientSettings, client_settings_clean, functionality_clean
from backoffice.devices.models import Device, DeviceClient, DeviceCredential, RegistrationCode
from backoffice.devices.services.registration import (
    RegistrationCodeLimitReached,
    license_released_message,
    registration_codes_issue_batch,
    revoke_open_codes,
)
from backoffice.devices.services.settings import _client_names, _device_as_shown
from backoffice.notifications.services import outbox_email_obsolete
from backoffice.organization.models import Team
from backoffice.organization.services import team_lock_for_entering_devices
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.permissions import WRITER_ROLES, require_role, require_team_writer

# The largest selection one request acts on (the benchmark's 5,000 and some).
MAX_BULK_DEVICES = 10_000


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did: the devices it acted on, the batch's id, a sentence for the toast."""

    count: int
    batch_id: uuid.UUID
    message: str


def _devices(n: int) -> str:
    return ngettext("%(n)d device", "%(n)d devices", n) % {"n": n}


def _lock_selection(*, acting_user: User, ids: Sequence[int]) -> tuple[Company, list[Device]]:
    """
    Lock the selected devices in id order and check the acting user may
    write every one of them; refuse the whole selection otherwise.
    """
    company = require_role(acting_user, *WRITER_ROLES)
    wanted = sorted(set(ids))
    if not wanted:
        raise ValidationError("Select at least one device.")
    if len(wanted) > MAX_BULK_DEVICES:
        raise ValidationError(f"Select at most {MAX_BULK_DEVICES:,} devices at once.")
    # Lock the device rows alone, then read them with their team and license:
    # PostgreSQL re-checks a locked row that another transaction changed
    # meanwhile against the joined rows of the statement's snapshot, so a
    # join here would drop a device that a concurrent move gave a new team.
    ids_locked = list(
        Device.objects.select_for_update().filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True)
    )
    locked = list(Device.objects.select_related("license").filter(pk__in=ids_locked).order_by("pk"))
    # One Team object per team, not one per device (5,000 rows, a handful of teams).
    teams = Team.objects.in_bulk({device.team_id for device in locked})
    for device in locked:
        device.team = teams[device.team_id]
    if len(locked) != len(wanted):
        gone = len(wanted) - len(locked)
        raise ValidationError(
            ngettext(
                "%(n)d of the selected devices no longer exists; nothing was changed. Reload the page and try again.",
                "%(n)d of the selected devices no longer exist; nothing was changed. Reload the page and try again.",
                gone,
            )
            % {"n": gone}
        )
    for team_id in {device.team_id for device in locked}:
        require_team_writer(acting_user, team_id=team_id)
    return company, locked


def _changed_at(now: datetime.datetime) -> Greatest:
    """The Change Date a bulk UPDATE sets: now, never before the Reg Date (as ``device_update``)."""
    return Greatest(Value(now), Coalesce(F("registered_at"), Value(now)))


def _shown(device: Device, team: Team) -> dict[str, object]:
    """A device's tabs as shown, for ``audit_changes``; its clients are not touched by these actions."""
    return _device_as_shown(device=device, team=team, license=device.license, client_names={}, client_ids=())


def _record_changes(
    *,
    company: Company,
    acting_user: User,
    befores: list[tuple[Device, dict[str, object]]],
    after: Iterable[tuple[Device, dict[str, object]]],
    batch_id: uuid.UUID,
    extra: dict[str, object],
) -> int:
    """One ``device.changed`` event per device with what changed, like a single edit; return how many changed."""
    events = []
    for (device, before), (_same, shown_after) in zip(befores, after, strict=True):
        readable = audit_changes(before, shown_after)
        if not readable:
            continue
        events.append(
            {
                "action": "device.changed",
                "obj": device,
                "summary": f"Device {device.nickname} changed",
                "changes": readable,
                "data": {"device_id": device.pk, "changed": sorted(extra), **extra},
            }
        )
    audit_record_many(company=company, actor=acting_user, events=events, batch_id=batch_id)
    return len(events)


@transaction.atomic
def devices_bulk_move(*, acting_user: User, ids: Sequence[int], team: Team) -> BulkResult:
    """
    Move the selected devices to ``team`` (a team the acting user may write).
    Devices on their team's default time zone take the new team's zone.
    """
    if team.company_id != require_team_writer(acting_user, team_id=team.pk).pk:
        raise ValidationError({"team": "Select one of your company's teams."})
    team_lock_for_entering_devices(team=team)
    company, locked = _lock_selection(acting_user=acting_user, ids=ids)
    befores = [(device, _shown(device, device.team)) for device in locked]
    now = timezone.now()
    moving = [device.pk for device in locked if device.team_id != team.pk]
    Device.objects.filter(pk__in=moving).update(team=team, changed_at=_changed_at(now))
    zone_changes = sum(
        1 for d in locked if d.team_id != team.pk and not d.time_zone and d.team.time_zone != team.time_zone
    )
    for device in locked:
        # Filed under the new team, as a single edit's event; the old one is in ``changes``.
        device.team = team
    batch_id = uuid.uuid4()
    changed = _record_changes(
        company=company,
        acting_user=acting_user,
        befores=befores,
        after=[(device, _shown(device, team)) for device in locked],
        batch_id=batch_id,
        extra={"team": team.pk},
    )
    message = f"{_devices(len(moving))} moved to {team.name}"
    if len(moving) != len(locked):
        message += f"; {len(locked) - len(moving)} already there"
    if zone_changes:
        message += f"; {zone_changes} changed time zone (team default {team.time_zone})"
    audit_record(
        company=company,
        actor=acting_user,
        action="device.bulk_moved",
        obj=team,
        summary=message,
        data={"team_id": team.pk, "device_ids": [d.pk for d in locked], "moved": len(moving), "changed": changed},
        batch_id=batch_id,
    )
    return BulkResult(count=len(moving), batch_id=batch_id, message=message + ".")


@transaction.atomic
def devices_bulk_time_zone(*, acting_user: User, ids: Sequence[int], time_zone: str) -> BulkResult:
    """Set the selected devices' time zone: a zone, or "" for each one's team default."""
    if time_zone and not is_valid_time_zone(time_zone):
        raise ValidationError({"time_zone": "Select a time zone from the list."})
    company, locked = _lock_selection(acting_user=acting_user, ids=ids)
    befores = [(device, _shown(device, device.team)) for device in locked]
    changing = [device.pk for device in locked if device.time_zone != time_zone]
    Device.objects.filter(pk__in=changing).update(time_zone=time_zone, changed_at=_changed_at(timezone.now()))
    for device in locked:
        device.time_zone = time_zone
    batch_id = uuid.uuid4()
    _record_changes(
        company=company,
        acting_user=acting_user,
        befores=befores,
        after=[(device, _shown(device, device.team)) for device in locked],
        batch_id=batch_id,
        extra={"time_zone": time_zone},
    )
    zone = time_zone or "their team's default"
    message = f"Time zone of {_devices(len(changing))} set to {zone}"
    if len(changing) != len(locked):
        message += f"; {len(locked) - len(changing)} already had it"
    audit_record(
        company=company,
        actor=acting_user,
        action="device.bulk_time_zone_set",
        summary=message,
        data={"time_zone": time_zone, "device_ids": [d.pk for d in locked], "changed": len(changing)},
        batch_id=batch_id,
    )
    return BulkResult(count=len(changing), batch_id=batch_id, message=message + ".")


@transaction.atomic
def devices_bulk_functionality(
    *, acting_user: User, ids: Sequence[int], functionality_mode: str, functionality: Iterable[str] = ()
) -> BulkResult:
    """Set the selected devices' Allowed Functionality: the company's settings, or a custom list."""
    allowed = functionality_clean(functionality_mode=functionality_mode, functionality=functionality)
    company, locked = _lock_selection(acting_user=acting_user, ids=ids)
    befores = [(device, _shown(device, device.team)) for device in locked]
    changing = [
        device.pk
        for device in locked
        if device.functionality_mode != functionality_mode or list(device.functionality or []) != list(allowed)
    ]
    Device.objects.filter(pk__in=changing).update(
        functionality_mode=functionality_mode, functionality=allowed, changed_at=_changed_at(timezone.now())
    )
    for device in locked:
        device.functionality_mode = functionality_mode
        device.functionality = allowed
    batch_id = uuid.uuid4()
    _record_changes(
        company=company,
        acting_user=acting_user,
        befores=befores,
        after=[(device, _shown(device, device.team)) for device in locked],
        batch_id=batch_id,
        extra={"functionality_mode": functionality_mode, "functionality": allowed},
    )
    what = "company settings" if functionality_mode == FunctionalityMode.COMPANY else "a custom list"
    message = f"Allowed Functionality of {_devices(len(changing))} set to {what}"
    if len(changing) != len(locked):
        message += f"; {len(locked) - len(changing)} already had it"
    audit_record(
        company=company,
        actor=acting_user,
        action="device.bulk_functionality_set",
        summary=message,
        data={
            "functionality_mode": functionality_mode,
            "functionality": allowed,
            "device_ids": [d.pk for d in locked],
            "changed": len(changing),
        },
        batch_id=batch_id,
    )
    return BulkResult(count=len(changing), batch_id=batch_id, message=message + ".")


@transaction.atomic
def devices_bulk_clients(*, acting_user: User, ids: Sequence[int], clients: ClientSettings) -> BulkResult:
    """
    Set the selected devices' Clients tab (Client Selection Type, All or
    Selected, Include ALL from Area, Assigned Clients), checked once by
    ``client_settings_clean``: one UPDATE, and the Assigned Clients replaced
    for every device in two statements.
    """
    company, locked = _lock_selection(acting_user=acting_user, ids=ids)
    checked = client_settings_clean(company=company, clients=clients)
    pks = [device.pk for device in locked]
    current: dict[int, list[int]] = {pk: [] for pk in pks}
    for device_id, client_id in (
        DeviceClient.objects.filter(device_id__in=pks).order_by("pk").values_list("device_id", "client_id")
    ):
        current[device_id].append(client_id)
    new_ids = list(checked.assigned_client_ids)
    names = _client_names([*new_ids, *(c for assigned in current.values() for c in assigned)])

    def shown(device: Device, client_ids: Sequence[int]) -> dict[str, object]:
        return _device_as_shown(
            device=device, team=device.team, license=device.license, client_names=names, client_ids=client_ids
        )

    befores = [(device, shown(device, current[device.pk])) for device in locked]
    changing = [
        device.pk
        for device in locked
        if (device.client_selection_type, device.client_scope, device.include_area_clients)
        != (checked.client_selection_type, checked.client_scope, checked.include_area_clients)
        or set(current[device.pk]) != set(new_ids)
    ]
    Device.objects.filter(pk__in=changing).update(
        client_selection_type=checked.client_selection_type,
        client_scope=checked.client_scope,
        include_area_clients=checked.include_area_clients,
        changed_at=_changed_at(timezone.now()),
    )
    DeviceClient.objects.filter(device_id__in=changing).exclude(client_id__in=new_ids).delete()
    DeviceClient.objects.bulk_create(
        (
            DeviceClient(company_id=company.pk, device_id=pk, client_id=client_id)
            for pk in changing
            for client_id in new_ids
            if client_id not in current[pk]
        ),
        batch_size=2000,
    )
    for device in locked:
        device.client_selection_type = checked.client_selection_type
        device.client_scope = checked.client_scope
        device.include_area_clients = checked.include_area_clients
    batch_id = uuid.uuid4()
    _record_changes(
        company=company,
        acting_user=acting_user,
        befores=befores,
        after=[(device, shown(device, new_ids)) for device in locked],
        batch_id=batch_id,
        extra={
            "client_selection_type": checked.client_selection_type,
            "client_scope": checked.client_scope,
            "include_area_clients": checked.include_area_clients,
            "assigned_client_ids": new_ids,
        },
    )
    message = f"Clients tab of {_devices(len(changing))} set"
    if len(changing) != len(locked):
        message += f"; {len(locked) - len(changing)} already had it"
    audit_record(
        company=company,
        actor=acting_user,
        action="device.bulk_clients_set",
        summary=message,
        data={"device_ids": pks, "changed": len(changing), "assigned_client_ids": new_ids},
        batch_id=batch_id,
    )
    return BulkResult(count=len(changing), batch_id=batch_id, message=message + ".")


def _codes_issue(
    *, devices: Sequence[Device], acting_user: User, expires_in: datetime.timedelta, batch_id: uuid.UUID
) -> list[int]:
    """
    Issue a new code for each device and queue their emails: ONE email per
    recipient listing the new codes of the devices they receive codes for.
    Devices are grouped by their recipients; each group is a batch of codes
    (the first one takes the action's ``batch_id``, so its code sheet is
    ``?batch=<id>``), whose email lists the group's codes. A recipient of
    devices with different recipient lists gets one email per list. Returns
    the new codes' ids in the order of ``devices``.
    """
    now = timezone.now()
    groups: dict[tuple[str, ...], list[Device]] = {}
    for device in devices:
        groups.setdefault(tuple(sorted(device.recipients)), []).append(device)
    code_of: dict[int, int] = {}
    for n, (recipients, group) in enumerate(groups.items()):
        codes = registration_codes_issue_batch(
            devices=group,
            acting_user=acting_user,
            expires_in=expires_in,
            batch_id=batch_id if n == 0 else uuid.uuid4(),
            recipients=list(recipients),
            now=now,
        )
        code_of.update({code.device_id: code.pk for code in codes})
    return [code_of[device.pk] for device in devices]


@transaction.atomic
def devices_bulk_replace_codes(*, acting_user: User, ids: Sequence[int], expires_in: datetime.timedelta) -> BulkResult:
    """
    Replace the codes of the selected pending devices: each one's open code
    stops working at once and a new one is issued and emailed. Refused as a
    whole when a selected device is registered or has lost its license.
    """
    company, locked = _lock_selection(acting_user=acting_user, ids=ids)
    registered = [device.nickname for device in locked if device.is_registered]
    if registered:
        raise ValidationError(
            f"Replace codes acts on pending devices only; {len(registered)} of the selection "
            f"{'is' if len(registered) == 1 else 'are'} registered ({', '.join(registered[:3])}"
            f"{'…' if len(registered) > 3 else ''}). Nothing was changed."
        )
    for device in locked:
        if device.license_id is None:
            raise RegistrationCodeLimitReached(license_released_message(device))
    now = timezone.now()
    revoked = {device.pk: revoke_open_codes(device=device, now=now) for device in locked}
    batch_id = uuid.uuid4()
    new_codes = _codes_issue(devices=locked, acting_user=acting_user, expires_in=expires_in, batch_id=batch_id)
    audit_record_many(
        company=company,
        actor=acting_user,
        events=[
            {
                "action": "registration_code.replaced",
                "obj": device,
                "summary": f"Registration code replaced for {device.nickname}",
                "data": {"device_id": device.pk, "revoked_code_ids": revoked[device.pk], "registration_code_id": code},
            }
            for device, code in zip(locked, new_codes, strict=True)
        ],
        batch_id=batch_id,
    )
    emails = sum(len(recipients) for recipients in {tuple(sorted(device.recipients)) for device in locked})
    message = f"New registration codes issued for {_devices(len(locked))}; the previous ones no longer work"
    if emails:
        message += "; " + ngettext("%(n)d email queued", "%(n)d emails queued", emails) % {"n": emails}
    audit_record(
        company=company,
        actor=acting_user,
        action="registration_code.bulk_replaced",
        summary=message,
        data={"device_ids": [d.pk for d in locked], "emails": emails},
        batch_id=batch_id,
    )
    return BulkResult(count=len(locked), batch_id=batch_id, message=message + ".")


@transaction.atomic
def devices_bulk_delete(*, acting_user: User, ids: Sequence[int]) -> BulkResult:
    """
    Delete the selected devices, as ``device_delete`` does one: their
    licenses are free at once, their open codes are revoked and their unsent
    emails dropped, their credentials go with them (the apps' next call gets
    401); pending ones are cancelled. Their documents stay.
    """
    company, locked = _lock_selection(acting_user=acting_user, ids=ids)
    now = timezone.now()
    pks = [device.pk for device in locked]
    open_codes = list(RegistrationCode.objects.open().filter(device_id__in=pks).values_list("pk", flat=True))
    if open_codes:
        RegistrationCode.objects.filter(pk__in=open_codes).update(revoked_at=now, sealed_code=None)
        outbox_email_obsolete(registration_code_ids=open_codes)
    credentials: dict[int, list[int]] = {}
    for device_id, credential_id in DeviceCredential.objects.filter(
        device_id__in=pks, revoked_at__isnull=True
    ).values_list("device_id", "pk"):
        credentials.setdefault(device_id, []).append(credential_id)
    events: list[dict[str, object]] = []
    for device in locked:
        number = device.license.number if device.license else ""
        freed = f"; license {number} is free again" if number else ""
        if device.is_registered:
            # One event per device: its credential's revocation is in it (a single
            # Delete writes a second event for it; 5,000 more rows here for the same fact).
            revoked = credentials.get(device.pk, [])
            events.append(
                {
                    "action": "device.deleted",
                    "obj": device,
                    "summary": f"Device {device.nickname} deleted{freed}"
                    + ("; its credential is revoked" if revoked else ""),
                    "data": {"device_id": device.pk, "license": number, "revoked_credential_ids": revoked},
                }
            )
        else:
            events.append(
                {
                    "action": "device.cancelled",
                    "obj": device,
                    "summary": f"Pending device {device.nickname} cancelled{freed}",
                    "data": {"device_id": device.pk, "license": number},
                }
            )
    batch_id = uuid.uuid4()
    audit_record_many(company=company, actor=acting_user, events=events, batch_id=batch_id)
    Device.objects.filter(pk__in=pks).delete()
    licenses = sum(1 for device in locked if device.license_id)
    message = f"{_devices(len(locked))} deleted"
    if licenses:
        message += "; " + ngettext("%(n)d license is free again", "%(n)d licenses are free again", licenses) % {
            "n": licenses
        }
    audit_record(
        company=company,
        actor=acting_user,
        action="device.bulk_deleted",
        summary=message,
        data={"device_ids": pks, "licenses_freed": licenses},
        batch_id=batch_id,
    )
    return BulkResult(count=len(locked), batch_id=batch_id, message=message + ".")
