"""
DeviceReport.csv: the statistics block, then the device rows, parsed back
with the csv module and checked against a fleet built here.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.devices.last_seen import STATES, last_seen_q, last_seen_state
from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.report import ROWS_PER_CHUNK
from backoffice.devices.selectors import REPORT_HEADER, DeviceSearch, device_report_statistics
from backoffice.documents.models import Document
from backoffice.licensing.selectors import license_counts
from backoffice.tenancy.scoping import company_scope
from tests.device_api.conftest import make_pending
from tests.factories import ClientFactory, DeviceFactory, LicenseFactory, TeamFactory, company_today

BOM = "\ufeff"
LAST_SEEN_ITEMS = {
    "online": "Online (checked in within the last 15 minutes)",
    "idle": "Idle (checked in within the last 24 hours)",
    "offline": "Offline (no check-in for more than 24 hours)",
    "never": "Never seen (no check-in yet)",
}


def last_seen(online: int, idle: int, offline: int, never: int) -> list[tuple[str, int]]:
    """The Last seen section as the report prints it."""
    return list(zip(LAST_SEEN_ITEMS.values(), (online, idle, offline, never), strict=True))


@dataclass
class Report:
    """A DeviceReport.csv taken apart: the rows above the statistics, the statistics and the devices."""

    preamble: dict[str, str]
    statistics: list[tuple[str, str, int]]
    rows: list[list[str]]

    def section(self, name: str) -> list[tuple[str, int]]:
        return [(item, count) for section, item, count in self.statistics if section == name]

    def count(self, section: str, item: str) -> int:
        (count,) = [c for s, i, c in self.statistics if (s, i) == (section, item)]
        return count


def read_report(response) -> Report:
    """Parse a report back, checking its framing: BOM, CRLF, titles, headers and empty rows."""
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="DeviceReport.csv"'
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM + "Devices Report\r\n")
    assert body.endswith("\r\n")
    assert "\n" not in body.replace("\r\n", "")
    table = list(csv.reader(io.StringIO(body.removeprefix(BOM))))
    assert table[0] == ["Devices Report"]
    assert [row[0] for row in table[1:4]] == ["Company", "Generated", "Search"]
    assert all(len(row) == 2 for row in table[1:4])
    assert table[4:7] == [[], ["Statistics"], ["Section", "Item", "Count"]]
    end = table.index([], 7)
    assert table[end + 1 : end + 3] == [["Devices"], list(REPORT_HEADER)]
    statistics = []
    for row in table[7:end]:
        section, item, count = row
        statistics.append((section, item, int(count)))
    return Report(preamble=dict(table[1:4]), statistics=statistics, rows=table[end + 3 :])


@pytest.fixture
def fleet(company_a, team_a, default_team_a, company_b):
    """
    Company A: five registered devices on three teams, a pending device, free
    licenses of every status and documents on and off the devices. Company B:
    a device, licenses and a document that must never count for A.
    """
    now = timezone.now()
    today = company_today(company_a)
    yesterday = today - datetime.timedelta(days=1)
    with company_scope(company_a):
        fleet_team = TeamFactory(company=company_a, name="Fleet Services")
        spec = [
            # nickname, team, platform, version, license (expires_on, suspended), last check-in
            ("Lot Tablet", team_a, "Android", "5.4.1", (None, False), now - datetime.timedelta(minutes=1)),
            ("Lot Phone", team_a, "iOS", "5.4.2", (None, False), now - datetime.timedelta(hours=2)),
            ("Shop Surface", fleet_team, "Windows", "6.0.0", (yesterday, False), now - datetime.timedelta(days=3)),
            ("Van Tablet", fleet_team, "Android", "5.4.1", (None, True), None),
            ("Office iPad", default_team_a, "iOS", "", (None, False), None),
        ]
        devices = {}
        for nickname, team, platform, version, (expires_on, suspended), seen in spec:
            dates = {"expires_on": expires_on} if expires_on is not None else {}
            license = LicenseFactory(company=company_a, is_suspended=suspended, **dates)
            devices[nickname] = DeviceFactory(
                company=company_a,
                team=team,
                nickname=nickname,
                platform=platform,
                app_version=version,
                license=license,
                last_check_in_at=seen,
            )
        pending = DeviceFactory(
            company=company_a,
            team=team_a,
            nickname="Pending Van",
            platform="Android",
            registered_at=None,
            license=LicenseFactory(company=company_a),
        )
        # Free: active (one expiring today, still valid); not free: expired,
        # suspended, suspended and expired (counts as suspended).
        LicenseFactory(company=company_a)
        LicenseFactory(company=company_a, expires_on=today)
        LicenseFactory(company=company_a, expires_on=yesterday)
        LicenseFactory(company=company_a, is_suspended=True)
        LicenseFactory(company=company_a, is_suspended=True, expires_on=yesterday)
        client = ClientFactory(company=company_a)
        documents = [
            (devices["Lot Tablet"], "service_request", 2),
            (devices["Lot Tablet"], "work_order", 1),
            (devices["Shop Surface"], "inspection", 1),
            (devices["Van Tablet"], "work_order", 3),
            (pending, "service_request", 1),
            (None, "service_request", 1),  # recorded on a device since deleted
        ]
        for device, kind, n in documents:
            for _ in range(n):
                Document.objects.create(
                    company=company_a, kind=kind, number=f"N-{Document.objects.count()}", client=client, device=device
                )
    with company_scope(company_b):
        other = DeviceFactory(
            company=company_b,
            team=TeamFactory(company=company_b, name="Alpha Team"),
            platform="Android",
            app_version="5.4.1",
            license=LicenseFactory(company=company_b),
            last_check_in_at=now,
        )
        LicenseFactory(company=company_b)
        Document.objects.create(
            company=company_b,
            kind="service_request",
            number="B-1",
            client=ClientFactory(company=company_b),
            device=other,
        )
    return devices


COMPANY_LICENSES = [
    ("Total", 11),
    ("Free", 2),
    ("Held by pending codes", 1),
    ("Held by expired codes", 0),
    ("Expired", 2),
    ("Suspended", 3),
]


def test_statistics_of_the_whole_fleet(as_admin_a, fleet):
    report = read_report(as_admin_a.get("/devices/DeviceReport.csv"))
    assert report.preamble["Company"] == "Company A"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d \(America/Chicago\)", report.preamble["Generated"])
    assert report.preamble["Search"] == "All registered devices"
    assert report.statistics == [
        ("Devices", "Registered devices", 5),
        ("Platform", "Android", 2),
        ("Platform", "iOS", 2),
        ("Platform", "Windows", 1),
        ("ReconPro version", "5.4.1", 2),
        ("ReconPro version", "Unknown", 1),
        ("ReconPro version", "5.4.2", 1),
        ("ReconPro version", "6.0.0", 1),
        ("Team", "Alpha Team", 2),
        ("Team", "Fleet Services", 2),
        ("Team", "Default Team", 1),
        *(("Last seen", item, count) for item, count in last_seen(1, 1, 1, 2)),
        *(("Licenses", item, count) for item, count in COMPANY_LICENSES),
        ("Documents", "Service Requests", 2),
        ("Documents", "Inspections", 1),
        ("Documents", "Work Orders", 4),
    ]
    assert sorted(row[1] for row in report.rows) == sorted(fleet)


def test_statistics_agree_with_the_rows_and_the_page(as_admin_a, company_a, fleet):
    report = read_report(as_admin_a.get("/devices/DeviceReport.csv"))
    sums = [sum(int(row[i]) for row in report.rows) for i in (14, 15, 16)]
    assert sums == [count for _, count in report.section("Documents")]
    assert sum(count for _, count in report.section("Platform")) == len(report.rows)
    assert sum(count for _, count in report.section("Last seen")) == len(report.rows)
    with company_scope(company_a), timezone.override(company_a.zone):
        counts = license_counts()
    assert (report.count("Licenses", "Total"), report.count("Licenses", "Free")) == (counts.total, counts.free)


@pytest.mark.parametrize(
    ("query", "search", "expected"),
    [
        (
            "platform=android",
            "Platform: android",
            {
                "Devices": [("Registered devices", 2)],
                "Platform": [("Android", 2)],
                "ReconPro version": [("5.4.1", 2)],
                "Team": [("Alpha Team", 1), ("Fleet Services", 1)],
                "Last seen": last_seen(1, 0, 0, 1),
                "Documents": [("Service Requests", 2), ("Inspections", 0), ("Work Orders", 4)],
            },
        ),
        (
            "team=fleet&version=6",
            "Team: fleet; Version: 6",
            {
                "Devices": [("Registered devices", 1)],
                "Platform": [("Windows", 1)],
                "ReconPro version": [("6.0.0", 1)],
                "Team": [("Fleet Services", 1)],
                "Last seen": last_seen(0, 0, 1, 0),
                "Documents": [("Service Requests", 0), ("Inspections", 1), ("Work Orders", 0)],
            },
        ),
        (
            "nickname=office",
            "Nickname: office",
            {
                "Devices": [("Registered devices", 1)],
                "Platform": [("iOS", 1)],
                "ReconPro version": [("Unknown", 1)],
                "Team": [("Default Team", 1)],
                "Last seen": last_seen(0, 0, 0, 1),
                "Documents": [("Service Requests", 0), ("Inspections", 0), ("Work Orders", 0)],
            },
        ),
        (
            "nickname=nothing+like+this",
            "Nickname: nothing like this",
            {
                "Devices": [("Registered devices", 0)],
                "Platform": [],
                "ReconPro version": [],
                "Team": [],
                "Last seen": last_seen(0, 0, 0, 0),
                "Documents": [("Service Requests", 0), ("Inspections", 0), ("Work Orders", 0)],
            },
        ),
    ],
)
def test_statistics_follow_the_search(as_admin_a, fleet, query, search, expected):
    report = read_report(as_admin_a.get(f"/devices/DeviceReport.csv?{query}"))
    assert report.preamble["Search"] == search
    assert {section: report.section(section) for section in expected} == expected
    assert report.section("Licenses") == COMPANY_LICENSES
    assert len(report.rows) == expected["Devices"][0][1]


def test_team_administrator_counts_only_their_team(as_teamadmin_a, fleet):
    report = read_report(as_teamadmin_a.get("/devices/DeviceReport.csv"))
    assert report.section("Devices") == [("Registered devices", 2)]
    assert report.section("Platform") == [("Android", 1), ("iOS", 1)]
    assert report.section("Team") == [("Alpha Team", 2)]
    assert report.section("Documents") == [("Service Requests", 2), ("Inspections", 0), ("Work Orders", 1)]
    # License use is the company's, as the page's Licenses Total and Free are.
    assert report.section("Licenses") == COMPANY_LICENSES
    assert sorted(row[1] for row in report.rows) == ["Lot Phone", "Lot Tablet"]


def test_another_company_counts_only_its_own(as_admin_b, fleet):
    report = read_report(as_admin_b.get("/devices/DeviceReport.csv"))
    assert report.preamble["Company"] == "Company B"
    assert report.section("Devices") == [("Registered devices", 1)]
    assert report.section("Team") == [("Alpha Team", 1)]
    assert report.section("Licenses") == [
        ("Total", 2),
        ("Free", 1),
        ("Held by pending codes", 0),
        ("Held by expired codes", 0),
        ("Expired", 0),
        ("Suspended", 0),
    ]
    assert report.section("Documents") == [("Service Requests", 1), ("Inspections", 0), ("Work Orders", 0)]
    assert len(report.rows) == 1


def test_statistics_cells_are_neutralised(as_admin_a, company_a):
    with company_scope(company_a):
        team = TeamFactory(company=company_a, name='=HYPERLINK("http://x")')
        DeviceFactory(company=company_a, team=team, nickname="A", platform="+cmd", app_version="-1")
        DeviceFactory(company=company_a, team=team, nickname="B", platform="@SUM(A1)", app_version="\t5")
    report = read_report(as_admin_a.get("/devices/DeviceReport.csv?team=%3DHYPER"))
    assert report.preamble["Search"] == "Team: =HYPER"
    assert report.section("Team") == [('\'=HYPERLINK("http://x")', 2)]
    assert sorted(report.section("Platform")) == [("'+cmd", 1), ("'@SUM(A1)", 1)]
    assert sorted(report.section("ReconPro version")) == [("'\t5", 1), ("'-1", 1)]
    assert {row[0] for row in report.rows} == {'\'=HYPERLINK("http://x")'}


def test_a_company_name_like_a_formula_is_neutralised(as_admin_a, company_a):
    company_a.name = "=1+1"
    company_a.save(update_fields=["name"])
    report = read_report(as_admin_a.get("/devices/DeviceReport.csv"))
    assert report.preamble["Company"] == "'=1+1"


def _report_queries(http) -> int:
    with CaptureQueriesContext(connection) as queries:
        read_report(http.get("/devices/DeviceReport.csv"))
    return len(queries)


def _add_devices(company, team, client, n: int) -> None:
    with company_scope(company):
        for i in range(n):
            device = DeviceFactory(
                company=company,
                team=TeamFactory(company=company) if i % 2 else team,
                platform=f"Platform {i % 7}",
                app_version=f"5.{i % 5}",
                license=LicenseFactory(company=company),
                last_check_in_at=timezone.now() - datetime.timedelta(hours=i),
            )
            Document.objects.create(
                company=company, kind="work_order", number=f"Q-{device.pk}", client=client, device=device
            )


def test_the_report_runs_a_fixed_number_of_queries(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        client = ClientFactory(company=company_a)
    _add_devices(company_a, team_a, client, 5)
    five = _report_queries(as_admin_a)
    _add_devices(company_a, team_a, client, 45)
    report = read_report(as_admin_a.get("/devices/DeviceReport.csv"))
    assert report.section("Devices") == [("Registered devices", 50)]
    assert report.section("Documents") == [("Service Requests", 0), ("Inspections", 0), ("Work Orders", 50)]
    assert len(report.section("Team")) == 1 + 24
    assert _report_queries(as_admin_a) == five


def test_the_statistics_take_four_queries(admin_a, company_a, team_a, django_assert_num_queries):
    """
    The page's figures (the devices' total, platforms, versions, teams and
    last seen), the documents by kind, then the license lines: the license
    tally and the pending devices' holds.
    """
    with company_scope(company_a):
        client = ClientFactory(company=company_a)
    _add_devices(company_a, team_a, client, 12)
    with company_scope(company_a), django_assert_num_queries(4):
        statistics = device_report_statistics(user=admin_a, search=DeviceSearch())
    assert statistics.devices == 12


def test_the_statistics_come_first_and_the_rows_stream_in_chunks(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        DeviceFactory.create_batch(ROWS_PER_CHUNK + 1, company=company_a, team=team_a)
    chunks = list(as_admin_a.get("/devices/DeviceReport.csv").streaming_content)
    assert len(chunks) == 3
    first = chunks[0].decode()
    assert first.startswith(BOM + "Devices Report\r\n")
    assert first.endswith("\r\nDevices\r\n" + ",".join(REPORT_HEADER) + "\r\n")
    assert f"Devices,Registered devices,{ROWS_PER_CHUNK + 1}\r\n" in first
    assert [chunk.decode().count("\r\n") for chunk in chunks[1:]] == [ROWS_PER_CHUNK, 1]


@pytest.mark.parametrize(
    "age",
    [
        datetime.timedelta(minutes=-5),
        datetime.timedelta(0),
        datetime.timedelta(minutes=15) - datetime.timedelta(seconds=1),
        datetime.timedelta(minutes=15),
        datetime.timedelta(minutes=15, seconds=1),
        datetime.timedelta(hours=24),
        datetime.timedelta(hours=24, seconds=1),
        datetime.timedelta(days=400),
        None,
    ],
)
def test_last_seen_filter_is_the_twin_of_the_badge_rule(company_a, team_a, age):
    now = timezone.now()
    seen = None if age is None else now - age
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, last_check_in_at=seen)
        matching = [state for state in STATES if Device.objects.filter(last_seen_q(state, now=now)).exists()]
    assert matching == [last_seen_state(seen, now=now)]


def test_report_is_csv_of_the_whole_search_with_bom(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        for i in range(60):
            DeviceFactory(company=company_a, team=team_a, nickname=f"Unit {i:02d}")
        DeviceFactory(company=company_a, team=team_a, nickname="Other")
        DeviceFactory(company=company_a, team=team_a, nickname="Unit pending", registered_at=None)
    report = read_report(as_admin_a.get("/devices/DeviceReport.csv?nickname=unit"))
    assert len(report.rows) == 60
    assert [r[1] for r in report.rows[:3]] == ["Unit 00", "Unit 01", "Unit 02"]
    assert report.section("Devices") == [("Registered devices", 60)]


def test_report_row_values_dates_and_document_counts(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        device = DeviceFactory(
            company=company_a,
            team=team_a,
            nickname="Reported",
            platform="iOS",
            os_type="iOS 18.1",
            device_name="iPad Air",
            device_identifier="ID-1",
            app_version="5.4.2",
            time_zone="",
            license=LicenseFactory(company=company_a, number="NW-1", license_type="professional", is_suspended=True),
            registered_at=datetime.datetime(2026, 1, 10, 15, 0, tzinfo=datetime.UTC),
            changed_at=datetime.datetime(2026, 7, 1, 12, 0, tzinfo=datetime.UTC),
            last_check_in_at=datetime.datetime(2026, 7, 2, 12, 30, tzinfo=datetime.UTC),
        )
        client = ClientFactory(company=company_a)
        for kind, n in (("service_request", 1), ("inspection", 2), ("work_order", 3)):
            for i in range(n):
                Document.objects.create(
                    company=company_a, kind=kind, number=f"{kind}-{i}", client=client, device=device
                )
    report = read_report(as_admin_a.get("/devices/DeviceReport.csv"))
    assert report.rows == [
        [
            "Alpha Team",
            "Reported",
            "iOS",
            "iOS 18.1",
            "iPad Air",
            "ID-1",
            "5.4.2",
            "NW-1",
            "Professional",
            "Suspended",
            "America/Denver",
            "2026-01-10 09:00",
            "2026-07-01 07:00",
            "2026-07-02 07:30",
            "1",
            "2",
            "3",
        ]
    ]


def test_report_neutralises_formula_cells(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        for nick in ('=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "Plain"):
            DeviceFactory(company=company_a, team=team_a, nickname=nick)
    report = read_report(as_admin_a.get("/devices/DeviceReport.csv"))
    assert sorted(r[1] for r in report.rows) == sorted(
        ['\'=HYPERLINK("http://x")', "'+1+1", "'-2", "'@SUM(A1)", "Plain"]
    )


def test_report_respects_team_and_company(as_teamadmin_a, as_admin_b, company_a, team_a, default_team_a):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="Mine")
        DeviceFactory(company=company_a, team=default_team_a, nickname="Theirs")
    assert [r[1] for r in read_report(as_teamadmin_a.get("/devices/DeviceReport.csv")).rows] == ["Mine"]
    report_b = read_report(as_admin_b.get("/devices/DeviceReport.csv"))
    assert report_b.rows == []
    assert report_b.section("Devices") == [("Registered devices", 0)]


def test_the_search_row_names_the_filters_as_the_page_does(as_admin_a, company_a, fleet):
    """A filter reads as its choice (the team's name, "Not reported"), never as its value in the URL."""
    team_id = fleet["Shop Surface"].team_id
    report = read_report(
        as_admin_a.get(f"/devices/DeviceReport.csv?nickname=a&t={team_id}&v=(none)&lic=expired&seen=never")
    )
    assert report.preamble["Search"] == (
        "Nickname: a; Team: Fleet Services; ReconPro version: Not reported; "
        "License status: Expired; Last seen: Never seen"
    )


def test_the_search_row_does_not_name_a_team_out_of_reach(as_admin_a, company_b):
    """Another company's team id is read as an unknown team: its name never reaches the report."""
    with company_scope(company_b):
        team = TeamFactory(company=company_b, name="Secret Team")
    report = read_report(as_admin_a.get(f"/devices/DeviceReport.csv?t={team.pk}"))
    assert report.preamble["Search"] == "Team: Unknown team"
    assert report.rows == []


def test_licenses_held_by_expired_codes_are_counted_apart(as_admin_a, company_a, team_a):
    """A pending device whose code expired still holds its license until the grace period ends: its own line."""
    pending = make_pending(company_a, team_a, nickname="Expired tablet")
    live = make_pending(company_a, team_a, nickname="Live tablet")
    with company_scope(company_a):
        RegistrationCode.objects.filter(device=pending.device).update(
            expires_at=timezone.now() - datetime.timedelta(hours=1), sealed_code=None
        )
    lines = dict(read_report(as_admin_a.get("/devices/DeviceReport.csv")).section("Licenses"))
    assert lines["Held by pending codes"] == 2
    assert lines["Held by expired codes"] == 1
    assert live.device.license_id is not None
