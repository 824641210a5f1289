"""
Writes on licenses. Licenses are issued and suspended by operators (the
people who run the service), never by a company's own users: these services
are called from the Django admin (``acting_user`` is the operator) and from
management commands (``OPERATOR_COMMAND``). ``license_lock_free`` is for the
services that give a license to a device.
"""

import datetime
import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import ngettext

from backoffice.audit.services import audit_changes, audit_record
from backoffice.licensing.choices import LicenseType
from backoffice.licensing.models import License
from backoffice.licensing.selectors import license_default_prefix, license_free_list, license_highest_serial
from backoffice.tenancy.models import Company
from backoffice.tenancy.permissions import Actor, require_operator
from backoffice.tenancy.scoping import company_scope

MAX_ISSUE_COUNT = 1000
NUMBER_MAX_LENGTH = 32
SERIAL_MIN_WIDTH = 5
LICENSE_NUMBER_TAKEN = "A license with this number already exists."


@transaction.atomic
def license_issue(
    *,
    acting_user: Actor,
    company: Company,
    count: int,
    license_type: str,
    expires_on: datetime.date | None,
    prefix: str | None = None,
) -> list[License]:
    """
    Issue ``count`` new licenses to ``company``, numbered ``<prefix><serial>``
    after the company's highest serial with that prefix (zero-padded to at
    least five digits). Without a prefix, the one of the company's latest
    license is used, "LIC-" for a company without licenses. Issuing for one
    company is serialised by a row lock on the company.
    """
    require_operator(acting_user)
    errors: dict[str, str] = {}
    if not 1 <= count <= MAX_ISSUE_COUNT:
        errors["count"] = f"Issue between 1 and {MAX_ISSUE_COUNT} licenses at a time."
    if license_type not in LicenseType.values:
        errors["license_type"] = f"Choose one of: {', '.join(LicenseType.values)}."
    if prefix is not None and (prefix != prefix.strip() or any(c.isdigit() for c in prefix[-1:])):
        errors["prefix"] = "A prefix has no surrounding spaces and does not end with a digit."
    if errors:
        raise ValidationError(errors)
    # FOR NO KEY UPDATE: serialises issuing for the company without holding up
    # the company's other writes, whose foreign keys take KEY SHARE locks on it.
    Company.objects.select_for_update(no_key=True).filter(pk=company.pk).first()
    with company_scope(company):
        if prefix is None:
            prefix = license_default_prefix()
        highest, width = license_highest_serial(prefix=prefix)
        width = max(width, SERIAL_MIN_WIDTH)
        numbers = [f"{prefix}{serial:0{width}d}" for serial in range(highest + 1, highest + count + 1)]
        if len(numbers[-1]) > NUMBER_MAX_LENGTH:
            raise ValidationError({"prefix": f"License numbers are at most {NUMBER_MAX_LENGTH} characters long."})
        try:
            with transaction.atomic():
                licenses = License.objects.bulk_create(
                    [
                        License(company=company, number=number, license_type=license_type, expires_on=expires_on)
                        for number in numbers
                    ]
                )
        except IntegrityError:
            # Only a number made outside this service (the row lock serialises
            # issuing) can collide; say so instead of failing with a 500.
            if not License.objects.filter(number__in=numbers).exists():
                raise
            raise ValidationError({"prefix": LICENSE_NUMBER_TAKEN}) from None
        audit_record(
            company=company,
            actor=acting_user,
            action="license.issued",
            summary=ngettext("%(count)d %(type)s license issued", "%(count)d %(type)s licenses issued", count)
            % {"count": count, "type": license_type}
            + f": {numbers[0]}–{numbers[-1]}",
            data={
                "numbers": numbers,
                "license_type": license_type,
                "expires_on": expires_on.isoformat() if expires_on else None,
            },
        )
    return licenses


def _holder(license: License) -> tuple[int | None, int | None]:
    """
    ``device_id`` and ``team_id`` of the device holding ``license`` (None when
    free), so that the license's events are filed under that device and team.
    Devices sit above this app: they are read through the reverse ``device``.
    """
    row = License.objects.filter(pk=license.pk).values_list("device__id", "device__team_id").first()
    return row if row is not None else (None, None)


def _license_as_shown(license: License) -> dict[str, object]:
    """The admin's license form as the operator reads it, for the audit trail."""
    return {
        "License type": license.get_license_type_display(),
        "Expires on": license.expires_on.isoformat() if license.expires_on else "No expiry",
    }


