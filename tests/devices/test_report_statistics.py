"""
The Devices Report's statistics are sums over the Active Devices page's
figures (the license tally and the devices outside Online, or a search box's
matches): for every search, as an Administrator and as a Team
Administrator, they equal the same search counted directly over the devices
(grouped and ordered in SQL, ties included), on SQLite and PostgreSQL. And
the report's row statement reaches licenses and documents within the
device's company, with no subquery per device.
"""

import datetime
import re

import pytest
from django.db.models import Count
from django.utils import timezone

from backoffice.devices.last_seen import STATES, last_seen_q
from backoffice.devices.selectors import DeviceSearch, device_report_statistics
from backoffice.devices.selectors.active_devices import LAST_SEEN_FILTER_CHOICES, LICENSE_FILTER_CHOICES
from backoffice.devices.selectors.report import device_report_rows, device_report_rows_query
from backoffice.documents.choices import DocumentKind
from backoffice.documents.models import Document
from backoffice.tenancy.choices import Role
from backoffice.tenancy.scoping import company_scope
from tests.devices.test_report import read_report
from tests.factories import ClientFactory, DeviceFactory, LicenseFactory, TeamFactory, company_today, make_user

MINUTE = datetime.timedelta(minutes=1)
# Last check-ins far from every boundary (15 minutes, 24 hours, 7 and 30 days).
AGES = (2 * MINUTE, 3 * 60 * MINUTE, datetime.timedelta(days=3), datetime.timedelta(days=12), None)
# Names whose order differs between a case-blind sort and the byte order.
PLATFORMS = ("Android", "iOS", "Windows", "", "android")
VERSIONS = ("5.4.1", "5.10.0", "", "6.0.0")


