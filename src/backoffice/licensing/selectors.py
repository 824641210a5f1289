"""Reads on licenses."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from backoffice.licensing.choices import LicenseStatus
from backoffice.licensing.models import License, LicenseTally, status_q


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


@dataclass(frozen=True)
class LicenseTallyCounts:
    """The scoped company's licenses on a day, from ``LicenseTally``: in all, free, and by status."""

    total: int
    free: int
    by_status: dict[str, int]


def license_tally_counts(*, day: datetime.date | None = None) -> LicenseTallyCounts:
    """
    Sum ``LicenseTally``'s few rows (whatever the number of licenses), each
    row's status taken on ``day`` (today by default): Total, Free (active and
    held by no device) and the count of each status. One query.
    """
    day = day or timezone.localdate()
    total = free = 0
    by_status = {status.value: 0 for status in LicenseStatus}
    for row in LicenseTally.objects.filter(n__gt=0):
        status = row.status_on(day)
        total += row.n
        by_status[status.value] += row.n
        if not row.held and status == LicenseStatus.ACTIVE:
            free += row.n
    return LicenseTallyCounts(total=total, free=free, by_status=by_status)


def license_counts(*, day: datetime.date | None = None) -> LicenseCounts:
    """
    Count the scoped company's licenses: Total is every license, Free those
    that are active on ``day`` (today by default) and held by no device
    (pending or registered), so a license held by an expired code is not
    free until it is released; and how many licenses expired codes hold.

    Total and Free are summed from ``LicenseTally`` (``license_tally_counts``);
    the expired codes' holds are counted from the pending devices' side. Two
    queries.
    """
    counts = license_tally_counts(day=day)
    # The device on the license's company too, so that PostgreSQL reads the
    # company's pending devices, not every company's.
    held_by_expired_codes = (
        License.objects.filter(
            device__isnull=False, device__registered_at__isnull=True, device__company_id=F("company_id")
        )
        .filter(license_held_by_expired_code_q())
        .count()
    )
    return LicenseCounts(total=counts.total, free=counts.free, held_by_expired_codes=held_by_expired_codes)


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
