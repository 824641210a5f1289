"""Reads on licenses."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from backoffice.licensing.models import License


def license_active_q(*, day: datetime.date | None = None, prefix: str = "") -> Q:
    """A filter for licenses that are Active on ``day`` (today by default)."""
    day = day or timezone.localdate()
    return Q(**{f"{prefix}is_suspended": False}) & (
        Q(**{f"{prefix}expires_on__isnull": True}) | Q(**{f"{prefix}expires_on__gte": day})
    )


@dataclass(frozen=True)
class LicenseCounts:
    total: int
    free: int


def license_counts() -> LicenseCounts:
    """
    Count the scoped company's licenses: Total is every license, Free those
    that are active and held by no device (pending or registered). One query.
    """
    counts = License.objects.aggregate(
        total=Count("id"),
        free=Count("id", filter=license_active_q() & Q(device__isnull=True)),
    )
    return LicenseCounts(total=counts["total"], free=counts["free"])


def license_free_list() -> QuerySet[License]:
    """Licenses a new device may take: active and held by no device."""
    return License.objects.filter(license_active_q(), device__isnull=True).order_by("number")
