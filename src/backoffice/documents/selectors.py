"""Reads on documents."""

from typing import Any

from django.db.models import Count, QuerySet

from backoffice.documents.models import Document


def document_client_ids(*, device_id: int) -> "QuerySet[Document, Any]":
    """The clients of the documents recorded on a device, as a subquery of ``client_id`` values."""
    return Document.objects.filter(device_id=device_id).values("client_id")


def document_kind_counts(*, device_ids: "QuerySet[Any, Any]") -> dict[str, int]:
    """
    How many of the scoped company's documents are recorded on the devices
    ``device_ids`` gives (a subquery of device ids), by kind; kinds without
    documents are left out. One query.
    """
    rows = Document.objects.filter(device_id__in=device_ids).order_by().values_list("kind").annotate(n=Count("id"))
    return dict(rows)


def document_list_for_device(*, device_id: int) -> "QuerySet[Document]":
    """The documents recorded on a device, newest first, with their clients joined (for its page, paged)."""
    return Document.objects.filter(device_id=device_id).select_related("client").order_by("-created_at", "-id")
