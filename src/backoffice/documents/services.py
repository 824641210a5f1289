"""
Writes on documents: a service request, inspection or work order recorded
by a device through the device API.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from backoffice.audit.services import audit_record
from backoffice.devices.models import Device, DeviceClient
from backoffice.devices.selectors import effective_clients
from backoffice.documents.choices import DocumentKind
from backoffice.documents.models import Document


class ClientNotAvailable(Exception):
    """
    The client is not available on the device (docs/clients-and-functionality.md),
    or is missing, or belongs to another company: the device cannot tell these apart.
    """


@transaction.atomic
def document_record(*, device: Device, kind: str, number: str, client_id: int) -> Document:
    """
    Record a document created on ``device`` for client ``client_id``. The
    acting party is the device itself, so the audit event has no user.

    The client must be available on the device by the same rule as its
    configuration (``effective_clients``); otherwise ``ClientNotAvailable`` is
    raised and nothing is recorded. A recorded wholesale client stays
    available on the device under *Selected*. Run inside the device's
    company scope, with its team and company loaded.
    """
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": "Unknown document kind."})
    number = number.strip()
    if not 1 <= len(number) <= 64:
        raise ValidationError({"number": "Enter a number of 1 to 64 characters."})
    available = effective_clients(
        company=device.company,
        team=device.team,
        client_selection_type=device.client_selection_type,
        client_scope=device.client_scope,
        include_area_clients=device.include_area_clients,
        assigned_client_ids=DeviceClient.objects.filter(device_id=device.pk).values_list("client_id", flat=True),
        device_id=device.pk,
    )
    if not available.filter(pk=client_id).exists():
        raise ClientNotAvailable(client_id)
    document = Document.objects.create(
        company=device.company, kind=kind, number=number, client_id=client_id, device=device
    )
    audit_record(
        company=device.company,
        actor=None,
        action="document.recorded",
        obj=document,
        summary=f"{document.get_kind_display()} {number} recorded on {device.nickname}",
        data={"device_id": device.pk, "document_id": document.pk, "client_id": client_id, "kind": kind},
    )
    return document
