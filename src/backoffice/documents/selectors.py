"""Reads on documents."""

from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from backoffice.documents.models import Document


def document_client_ids(*, device_id: int) -> "QuerySet[Document, Any]":
    """The clients of the documents recorded on a device, as a subquery of ``client_id`` values."""
    return Document.objects.filter(device_id=device_id).values("client_id")


def document_count_subquery(*, kind: str) -> Coalesce:
    """
    An annotation that counts the documents of ``kind`` recorded on the row's
    device (``OuterRef("pk")``), 0 when there are none: one column of the
    Devices Report, computed in the same query as the device rows.
    """
    counts = (
        Document.objects.filter(device=OuterRef("pk"), kind=kind)
        .order_by()
        .values("device")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(counts), Value(0))


def document_list_for_device(*, device_id: int) -> "QuerySet[Document]":
    """The documents recorded on a device, newest first, with their clients joined (for its page, paged)."""
    return Document.objects.filter(device_id=device_id).select_related("client").order_by("-created_at", "-id")
