"""Reads on licenses."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import BooleanField, Count, ExpressionWrapper, IntegerField, Q, QuerySet, Subquery
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


# Which licenses are held by a registration code that expired before the
# device was registered. Devices (above this app) know what an expired code
# is; they set the filter from their AppConfig.ready, as they set the
# outbox's renderer, so that licensing never imports devices. Given the time
# of the read, it answers a filter on License (reaching the device through
# the reverse one-to-one ``device``).
ExpiredCodeHoldFilter = Callable[[datetime.datetime], Q]
_expired_code_hold_filters: list[ExpiredCodeHoldFilter] = []


def license_expired_code_hold_register(hold_filter: ExpiredCodeHoldFilter) -> None:
    """Set how a license held by an expired registration code is recognised (once, from the devices app)."""
    _expired_code_hold_filters[:] = [hold_filter]


def license_held_by_expired_code_q(*, now: datetime.datetime | None = None) -> Q:
    """
    A filter for licenses held by a never-registered device whose code has
    expired (the license is released after the company's grace period). No
    license matches when no app registered the rule.
    """
    if not _expired_code_hold_filters:
        return Q(pk__isnull=True)  # matches no license
    return _expired_code_hold_filters[0](now or timezone.now())


@dataclass(frozen=True)
class LicenseCounts:
    total: int
    free: int
    held_by_expired_codes: int = 0


def license_counts() -> LicenseCounts:
    """
    Count the scoped company's licenses: Total is every license, Free those
    that are active and held by no device (pending or registered), so a
    license held by an expired code is not free until it is released; and
    how many licenses expired codes hold. One query.
    """
    counts = License.objects.aggregate(
        total=Count("id"),
        free=Count("id", filter=license_active_q() & Q(device__isnull=True)),
        held_by_expired_codes=Count("id", filter=license_held_by_expired_code_q()),
    )
    return LicenseCounts(
        total=counts["total"], free=counts["free"], held_by_expired_codes=counts["held_by_expired_codes"]
    )


def license_counts_subqueries(
    *, day: datetime.date | None = None, now: datetime.datetime | None = None
) -> dict[str, Subquery]:
    """
    ``license_counts()`` on ``day`` at ``now`` (today, now by default) as
    scalar subqueries (``total``, ``free``, ``held_by_expired_codes``), for a
    read that needs the counts in the same statement as its own rows. Each is
    NULL when the company has no license.
    """
    licenses = License.objects.order_by().values("company_id")
    filters = {
        "total": None,
        "free": license_active_q(day=day) & Q(device__isnull=True),
        "held_by_expired_codes": license_held_by_expired_code_q(now=now),
    }
    return {
        name: Subquery(licenses.annotate(n=Count("id", filter=q)).values("n"), output_field=IntegerField())
        for name, q in filters.items()
    }


def license_free_list() -> QuerySet[License]:
    """Licenses a new device may take: active and held by no device."""
    return License.objects.filter(license_active_q(), device__isnull=True).order_by("number")


def license_list(*, status: str = "") -> QuerySet[License]:
    """
    The scoped company's licenses by number, each with the device holding it
    (joined, so the page runs a fixed number of queries) and
    ``held_by_expired_code``. ``status`` filters by derived status; an
    unknown or empty value lists all.
    """
    licenses = (
        License.objects.select_related("device", "device__team")
        .annotate(held_by_expired_code=ExpressionWrapper(license_held_by_expired_code_q(), output_field=BooleanField()))
        .order_by("number", "id")
    )
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
