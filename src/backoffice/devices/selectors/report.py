"""
Reads of the Devices Report: the per-device rows, streamed, and the
statistics above them, counted in SQL. Both follow the Active Devices page's
search through ``device_registered_list``, so the report and the list agree
whatever the search holds.
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from backoffice.core.spreadsheet import neutralise_sql
from backoffice.devices.last_seen import STATES, last_seen_q
from backoffice.devices.models import Device
from backoffice.devices.selectors.active_devices import DeviceSearch, device_registered_list
from backoffice.documents.choices import DocumentKind
from backoffice.documents.selectors import document_count_subquery
from backoffice.licensing.choices import LicenseStatus, LicenseType
from backoffice.licensing.models import License
from backoffice.licensing.selectors import (
    license_held_by_expired_code_q,
    license_tally_counts,
)
from backoffice.tenancy.models import User

REPORT_HEADER = (
    "Team",
    "Nickname",
    "Platform",
    "OS Type",
    "Device",
    "Device ID",
    "ReconPro Version",
    "License Number",
    "License Type",
    "License Status",
    "Time Zone",
    "Reg Date",
    "Change Date",
    "Last Check-in",
    "Service Requests",
    "Inspections",
    "Work Orders",
)


REPORT_FIELDS = (
    "team__name",
    "nickname",
    "platform",
    "os_type",
    "device_name",
    "device_identifier",
    "app_version",
    "license__number",
    "license__license_type",
    "license__is_suspended",
    "license__expires_on",
    "shown_time_zone",
    "registered_at",
    "changed_at",
    "last_check_in_at",
    "service_requests",
    "inspections",
    "work_orders",
)


def device_report_rows_query(*, user: User, search: DeviceSearch) -> QuerySet[Device, tuple[Any, ...]]:
    """The query of ``device_report_rows``, unevaluated."""
    return (
        device_registered_list(user=user, search=search)
        .annotate(
            service_requests=document_count_subquery(kind=DocumentKind.SERVICE_REQUEST),
            inspections=document_count_subquery(kind=DocumentKind.INSPECTION),
            work_orders=document_count_subquery(kind=DocumentKind.WORK_ORDER),
        )
        .values_list(*REPORT_FIELDS)
    )


def device_report_rows(*, user: User, search: DeviceSearch) -> Iterator[tuple[Any, ...]]:
    """
    Yield one tuple per registered device in the search (every page), in the
    list's default order, with the Devices Report's columns as raw values.
    Rows are read in chunks so memory stays flat whatever the fleet size.

    The query is built here, inside the caller's company scope, and only
    evaluated while the response streams, after the scope has closed.
    """
    return device_report_rows_query(user=user, search=search).iterator(chunk_size=2000)


@dataclass(frozen=True)
class DeviceReportStatistics:
    """
    The statistics block of the Devices Report. Every list holds
    ``(item, count)`` pairs in the order the report prints them.
    """

    # Counted over the registered devices in the search.
    devices: int
    platforms: list[tuple[str, int]]
    versions: list[tuple[str, int]]
    teams: list[tuple[str, int]]
    # Every state of ``last_seen.STATES``, zero counts included.
    last_seen: list[tuple[str, int]]
    # Every kind of ``DocumentKind``, zero counts included.
    documents: list[tuple[str, int]]
    # The company's licenses, whatever the search: see ``report_license_use``.
    licenses: list[tuple[str, int]]


def _grouped(devices: QuerySet[Device], field: str) -> list[tuple[str, int]]:
    """Count ``devices`` per value of ``field`` in SQL, largest group first, ties by value."""
    rows = devices.order_by().values_list(field).annotate(n=Count("id")).order_by("-n", field)
    return [(value or "", n) for value, n in rows]


def report_license_use(*, day: datetime.date | None = None) -> list[tuple[str, int]]:
    """
    Count the scoped company's licenses for the report: Total, Free (active
    and held by no device, as on the page), held by pending codes (by a device
    that is not registered yet) and, of those, held by expired codes (released
    after the company's grace period), Expired and Suspended (the derived
    status on ``day``, today by default). The counts overlap (an expired
    license may be held by a pending code); each answers its own question.
    Total, Free and the statuses come from the license tally, the holds from
    the pending devices' side: two small queries whatever the number of
    licenses.
    """
    day = day or timezone.localdate()
    counts = license_tally_counts(day=day)
    held = License.objects.filter(device__isnull=False, device__registered_at__isnull=True).aggregate(
        pending=Count("id"), expired=Count("id", filter=license_held_by_expired_code_q())
    )
    return [
        ("Total", counts.total),
        ("Free", counts.free),
        ("Held by pending codes", held["pending"]),
        # Of those, held by a code that expired (released after the grace period), as the Licenses page says.
        ("Held by expired codes", held["expired"]),
        ("Expired", counts.by_status[LicenseStatus.EXPIRED.value]),
        ("Suspended", counts.by_status[LicenseStatus.SUSPENDED.value]),
    ]


def device_report_statistics(*, user: User, search: DeviceSearch) -> DeviceReportStatistics:
    """
    The statistics of the registered devices ``user`` sees in ``search`` (a
    Team Administrator's team only), and the company's license use. Counted
    with aggregate queries, seven whatever the number of devices (the
    license lines: the license tally and the pending devices' holds);
    evaluated at once, inside the caller's company scope.
    """
    devices = device_registered_list(user=user, search=search)
    now = timezone.now()
    totals = devices.order_by().aggregate(
        devices=Count("id"), **{state: Count("id", filter=last_seen_q(state, now=now)) for state in STATES}
    )
    # One row per (device, document): a LEFT JOIN, so a device without
    # documents adds a row with no kind, which is left out.
    by_kind = {
        kind: n
        for kind, n in devices.order_by().values_list("documents__kind").annotate(n=Count("documents__id"))
        if kind is not None
    }
    teams = devices.order_by().values_list("team_id", "team__name").annotate(n=Count("id")).order_by("-n", "team__name")
    return DeviceReportStatistics(
        devices=totals["devices"],
        platforms=_grouped(devices, "platform"),
        versions=_grouped(devices, "app_version"),
        teams=[(name, n) for _, name, n in teams],
        last_seen=[(state, totals[state]) for state in STATES],
        documents=[(kind, by_kind.get(kind, 0)) for kind in DocumentKind.values],
        licenses=report_license_use(),
    )


def device_report_copy_sql(
    *, user: User, search: DeviceSearch, time_zone: str, today: datetime.date
) -> tuple[str, list[Any]]:
    """
    PostgreSQL only: the statement and parameters of ``COPY (...) TO STDOUT
    (FORMAT csv)`` that writes the device rows of the Devices Report exactly
    as ``report.report_lines`` does (same columns, same formula guard, dates
    in ``time_zone`` to the minute, license status on ``today``), but
    computed in SQL. The rows are those of ``device_report_rows``, in its
    order; the query is built inside the caller's company scope.
    """
    inner, inner_params = device_report_rows_query(user=user, search=search).query.sql_with_params()
    columns = ", ".join(f"c{i}" for i in range(1, 19))
    type_cases = " ".join("WHEN %s THEN %s" for _ in LicenseType.choices)
    type_params: list[Any] = [v for value, label in LicenseType.choices for v in (value, str(label))]

    def when(column: str) -> str:
        return f"to_char({column} AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI')"

    # The labels are worked out in a middle query, so that the guard (which
    # names its expression three times) only ever names a column.
    labels = (
        f"c1, c2, c3, c4, c5, c6, c7, c8, CASE c9 {type_cases} ELSE c9 END AS c9, "
        "CASE WHEN c10 IS NULL THEN NULL WHEN c10 THEN %s WHEN c11 < %s THEN %s ELSE %s END AS c10, "
        "c12 AS c11, c13 AS c12, c14 AS c13, c15 AS c14, c16 AS c15, c17 AS c16, c18 AS c17"
    )
    cells = [neutralise_sql(f"c{i}") for i in range(1, 12)]
    cells += [when("c12"), when("c13"), when("c14"), "c15", "c16", "c17"]
    status_params = [
        str(LicenseStatus.SUSPENDED.label),
        today,
        str(LicenseStatus.EXPIRED.label),
        str(LicenseStatus.ACTIVE.label),
    ]
    select = ", ".join(cells)
    statement = (
        f"COPY (SELECT {select} FROM (SELECT {labels} FROM ({inner}) AS devices ({columns})) AS report) "
        "TO STDOUT (FORMAT csv)"
    )
    params = [time_zone, time_zone, time_zone, *type_params, *status_params, *inner_params]
    return statement, params
