import datetime
import re

import pytest
from django.utils import timezone

from backoffice.tenancy.scoping import company_scope
from tests.devices.test_active_devices import rows
from tests.factories import DeviceFactory, LicenseFactory, TeamFactory


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
