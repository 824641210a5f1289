"""
Writes on documents: a service request, inspection or work order recorded
by a device through the device API.
"""

from django.core.exceptions import ValidationError
from django.db import models, transaction

from backoffice.audit.services import audit_record
from backoffice.documents.choices import DocumentKind
from backoffice.documents.models import Document
from backoffice.tenancy.permissions import DEVICE_API


class ClientNotAvailable(Exception):
    """
    The client is not available on the device (docs/clients-and-functionality.md),
    or is missing, or belongs to another company: the device cannot tell these apart.
    """


@transaction.atomic
def document_record(
    *,
    company: models.Model,
    device_id: int,
    device_label: str,
    team_id: int | None = None,
    kind: str,
    number: str,
    client_id: int,
    available_clients: models.QuerySet,
) -> Document:
    """
    Record a document created on device ``device_id`` of team ``team_id``
    (named ``device_label`` in the audit trail, filed under both) for client
    ``client_id``. The acting party is the
    device itself (``DEVICE_API``).

    The client must be among ``available_clients``, which the caller computes
    with the Clients tab rule (this app sits below devices, so the rule is
    passed in); otherwise ``ClientNotAvailable`` is raised and nothing is
    recorded. Run inside the device's company scope.
    """
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": "Unknown document kind."})
    number = number.strip()
    if not 1 <= len(number) <= 64:
        raise ValidationError({"number": "Enter a number of 1 to 64 characters."})
    if not available_clients.filter(pk=client_id).exists():
        raise ClientNotAvailable(client_id)
    document = Document.objects.create(
        company_id=company.pk, kind=kind, number=number, client_id=client_id, device_id=device_id
    )
    audit_record(
        company=company,
        actor=DEVICE_API,
        action="document.recorded",
        obj=document,
        summary=f"{document.get_kind_display()} {number} recorded on {device_label}",
        data={"device_id": device_id, "document_id": document.pk, "client_id": client_id, "kind": kind},
        device_id=device_id,
        team_id=team_id,
    )
    return document