def _license_set_suspended(
    *, acting_user: Actor, license: License, suspended: bool, batch_id: uuid.UUID | None
) -> License:
    require_operator(acting_user)
    if license.is_suspended == suspended:
        return license
    license.is_suspended = suspended
    license.save(update_fields=["is_suspended", "changed_at"])
    with company_scope(license.company):
        device_id, team_id = _holder(license)
        audit_record(
            company=license.company,
            actor=acting_user,
            action="license.suspended" if suspended else "license.unsuspended",
            obj=license,
            summary=f"License {license.number} {'suspended' if suspended else 'unsuspended'}",
            changes=audit_changes({"Suspended": not suspended}, {"Suspended": suspended}),
            device_id=device_id,
            team_id=team_id,
            batch_id=batch_id,
        )
    return license


@transaction.atomic
def license_suspend(*, acting_user: Actor, license: License, batch_id: uuid.UUID | None = None) -> License:
    """
    Suspend a license: its device stops working with it at once. Idempotent.
    ``batch_id`` is shared by the events of one bulk action (the admin's).
    """
    return _license_set_suspended(acting_user=acting_user, license=license, suspended=True, batch_id=batch_id)


@transaction.atomic
def license_unsuspend(*, acting_user: Actor, license: License, batch_id: uuid.UUID | None = None) -> License:
    """Lift a suspension; the license is Active again unless it has expired. Idempotent."""
    return _license_set_suspended(acting_user=acting_user, license=license, suspended=False, batch_id=batch_id)


@transaction.atomic
def license_update(
    *, acting_user: Actor, license: License, license_type: str, expires_on: datetime.date | None
) -> License:
    """Change a license's type or expiry date (operators, in the Django admin); the number never changes."""
    require_operator(acting_user)
    if license_type not in LicenseType.values:
        raise ValidationError({"license_type": f"Choose one of: {', '.join(LicenseType.values)}."})
    before = {"license_type": license.license_type, "expires_on": str(license.expires_on)}
    shown_before = _license_as_shown(license)
    license.license_type = license_type
    license.expires_on = expires_on
    license.save(update_fields=["license_type", "expires_on", "changed_at"])
    with company_scope(license.company):
        device_id, team_id = _holder(license)
        audit_record(
            company=license.company,
            actor=acting_user,
            action="license.updated",
            obj=license,
            summary=f"License {license.number} changed"
            if (changes := audit_changes(shown_before, _license_as_shown(license)))
            else f"License {license.number} saved without changes",
            changes=changes,
            device_id=device_id,
            team_id=team_id,
            data={"before": before, "after": {"license_type": license_type, "expires_on": str(expires_on)}},
        )
    return license


def license_lock_free(*, license: License) -> License:
    """
    Lock ``license`` (in the open company scope) and check that a device may
    take it: it exists, it is active and no device holds it. Returns the
    locked row; raises ``ValidationError`` on ``license``. Devices sit above
    this app, so "held" is read through the reverse one-to-one ``device``.
    """
    locked = License.objects.select_for_update().filter(pk=license.pk).first()
    if locked is None:
        raise ValidationError({"license": "Select one of the available licenses."})
    if not locked.is_active:
        status = locked.get_status_display().lower()
        raise ValidationError({"license": f"License {locked.number} is {status}; pick another."})
    if License.objects.filter(pk=locked.pk, device__isnull=False).exists():
        raise ValidationError({"license": f"License {locked.number} was just taken; pick another."})
    return locked


def license_lock_free_many(*, count: int) -> list[License]:
    """
    Lock up to ``count`` licenses of the open company scope that a device may
    take (active, held by no device), for a batch of new devices, and return
    them by number. Fewer come back when fewer are free; the caller decides
    whether that refuses the batch.

    The candidates are locked in primary-key order (``SELECT ... FOR UPDATE``),
    then checked again by a fresh statement, which sees what a concurrent
    add committed while this one waited: a license taken meanwhile is
    dropped and more candidates are read and locked, until enough are free
    or none is left. Two batches therefore never take the same license, and
    the one that waited counts what the other left.
    """
    taken: list[License] = []
    seen: set[int] = set()
    while len(taken) < count:
        wanted = count - len(taken)
        candidates = list(license_free_list().exclude(pk__in=seen).order_by("pk").values_list("pk", flat=True)[:wanted])
        if not candidates:
            break
        seen.update(candidates)
        locked = list(License.objects.select_for_update().filter(pk__in=candidates).order_by("pk"))
        still_free = set(license_free_list().filter(pk__in=candidates).values_list("pk", flat=True))
        taken.extend(license for license in locked if license.pk in still_free)
    return sorted(taken, key=lambda license: (license.number, license.pk))
