"""Reads for the device API."""

import hashlib
import json

from django.utils import timezone

from backoffice.core.scoping import scopes_disabled
from backoffice.devices.codes import credential_digest
from backoffice.devices.models import Device, DeviceCredential
from backoffice.licensing.choices import LicenseStatus
from backoffice.tenancy.middleware import company_zone


def device_for_credential(*, credential: str) -> Device | None:
    """
    The registered device holding the live ``credential``, or None.

    A credential can belong to any company, so the look-up runs with scopes
    explicitly disabled; the caller opens the device's company scope. It is
    one query on the unique digest index, joining the device, its team, its
    license and its company, because it runs on every authenticated call.
    """
    with scopes_disabled():
        try:
            row = DeviceCredential.objects.select_related("device__team", "device__license", "device__company").get(
                digest=credential_digest(credential), revoked_at__isnull=True, device__registered_at__isnull=False
            )
        except DeviceCredential.DoesNotExist:
            return None
    return row.device


def device_license_is_active(*, device: Device) -> bool:
    """
    Whether the device holds a license that is active today in its company's
    time zone (the day the Back Office shows), the expiry day itself included.
    """
    if device.license is None:
        return False
    day = timezone.localdate(timezone=company_zone(device.company))
    return device.license.status_on(day) == LicenseStatus.ACTIVE


def config_etag(config: dict[str, object]) -> str:
    """
    The strong ETag of a configuration: a hash of its canonical JSON, quoted as
    the ``ETag`` header carries it, so equal settings give equal tags in every
    process.
    """
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'
