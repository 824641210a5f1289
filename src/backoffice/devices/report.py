"""The Devices Report: DeviceReport.csv, streamed."""

import csv
import datetime
import io
import zoneinfo
from collections.abc import Iterable, Iterator
from typing import Any

from backoffice.devices.selectors import REPORT_HEADER
from backoffice.licensing.choices import LicenseStatus, LicenseType

# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_PREFIXES = frozenset("=+-@\t\r")
BOM = "\ufeff"


ROWS_PER_CHUNK = 500


def neutralise(value: str) -> str:
    """Prefix a formula-like cell with an apostrophe so that it stays text."""
    if value[:1] in FORMULA_PREFIXES:
        return "'" + value
    return value


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


def report_lines(rows: Iterable[tuple[Any, ...]], *, time_zone: str) -> Iterator[str]:
    """
    Turn report rows into RFC 4180 CSV (CRLF line ends), starting with a UTF-8
    BOM so that Excel reads the encoding; dates in ``time_zone``. Rows are
    yielded in chunks of ``ROWS_PER_CHUNK`` to keep per-chunk overhead low.
    """
    zone = zoneinfo.ZoneInfo(time_zone)
    today = datetime.datetime.now(zone).date()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REPORT_HEADER)
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
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
