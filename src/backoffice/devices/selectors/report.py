"""
Reads of the Devices Report: the per-device rows, streamed, and the
statistics above them. Both follow the Active Devices page's search (the
rows through ``device_registered_list``, the statistics through the page's
figures, ``device_figures``), so the report and the list agree whatever the
search holds.

Every other company-owned table a statement joins or reads (licenses,
documents) is reached on the device's company as well as on its key
(``_company_license``, ``_company_documents``, the pending holds; the same
rows, since a device's license and documents are its company's): PostgreSQL
then carries the company's id over to that table and reads its rows through
its company index, instead of hashing or probing every company's
(docs/benchmarks.md, "4 Dec 2026: the report among 1,000 companies").
"""

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, FilteredRelation, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from backoffice.core.spreadsheet import neutralise_sql
from backoffice.devices.last_seen import STATES
from backoffice.devices.models import Device
from backoffice.devices.selectors.active_devices import (
    FILTER_PLATFORM,
    FILTER_TEAM,
    DeviceSearch,
    device_figures,
    device_registered_list,
)
from backoffice.documents.choices import DocumentKind
from backoffice.documents.selectors import document_kind_counts
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
    "company_license__number",
    "company_license__license_type",
    "company_license__is_suspended",
    "company_license__expires_on",
    "report_time_zone",
    "registered_at",
    "changed_at",
    "last_check_in_at",
    "service_requests",
    "inspections",
    "work_orders",
)


def _company_license() -> FilteredRelation:
    """The device's license, joined on the device's company as well (see the module's docstring)."""
    return FilteredRelation("license", condition=Q(license__company_id=F("company_id")))


def _company_documents() -> FilteredRelation:
    """The device's documents, joined on the device's company as well (see the module's docstring)."""
    return FilteredRelation("documents", condition=Q(documents__company_id=F("company_id")))


def _documents_of_kind(kind: str) -> Count:
    return Count("company_documents", filter=Q(company_documents__kind=kind))


def device_report_rows_query(*, user: User, search: DeviceSearch) -> QuerySet[Device, tuple[Any, ...]]:
    """
    The query of ``device_report_rows``, unevaluated: one statement whose
    every part the planner can cost, so that it reads a small company's rows
    serially and a large one's in parallel. The license and the documents
    are joined within the company, the documents counted by kind per device
    (a join grouped by device: no subquery per device and kind), and the
    time zone shown is the device's, or that of its team (joined for its
    name anyway).
    """
    return (
        device_registered_list(user=user, search=search)
        .annotate(
            company_license=_company_license(),
            company_documents=_company_documents(),
            report_time_zone=Coalesce(NullIf(F("time_zone"), Value("")), F("team__time_zone")),
            service_requests=_documents_of_kind(DocumentKind.SERVICE_REQUEST),
            inspections=_documents_of_kind(DocumentKind.INSPECTION),
            work_orders=_documents_of_kind(DocumentKind.WORK_ORDER),
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
    # The device on the license's company too, so that PostgreSQL reads the
    # company's pending devices through (company, registered_at), not every
    # company's.
    held = License.objects.filter(
        device__isnull=False, device__registered_at__isnull=True, device__company_id=F("company_id")
    ).aggregate(pending=Count("id"), expired=Count("id", filter=license_held_by_expired_code_q()))
    return [
        ("Total", counts.total),
        ("Free", counts.free),
        ("Held by pending codes", held["pending"]),
        # Of those, held by a code that expired (released after the grace period), as the Licenses page says.
        ("Held by expired codes", held["expired"]),
        ("Expired", counts.by_status[LicenseStatus.EXPIRED.value]),
        ("Suspended", counts.by_status[LicenseStatus.SUSPENDED.value]),
    ]


def _largest_first[Key](counts: dict[Key, int], name: Callable[[Key], str]) -> list[tuple[str, int]]:
    """
    ``(name, count)`` pairs, largest count first, ties by name: SQL's
    ``ORDER BY n DESC, name`` under the byte-order collations the Back Office
    runs on, in Python (as the versions chart orders its slices).
    """
    return [(name(key), n) for key, n in sorted(counts.items(), key=lambda item: (-item[1], name(item[0])))]


def device_report_statistics(*, user: User, search: DeviceSearch) -> DeviceReportStatistics:
    """
    The statistics of the registered devices ``user`` sees in ``search`` (a
    Team Administrator's team only), and the company's license use; exact,
    evaluated at once, inside the caller's company scope. Four queries
    whatever the number of devices: the devices' total, platforms, versions,
    teams and last-seen states are sums over the Active Devices page's
    figures (``device_figures``: the license tally and the devices outside
    Online, or the matches of a search box, in one statement), the
    documents are counted from their side (``document_kind_counts``), and
    the license lines come from the license tally and the pending devices'
    holds.
    """
    figures = device_figures(user=user, search=search, now=timezone.now())
    states = figures.states(search)
    by_kind = document_kind_counts(device_ids=device_registered_list(user=user, search=search).values("pk"))
    return DeviceReportStatistics(
        devices=sum(states.values()),
        platforms=_largest_first(figures.breakdown(search, FILTER_PLATFORM), str),
        versions=_largest_first(figures.versions(search), str),
        # A company's teams have distinct names.
        teams=_largest_first(figures.breakdown(search, FILTER_TEAM), figures.team_names.__getitem__),
        last_seen=[(state, states[state]) for state in STATES],
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