@pytest.fixture
def fleet(company_a, team_a, default_team_a, company_b):
    """
    Company A: 40 registered devices on four teams (two of them with as many
    devices as each other, and platforms and versions with equal counts too),
    licenses of every status and none, every last-seen state, documents of
    every kind (and one filed by another company on one of A's devices);
    a pending device. Company B: devices and documents that never count for A.
    """
    now = timezone.now()
    yesterday = company_today(company_a) - datetime.timedelta(days=1)
    with company_scope(company_a):
        teams = [
            team_a,
            default_team_a,
            TeamFactory(company=company_a, name="bravo"),
            TeamFactory(company=company_a, name="Charlie"),
        ]
        client = ClientFactory(company=company_a)
        licenses = [{}, {"is_suspended": True}, {"expires_on": yesterday}, {}, None]
        devices = []
        for i in range(40):
            terms = licenses[i % len(licenses)]
            age = AGES[(i // 2) % len(AGES)]
            devices.append(
                DeviceFactory(
                    company=company_a,
                    # Teams 2 and 3 get 10 devices each, like teams 0 and 1.
                    team=teams[i % 4],
                    nickname=f"Unit {i:02d}" + (" van" if i % 3 == 0 else ""),
                    platform=PLATFORMS[i % len(PLATFORMS)],
                    app_version=VERSIONS[(i // 5) % len(VERSIONS)],
                    license=None if terms is None else LicenseFactory(company=company_a, **terms),
                    last_check_in_at=None if age is None else now - age,
                )
            )
        for i, device in enumerate(devices[::3]):
            for kind in DocumentKind.values[: 1 + i % 3]:
                Document.objects.create(
                    company=company_a, kind=kind, number=f"A-{i}-{kind}", client=client, device=device
                )
        DeviceFactory(company=company_a, team=team_a, nickname="Pending van", registered_at=None)
    with company_scope(company_b):
        team_b = TeamFactory(company=company_b, name="Alpha Team")
        client_b = ClientFactory(company=company_b)
        for i in range(3):
            device = DeviceFactory(company=company_b, team=team_b, nickname=f"Unit B{i} van", last_check_in_at=now)
            Document.objects.create(
                company=company_b, kind="work_order", number=f"B-{i}", client=client_b, device=device
            )
        # Filed by B on one of A's devices (no constraint ties a document's
        # device to its company): counted by neither company's report.
        Document.objects.create(
            company=company_b, kind="inspection", number="B-on-A", client=client_b, device=devices[0]
        )
    return devices


def counted_directly(user, search: DeviceSearch, now: datetime.datetime) -> dict:
    """The statistics of ``search`` counted over its devices, grouped and ordered in SQL."""
    from backoffice.devices.selectors import device_registered_list

    devices = device_registered_list(user=user, search=search).order_by()

    def grouped(field: str) -> list[tuple[str, int]]:
        rows = devices.values_list(field).annotate(n=Count("id")).order_by("-n", field)
        return [(value, n) for value, n in rows]

    kinds = dict(Document.objects.filter(device__in=devices.values("pk")).values_list("kind").annotate(n=Count("id")))
    return {
        "devices": devices.count(),
        "platforms": grouped("platform"),
        "versions": grouped("app_version"),
        "teams": grouped("team__name"),
        "last_seen": [(state, devices.filter(last_seen_q(state, now=now)).count()) for state in STATES],
        "documents": [(kind, kinds.get(kind, 0)) for kind in DocumentKind.values],
    }


def reported(user, search: DeviceSearch) -> dict:
    statistics = device_report_statistics(user=user, search=search)
    return {
        "devices": statistics.devices,
        "platforms": statistics.platforms,
        "versions": statistics.versions,
        "teams": statistics.teams,
        "last_seen": statistics.last_seen,
        "documents": statistics.documents,
    }


QUERIES = [
    {},
    {"nickname": "van"},
    {"nickname": "nothing like this"},
    {"platform": "and"},
    *({"lic": value} for value, _ in LICENSE_FILTER_CHOICES),
    *({"seen": value} for value, _ in LAST_SEEN_FILTER_CHOICES),
    *({"lic": lic, "seen": seen} for lic, _ in LICENSE_FILTER_CHOICES for seen, _ in LAST_SEEN_FILTER_CHOICES),
    {"p": "(none)"},
    {"p": "android"},
    {"v": "(none)", "seen": "online"},
    {"v": "5.4.1", "nickname": "van", "seen": "never"},
    {"lic": "suspended", "team": "bra"},
]


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.TEAM_ADMINISTRATOR])
def test_the_statistics_equal_the_search_counted_directly(company_a, team_a, fleet, role):
    user = make_user(company_a, role, team=team_a if role == Role.TEAM_ADMINISTRATOR else None)
    with company_scope(company_a), timezone.override(company_a.zone):
        whole = reported(user, DeviceSearch())
        for query in QUERIES:
            search = DeviceSearch.from_query(query)
            assert reported(user, search) == counted_directly(user, search, timezone.now()), query
    # The fleet has what the comparison is for: ties, every state and kind.
    if role == Role.ADMINISTRATOR:
        assert whole["devices"] == 40
        counts = [n for _, n in whole["teams"]]
        assert counts == [10, 10, 10, 10]
        assert [name for name, _ in whole["teams"]] == ["Alpha Team", "Charlie", "Default Team", "bravo"]
        assert [name for name, _ in whole["platforms"]] == ["", "Android", "Windows", "android", "iOS"]
        assert all(n for _, n in whole["last_seen"])
        assert all(n for _, n in whole["documents"])
    else:
        assert [name for name, _ in whole["teams"]] == ["Alpha Team"]


def test_the_team_administrators_report_counts_their_team_as_the_rows_do(as_teamadmin_a, teamadmin_a, company_a, fleet):
    report = read_report(as_teamadmin_a.get("/devices/DeviceReport.csv?seen=7d"))
    with company_scope(company_a), timezone.override(company_a.zone):
        expected = counted_directly(teamadmin_a, DeviceSearch.from_query({"seen": "7d"}), timezone.now())
    assert report.section("Devices") == [("Registered devices", expected["devices"])]
    assert report.section("Team") == expected["teams"] == [("Alpha Team", len(report.rows))]
    assert sum(n for _, n in report.section("Last seen")) == len(report.rows) > 0
    # The document columns of the rows add up to the Documents section.
    sums = [sum(int(row[i]) for row in report.rows) for i in (14, 15, 16)]
    assert sums == [n for _, n in report.section("Documents")] == [n for _, n in expected["documents"]]


def test_documents_another_company_filed_on_a_device_are_counted_nowhere(company_a, admin_a, fleet):
    device = fleet[0]
    with company_scope(company_a):
        own = dict(Document.objects.filter(device=device).values_list("kind").annotate(n=Count("id")))
        (row,) = [
            row
            for row in device_report_rows(user=admin_a, search=DeviceSearch.from_query({"nickname": device.nickname}))
            if row[1] == device.nickname
        ]
        statistics = device_report_statistics(user=admin_a, search=DeviceSearch.from_query({"nickname": "Unit 00"}))
    assert own == {"service_request": 1}
    assert row[-3:] == (1, 0, 0)
    assert statistics.documents == [("service_request", 1), ("inspection", 0), ("work_order", 0)]


def test_the_row_statement_joins_licenses_and_documents_within_the_company(company_a, admin_a, fleet):
    with company_scope(company_a):
        sql, _ = device_report_rows_query(user=admin_a, search=DeviceSearch()).query.sql_with_params()
    # One SELECT: the document counts are a grouped join, not a subquery per device.
    assert len(re.findall(r"\bSELECT\b", sql, re.IGNORECASE)) == 1, sql
    own_company = '"company_id" = ("devices_device"."company_id")'
    joins = [part for part in sql.split(" JOIN ")[1:] if "licensing_license" in part or "documents_document" in part]
    assert len(joins) == 2, sql
    assert all(own_company in part for part in joins), sql
