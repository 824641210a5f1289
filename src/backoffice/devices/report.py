"""
The Devices Report: DeviceReport.csv, streamed.

One CSV file that a spreadsheet opens as one sheet: a title row, what the
report covers, the statistics of the search in "Section, Item, Count" rows,
an empty row, then the "Devices" title, the device header and one row per
device (see docs/active-devices.md).
"""

import csv
import datetime
import io
import zoneinfo
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection
from django.utils.translation import ngettext

from backoffice.core.spreadsheet import BOM, neutralise
from backoffice.devices.last_seen import IDLE, IDLE_HOURS, NEVER, OFFLINE, ONLINE, ONLINE_MINUTES
from backoffice.devices.selectors import REPORT_HEADER, DeviceReportStatistics
from backoffice.documents.choices import DocumentKind
from backoffice.licensing.choices import LicenseStatus, LicenseType

ROWS_PER_CHUNK = 500

REPORT_TITLE = "Devices Report"
STATISTICS_TITLE = "Statistics"
STATISTICS_HEADER = ("Section", "Item", "Count")
DEVICES_TITLE = "Devices"
# A platform or version the device has not reported, as the versions chart names it.
UNKNOWN = "Unknown"
DOCUMENT_LABELS: dict[str, str] = {
    DocumentKind.SERVICE_REQUEST: "Service Requests",
    DocumentKind.INSPECTION: "Inspections",
    DocumentKind.WORK_ORDER: "Work Orders",
}


def _when(value: datetime.datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    if value is None:
        return ""
    return value.astimezone(zone).replace(tzinfo=None).isoformat(" ", "minutes")


def _license_status(is_suspended: bool | None, expires_on: datetime.date | None, today: datetime.date) -> str:
    if is_suspended is None:
        return ""
    if is_suspended:
        return str(LicenseStatus.SUSPENDED.label)
    if expires_on is not None and expires_on < today:
        return str(LicenseStatus.EXPIRED.label)
    return str(LicenseStatus.ACTIVE.label)


def _last_seen_labels() -> dict[str, str]:
    minutes = ngettext("%(n)d minute", "%(n)d minutes", ONLINE_MINUTES) % {"n": ONLINE_MINUTES}
    hours = ngettext("%(n)d hour", "%(n)d hours", IDLE_HOURS) % {"n": IDLE_HOURS}
    return {
        ONLINE: f"Online (checked in within the last {minutes})",
        IDLE: f"Idle (checked in within the last {hours})",
        OFFLINE: f"Offline (no check-in for more than {hours})",
        NEVER: "Never seen (no check-in yet)",
    }


def statistics_rows(
    statistics: DeviceReportStatistics,
    *,
    company: str,
    search: Iterable[tuple[str, str]],
    generated: str,
) -> list[list[str | int]]:
    """
    The rows above the device header: the title, the company, when the report
    was made, the search it covers (``(box, value)`` pairs; none: every
    registered device), the statistics, and an empty row. Every text cell
    taken from the data is neutralised.
    """
    searched = "; ".join(f"{label}: {value}" for label, value in search) or "All registered devices"
    rows: list[list[str | int]] = [
        [REPORT_TITLE],
        ["Company", neutralise(company)],
        ["Generated", generated],
        ["Search", neutralise(searched)],
        [],
        [STATISTICS_TITLE],
        list(STATISTICS_HEADER),
        ["Devices", "Registered devices", statistics.devices],
    ]
    for section, items in (
        ("Platform", statistics.platforms),
        ("ReconPro version", statistics.versions),
        ("Team", statistics.teams),
    ):
        rows += [[section, neutralise(item or UNKNOWN), count] for item, count in items]
    last_seen = _last_seen_labels()
    rows += [["Last seen", last_seen[state], count] for state, count in statistics.last_seen]
    rows += [["Licenses", label, count] for label, count in statistics.licenses]
    rows += [["Documents", DOCUMENT_LABELS.get(kind, kind), count] for kind, count in statistics.documents]
    rows.append([])
    return rows


def _prologue(
    statistics: DeviceReportStatistics, *, company: str, search: Iterable[tuple[str, str]], time_zone: str
) -> str:
    """The BOM, the statistics block, the Devices title and the device header."""
    now = datetime.datetime.now(zoneinfo.ZoneInfo(time_zone))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    generated = f"{now.replace(tzinfo=None).isoformat(' ', 'minutes')} ({time_zone})"
    writer.writerows(statistics_rows(statistics, company=company, search=search, generated=generated))
    writer.writerow([DEVICES_TITLE])
    writer.writerow(REPORT_HEADER)
    return BOM + buffer.getvalue()


def report_copy_lines(
    copy_sql: tuple[str, list[Any]],
    *,
    statistics: DeviceReportStatistics,
    company: str,
    search: Iterable[tuple[str, str]] = (),
    time_zone: str,
) -> Iterator[str | bytes]:
    """
    PostgreSQL: the same bytes as ``report_lines``, the device rows written
    by ``COPY ... TO STDOUT (FORMAT csv)`` (``device_report_copy_sql``) and
    passed through as they arrive. libpq hands over one row per read, ended
    by LF; it is turned into CRLF. Memory stays flat whatever the fleet.
    """
    yield _prologue(statistics, company=company, search=search, time_zone=time_zone)
    statement, params = copy_sql
    # The psycopg cursor itself: Django's debug wrapper of copy() takes no parameters.
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        rows: list[bytes] = []
        for data in copy:
            rows.append(bytes(data[:-1]))
            if len(rows) == ROWS_PER_CHUNK:
                rows.append(b"")
                yield b"\r\n".join(rows)
                rows = []
        if rows:
            rows.append(b"")
            yield b"\r\n".join(rows)


def report_lines(
    rows: Iterable[tuple[Any, ...]],
    *,
    statistics: DeviceReportStatistics,
    company: str,
    search: Iterable[tuple[str, str]] = (),
    time_zone: str,
) -> Iterator[str]:
    """
    Turn the statistics and the report rows into RFC 4180 CSV (CRLF line
    ends), starting with a UTF-8 BOM so that Excel reads the encoding; dates
    in ``time_zone``. The statistics block comes first, then the device
    header; device rows are yielded in chunks of ``ROWS_PER_CHUNK`` to keep
    per-chunk overhead low, and are read only as the response streams.
    """
    zone = zoneinfo.ZoneInfo(time_zone)
    today = datetime.datetime.now(zone).date()
    yield _prologue(statistics, company=company, search=search, time_zone=time_zone)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    types = dict(LicenseType.choices)
    pending = 0
    for row in rows:
        (team, nickname, platform, os_type, device_name, device_id, version, lic_number, lic_type,
         lic_suspended, lic_expires, time_zone_name, registered, changed, last_seen,
         service_requests, inspections, work_orders) = row  # fmt: skip
        cells = [
            team, nickname, platform, os_type, device_name, device_id, version, lic_number or "",
            str(types.get(lic_type, lic_type or "")), _license_status(lic_suspended, lic_expires, today),
            time_zone_name or "",
        ]  # fmt: skip
        cells = [neutralise(cell) for cell in cells]
        cells += (_when(registered, zone), _when(changed, zone), _when(last_seen, zone),
                  service_requests, inspections, work_orders)  # fmt: skip
        writer.writerow(cells)
        pending += 1
        if pending == ROWS_PER_CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()
