"""
Reads of the printable code sheet: the devices of one batch, or a selection
of devices waiting for registration, each with its code as it may be printed.
"""

import datetime
import uuid
from dataclasses import dataclass

from django.http import Http404
from django.utils import timezone

from backoffice.core.text import id_parse
from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.selectors.active_devices import device_visible_queryset
from backoffice.tenancy.models import User

# At most this many devices on one sheet (a batch has at most 200 too).
SHEET_MAX = 200


@dataclass(frozen=True)
class SheetEntry:
    """
    One device on the code sheet. ``code`` is the formatted code while it can
    be used, read from its encrypted display copy; None otherwise, with
    ``status`` saying why (it is then shown as such and not printed).
    """

    device: Device
    registration_code: RegistrationCode | None
    code: str | None
    status: str

    @property
    def expires_at(self) -> datetime.datetime | None:
        return self.registration_code.expires_at if self.registration_code else None


def _status(registration_code: RegistrationCode | None, device: Device, now: datetime.datetime) -> str:
    if registration_code is None:
        return "Registered: no code waiting" if device.is_registered else "No code: use Replace to issue one"
    if registration_code.used_at is not None:
        return "Used: the device is registered"
    if registration_code.revoked_at is not None:
        return "Replaced or cancelled: no longer valid"
    if not registration_code.is_live(now):
        return "Expired: use Replace to issue a new code"
    return ""


def _entry(device: Device, registration_code: RegistrationCode | None, now: datetime.datetime) -> SheetEntry:
    status = _status(registration_code, device, now)
    code = None
    if registration_code is not None and not status:
        plain = code_unseal(registration_code.sealed_code)
        code = code_format(plain) if plain else None
        if code is None:
            status = "Expired: use Replace to issue a new code"
    return SheetEntry(device=device, registration_code=registration_code, code=code, status=status)


def sheet_ids_parse(raw: str) -> list[int] | None:
    """``?ids=1,2,3`` as ids in order without duplicates; None when a part is not an id or there are too many."""
    ids: list[int] = []
    for part in raw.split(",")[: SHEET_MAX + 1]:
        if not part.strip():
            continue
        pk = id_parse(part)
        if pk is None:
            return None
        if pk not in ids:
            ids.append(pk)
    if not ids or len(ids) > SHEET_MAX:
        return None
    return ids


def code_sheet_for_batch(*, user: User, batch_id: uuid.UUID, now: datetime.datetime | None = None) -> list[SheetEntry]:
    """
    Every device of the batch with the code it was given then, by nickname.
    Http404 when the batch is unknown in the scoped company, or when one of
    its devices is out of ``user``'s reach (another team's, for a Team
    Administrator): the whole sheet, never part of it.
    """
    now = now or timezone.now()
    codes = list(
        RegistrationCode.objects.filter(batch_id=batch_id)
        .select_related("device__team", "device__license")
        .order_by("device__nickname", "device_id")
    )
    if not codes:
        raise Http404("No such batch")
    visible = set(
        device_visible_queryset(user=user)
        .filter(pk__in=[code.device_id for code in codes])
        .values_list("pk", flat=True)
    )
    if any(code.device_id not in visible for code in codes):
        raise Http404("No such batch")
    return [_entry(code.device, code, now) for code in codes]


def code_sheet_for_devices(*, user: User, ids: list[int], now: datetime.datetime | None = None) -> list[SheetEntry]:
    """
    The devices ``ids`` in the given order, each with its open code. Http404
    for the whole sheet when one id is not a device ``user`` may see.
    """
    now = now or timezone.now()
    devices = {
        device.pk: device for device in device_visible_queryset(user=user).filter(pk__in=ids).select_related("team")
    }
    if len(devices) != len(ids):
        raise Http404("No such device")
    open_codes = {
        code.device_id: code
        for code in RegistrationCode.objects.open().filter(device_id__in=ids).order_by("created_at", "pk")
    }
    return [_entry(devices[pk], open_codes.get(pk), now) for pk in ids]
