"""The Devices Report: DeviceReport.csv, streamed."""

import csv
import datetime
import zoneinfo
from collections.abc import Iterable, Iterator
from typing import Any

from backoffice.devices.selectors import REPORT_HEADER
from backoffice.licensing.choices import LicenseStatus, LicenseType

# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def neutralise(value: str) -> str:
    """Prefix a formula-like cell with an apostrophe so that it stays text."""
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _when(value: datetime.datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""


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
    Turn report rows into RFC 4180 CSV lines (CRLF), starting with a UTF-8 BOM
    so that Excel reads the encoding; dates in ``time_zone``.
    """
    zone = zoneinfo.ZoneInfo(time_zone)
    today = datetime.datetime.now(zone).date()
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield BOM + writer.writerow(REPORT_HEADER)
    types = dict(LicenseType.choices)
    for row in rows:
        (team, nickname, platform, os_type, device_name, device_id, version, lic_number, lic_type,
         lic_suspended, lic_expires, time_zone_name, registered, changed, last_seen,
         service_requests, inspections, work_orders) = row  # fmt: skip
        cells = [
            team, nickname, platform, os_type, device_name, device_id, version, lic_number or "",
            str(types.get(lic_type, lic_type or "")), _license_status(lic_suspended, lic_expires, today),
            time_zone_name,
        ]  # fmt: skip
        yield writer.writerow(
            [neutralise(str(cell)) for cell in cells]
            + [_when(registered, zone), _when(changed, zone), _when(last_seen, zone)]
            + [service_requests, inspections, work_orders]
        )
