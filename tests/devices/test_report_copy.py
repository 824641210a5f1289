"""
DeviceReport.csv on PostgreSQL: the COPY path writes the same bytes as the
Python path, for hostile cell values and across a DST change.
"""

import datetime
import re
import zoneinfo

import pytest
from django.db import connection
from django.utils import timezone

from backoffice.devices.report import report_copy_lines, report_lines
from backoffice.devices.selectors import DeviceSearch, device_report_statistics
from backoffice.devices.selectors.report import device_report_copy_sql, device_report_rows
from backoffice.tenancy.scoping import company_scope
from tests.factories import DeviceFactory, LicenseFactory, TeamFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's"),
]

HOSTILE = ["=SUM(A1)", "+1", "-2", "@cmd", "\tTab", "\rCR", 'say "hi"', "a,b", "line\nbreak", "Zoë ✓ 東京", "", " x "]
GENERATED = re.compile(rb"Generated,[^\r]*\r\n")


def both(user, company, zone):
    search = DeviceSearch.from_query({})
    with company_scope(company):
        statistics = device_report_statistics(user=user, search=search)
        rows = device_report_rows(user=user, search=search)
        today = timezone.now().astimezone(zoneinfo.ZoneInfo(zone)).date()
        copy_sql = device_report_copy_sql(user=user, search=search, time_zone=zone, today=today)
    common = {"statistics": statistics, "company": company.name, "time_zone": zone}
    python = "".join(report_lines(rows, **common)).encode("utf-8")
    copied = b"".join(c if isinstance(c, bytes) else c.encode("utf-8") for c in report_copy_lines(copy_sql, **common))
    return GENERATED.sub(b"", python), GENERATED.sub(b"", copied)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC"])
def test_copy_path_writes_the_python_path_bytes(company_a, admin_a, zone):
    # Around the 2026 DST changes of New York (8 March, 1 November) and Berlin (29 March).
    instants = [
        datetime.datetime(2026, 3, 8, 6, 59, tzinfo=datetime.UTC),
        datetime.datetime(2026, 3, 8, 7, 1, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 1, 5, 30, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 1, 6, 30, tzinfo=datetime.UTC),
        datetime.datetime(2026, 3, 29, 0, 59, 59, tzinfo=datetime.UTC),
        datetime.datetime(2026, 3, 29, 1, 0, tzinfo=datetime.UTC),
    ]
    with company_scope(company_a):
        for i, text in enumerate(HOSTILE):
            team = TeamFactory(company=company_a, name=f"{text} team {i}" if i % 2 else text or "T")
            license = LicenseFactory(company=company_a, number=text or f"L{i}", is_suspended=i % 3 == 0)
            DeviceFactory(
                company=company_a,
                team=team,
                nickname=text or "N",
                platform=text,
                os_type=text,
                device_name=text,
                app_version=text,
                license=license if i % 4 else None,
                time_zone="" if i % 2 else "Europe/Kyiv",
                registered_at=instants[i % len(instants)],
                last_check_in_at=None if i % 5 == 0 else instants[(i + 1) % len(instants)],
            )
    python, copied = both(admin_a, company_a, zone)
    assert python.count(b"\r\n") > 20
    assert copied == python
