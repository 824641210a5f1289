"""Reads on licenses."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from backoffice.licensing.choices import LicenseStatus
from backoffice.licensing.models import License, status_q


def license_status_q(status: str, *, day: datetime.date | None = None, prefix: str = "") -> Q:
    """
    A filter for licenses whose derived status is ``status`` on ``day`` (today
    by default). Built from ``licensing.models.STATUS_RULE``, like
    ``License.status_on``; ``prefix`` reaches the license through a relation.
    """
    return status_q(status, day=day or timezone.localdate(), prefix=prefix)


def license_active_q(*, day: datetime.date | None = None, prefix: str = "") -> Q:
    """A filter for licenses that are Active on ``day`` (today by default)."""
    return license_status_q(LicenseStatus.ACTIVE, day=day, prefix=prefix)


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


def license_list(*, status: str = "") -> QuerySet[License]:
    """
    The scoped company's licenses by number, each with the device holding it
    (joined, so the page runs a fixed number of queries). ``status`` filters
    by derived status; an unknown or empty value lists all.
    """
    licenses = License.objects.select_related("device", "device__team").order_by("number", "id")
    if status in LicenseStatus.values:
        licenses = licenses.filter(license_status_q(status))
    return licenses


def license_highest_serial(*, prefix: str) -> tuple[int, int]:
    """
    The highest number among the scoped company's licenses ``<prefix><digits>``,
    and the digit count it is written with; ``(0, 0)`` when there is none.
    """
    highest, width = 0, 0
    for number in License.objects.filter(number__startswith=prefix).values_list("number", flat=True):
        digits = number[len(prefix) :]
        if digits.isdigit() and int(digits) >= highest:
            highest, width = int(digits), max(width, len(digits))
    return highest, width


def license_default_prefix() -> str:
    """The prefix of the scoped company's most recently issued license, "LIC-" when there is none."""
    latest = License.objects.order_by("-created_at", "-id").values_list("number", flat=True).first()
    if latest is None:
        return "LIC-"
    return latest.rstrip("0123456789")
