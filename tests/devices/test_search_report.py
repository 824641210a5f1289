import csv
import datetime
import io
import re

import pytest
from django.utils import timezone

from backoffice.documents.models import Document
from backoffice.tenancy.scoping import company_scope
from tests.devices.test_active_devices import rows
from tests.factories import ClientFactory, DeviceFactory, LicenseFactory, TeamFactory


@pytest.fixture
def fleet(company_a, team_a, default_team_a):
    """Five registered devices with distinct teams, licenses, platforms and versions."""
    with company_scope(company_a):
        fleet_team = TeamFactory(company=company_a, name="Fleet Services")
        spec = [
            ("Lot Tablet", team_a, "Android", "5.4.1", "NW-100", "standard"),
            ("Lot Phone", team_a, "iOS", "5.4.2", "NW-101", "professional"),
            ("Shop Surface", fleet_team, "Windows", "6.0.0", "FS-200", "trial"),
            ("Van Tablet", fleet_team, "Android", "5.4.1", "FS-201", "standard"),
            ("Office iPad", default_team_a, "iOS", "5.3.0", "DF-300", "professional"),
        ]
        return {
            nick: DeviceFactory(
                company=company_a,
                team=team,
                nickname=nick,
                platform=platform,
                app_version=version,
                license=LicenseFactory(company=company_a, number=number, license_type=ltype),
            )
            for nick, team, platform, version, number, ltype in spec
        }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("team=alpha", ["Lot Phone", "Lot Tablet"]),
        ("team=FLEET", ["Shop Surface", "Van Tablet"]),
        ("license=nw-10", ["Lot Phone", "Lot Tablet"]),
        ("license=professional", ["Lot Phone", "Office iPad"]),
        ("nickname=tab", ["Lot Tablet", "Van Tablet"]),
        ("platform=ANDROID", ["Lot Tablet", "Van Tablet"]),
        ("version=5.4", ["Lot Phone", "Lot Tablet", "Van Tablet"]),
        ("team=fleet&platform=android", ["Van Tablet"]),
        ("team=alpha&version=5.4.2&nickname=phone", ["Lot Phone"]),
        (
            "team=&license=&nickname=&platform=&version=",
            ["Lot Phone", "Lot Tablet", "Office iPad", "Shop Surface", "Van Tablet"],
        ),
        ("v=5.4.1", ["Lot Tablet", "Van Tablet"]),
        ("v=5.4", []),
    ],
)
def test_search_boxes_combine_case_insensitive_substrings(as_admin_a, fleet, query, expected):
    assert rows(as_admin_a.get(f"/devices/?{query}")) == expected


def test_search_that_finds_nothing_says_so(as_admin_a, fleet):
    html = as_admin_a.get("/devices/?nickname=zzz").content.decode()
    assert "No devices match this search" in html
    assert 'value="zzz"' in html


def test_paging_and_sorting_keep_the_search(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        for i in range(55):
            DeviceFactory(company=company_a, team=team_a, nickname=f"Match {i:02d}")
        DeviceFactory(company=company_a, team=team_a, nickname="Other")
    html = as_admin_a.get("/devices/?nickname=match&sort=name&dir=desc").content.decode()
    assert 'href="?nickname=match&amp;sort=name&amp;dir=desc&amp;page=2"' in html
    assert 'href="?nickname=match&amp;sort=team"' in html
    page2 = as_admin_a.get("/devices/?nickname=match&sort=name&dir=desc&page=2")
    assert rows(page2) == ["Match 04", "Match 03", "Match 02", "Match 01", "Match 00"]


def legend(response) -> dict[str, int]:
    html = response.content.decode()
    return {
        label: int(count)
        for label, count in re.findall(
            r'<span class="legend__label">([^<]+)</span>\s*<span class="legend__num">(\d+)</span>', html
        )
    }


def test_chart_counts_equal_the_list_and_follow_the_search(as_admin_a, fleet):
    assert legend(as_admin_a.get("/devices/")) == {"5.4.1": 2, "5.4.2": 1, "6.0.0": 1, "5.3.0": 1}
    assert legend(as_admin_a.get("/devices/?team=alpha")) == {"5.4.1": 1, "5.4.2": 1}


def test_chart_slice_links_filter_the_list_to_that_version(as_admin_a, fleet):
    html = as_admin_a.get("/devices/?platform=android").content.decode()
    assert 'href="?platform=android&amp;v=5.4.1"' in html
    assert rows(as_admin_a.get("/devices/?platform=android&v=5.4.1")) == ["Lot Tablet", "Van Tablet"]


def read_csv(response) -> tuple[str, list[list[str]]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return body, list(csv.reader(io.StringIO(body)))


def test_report_is_csv_of_the_whole_search_with_bom(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        for i in range(60):
            DeviceFactory(company=company_a, team=team_a, nickname=f"Unit {i:02d}")
        DeviceFactory(company=company_a, team=team_a, nickname="Other")
        DeviceFactory(company=company_a, team=team_a, nickname="Unit pending", registered_at=None)
    response = as_admin_a.get("/devices/DeviceReport.csv?nickname=unit")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="DeviceReport.csv"'
    body, table = read_csv(response)
    assert body.startswith("\ufeffTeam,Nickname,")
    assert "\r\n" in body
    assert table[0][0] == "\ufeffTeam"
    assert len(table) - 1 == 60
    assert [r[1] for r in table[1:4]] == ["Unit 00", "Unit 01", "Unit 02"]


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
    _, table = read_csv(as_admin_a.get("/devices/DeviceReport.csv"))
    assert table[1] == [
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


def test_report_neutralises_formula_cells(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        for nick in ('=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "Plain"):
            DeviceFactory(company=company_a, team=team_a, nickname=nick)
    _, table = read_csv(as_admin_a.get("/devices/DeviceReport.csv"))
    assert sorted(r[1] for r in table[1:]) == sorted(['\'=HYPERLINK("http://x")', "'+1+1", "'-2", "'@SUM(A1)", "Plain"])


def test_report_respects_team_and_company(as_teamadmin_a, as_admin_b, company_a, team_a, default_team_a):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="Mine")
        DeviceFactory(company=company_a, team=default_team_a, nickname="Theirs")
    _, table = read_csv(as_teamadmin_a.get("/devices/DeviceReport.csv"))
    assert [r[1] for r in table[1:]] == ["Mine"]
    _, table_b = read_csv(as_admin_b.get("/devices/DeviceReport.csv"))
    assert len(table_b) == 1


def test_report_link_carries_the_search(as_admin_a, fleet):
    html = as_admin_a.get("/devices/?team=fleet&v=5.4.1").content.decode()
    assert 'href="/devices/DeviceReport.csv?team=fleet&amp;v=5.4.1"' in html


def test_last_seen_indicator(as_admin_a, company_a, team_a):
    now = timezone.now()
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="A", last_check_in_at=now)
        DeviceFactory(company=company_a, team=team_a, nickname="B", last_check_in_at=now - datetime.timedelta(hours=2))
        DeviceFactory(company=company_a, team=team_a, nickname="C", last_check_in_at=now - datetime.timedelta(days=3))
        DeviceFactory(company=company_a, team=team_a, nickname="D", last_check_in_at=None)
    html = as_admin_a.get("/devices/").content.decode()
    assert re.findall(r'badge--(online|idle|offline|neutral)"', html.split("<tbody>")[1]) == [
        "online",
        "idle",
        "offline",
        "neutral",
    ]
