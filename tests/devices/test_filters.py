"""
The filters beside the Search pane: team, platform, ReconPro version, license
status and last seen, each choice with the count of devices it gives combined
with the rest of the search; the page size; hostile values in the URL.
"""

import datetime
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.tenancy.scoping import company_scope
from tests.devices.test_active_devices import rows
from tests.factories import DeviceFactory, LicenseFactory, TeamFactory, company_today

ALL = ["A1", "A2", "A3", "A4", "A5", "A6"]


@pytest.fixture
def fleet(company_a, team_a, default_team_a):
    """
    Six registered devices and a pending one (never counted):

    ==  ========  ========  =======  =========  ==========
    ..  team      platform  version  license    last seen
    ==  ========  ========  =======  =========  ==========
    A1  Alpha     Android   6.10.0   active     5 minutes
    A2  Alpha     iOS       6.9.2    expired    2 hours
    A3  Fleet     Android   6.9.2    suspended  3 days
    A4  Fleet     Windows   (none)   none       never
    A5  Default   iOS       5.4.1    active     10 days
    A6  Default   (none)    6.10.0   active     40 days
    ==  ========  ========  =======  =========  ==========
    """
    now = timezone.now()
    yesterday = company_today(company_a) - datetime.timedelta(days=1)
    with company_scope(company_a):
        fleet_team = TeamFactory(company=company_a, name="Fleet Services")
        spec = [
            ("A1", team_a, "Android", "6.10.0", {}, datetime.timedelta(minutes=5)),
            ("A2", team_a, "iOS", "6.9.2", {"expires_on": yesterday}, datetime.timedelta(hours=2)),
            ("A3", fleet_team, "Android", "6.9.2", {"is_suspended": True}, datetime.timedelta(days=3)),
            ("A4", fleet_team, "Windows", "", None, None),
            ("A5", default_team_a, "iOS", "5.4.1", {}, datetime.timedelta(days=10)),
            ("A6", default_team_a, "", "6.10.0", {}, datetime.timedelta(days=40)),
        ]
        devices = {}
        for nick, team, platform, version, license_fields, age in spec:
            devices[nick] = DeviceFactory(
                company=company_a,
                team=team,
                nickname=nick,
                platform=platform,
                app_version=version,
                license=LicenseFactory(company=company_a, **license_fields) if license_fields is not None else None,
                last_check_in_at=now - age if age is not None else None,
            )
        DeviceFactory(company=company_a, team=team_a, nickname="P1", platform="Android", registered_at=None)
    return {"devices": devices, "teams": {"alpha": team_a, "fleet": fleet_team, "default": default_team_a}}


def filters(response) -> dict[str, list[tuple[str, str, int, bool]]]:
    """Each filter's choices as (value, label, count, selected), from the page's selects."""
    page = response.content.decode()
    found = {}
    for name, body in re.findall(r'<select id="f-\w+" name="(\w+)">(.*?)</select>', page, re.S):
        found[name] = [
            (html.unescape(value), html.unescape(label), int(count), bool(selected))
            for value, selected, label, count in re.findall(
                r'<option value="([^"]*)"( selected)?>([^<]*) \((\d+)\)</option>', body
            )
        ]
    return found


def test_each_choice_counts_the_devices_it_gives(as_admin_a, fleet):
    teams = fleet["teams"]
    assert filters(as_admin_a.get("/devices/")) == {
        "t": [
            (str(teams["alpha"].pk), "Alpha Team", 2, False),
            (str(teams["default"].pk), "Default Team", 2, False),
            (str(teams["fleet"].pk), "Fleet Services", 2, False),
        ],
        "p": [
            ("Android", "Android", 2, False),
            ("iOS", "iOS", 2, False),
            ("Windows", "Windows", 1, False),
            ("(none)", "Not reported", 1, False),
        ],
        # Newest first, as versions: 6.10 before 6.9.
        "v": [
            ("6.10.0", "6.10.0", 2, False),
            ("6.9.2", "6.9.2", 2, False),
            ("5.4.1", "5.4.1", 1, False),
            ("(none)", "Not reported", 1, False),
        ],
        "lic": [
            ("active", "Active", 3, False),
            ("expired", "Expired", 1, False),
            ("suspended", "Suspended", 1, False),
            ("none", "No license", 1, False),
        ],
        "seen": [
            ("online", "Online", 1, False),
            ("idle", "Idle", 1, False),
            ("offline", "Offline", 3, False),
            ("never", "Never seen", 1, False),
            ("7d", "Not seen in 7 days", 3, False),
            ("30d", "Not seen in 30 days", 2, False),
        ],
    }


def test_counts_combine_with_the_rest_of_the_search_but_not_the_own_choice(as_admin_a, fleet):
    teams = fleet["teams"]
    found = filters(as_admin_a.get("/devices/?lic=active&nickname=a"))
    # Active licenses: A1 (Alpha), A5 and A6 (Default); Fleet gives none and is left out.
    assert found["t"] == [
        (str(teams["alpha"].pk), "Alpha Team", 1, False),
        (str(teams["default"].pk), "Default Team", 2, False),
    ]
    # The license filter's own counts ignore its choice, so every other choice shows what it would give.
    assert found["lic"] == [
        ("active", "Active", 3, True),
        ("expired", "Expired", 1, False),
        ("suspended", "Suspended", 1, False),
        ("none", "No license", 1, False),
    ]
    assert found["seen"] == [
        ("online", "Online", 1, False),
        ("offline", "Offline", 2, False),
        ("7d", "Not seen in 7 days", 2, False),
        ("30d", "Not seen in 30 days", 1, False),
    ]


@pytest.mark.parametrize(
    "query",
    ["", "lic=active", "platform=i&seen=offline", "t={alpha}&v=6.9.2", "p=Android&lic=suspended", "version=6"],
)
def test_every_choice_gives_exactly_its_count(as_admin_a, fleet, query):
    query = query.format(**{name: team.pk for name, team in fleet["teams"].items()})
    for name, choices in filters(as_admin_a.get(f"/devices/?{query}")).items():
        for value, label, count, _ in choices:
            params = dict(part.split("=", 1) for part in query.split("&") if part)
            params[name] = value
            listed = rows(as_admin_a.get("/devices/", params))
            assert len(listed) == count, (name, label)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("t={alpha}", ["A1", "A2"]),
        ("t={fleet}&team=alpha", []),
        ("p=Android", ["A1", "A3"]),
        ("p=(none)", ["A6"]),
        ("v=6.9.2", ["A2", "A3"]),
        ("v=(none)", ["A4"]),
        ("v=6.9", []),
        ("lic=active", ["A1", "A5", "A6"]),
        ("lic=expired", ["A2"]),
        ("lic=suspended", ["A3"]),
        ("lic=none", ["A4"]),
        ("seen=online", ["A1"]),
        ("seen=idle", ["A2"]),
        ("seen=offline", ["A3", "A5", "A6"]),
        ("seen=never", ["A4"]),
        ("seen=7d", ["A4", "A5", "A6"]),
        ("seen=30d", ["A4", "A6"]),
        ("p=Android&lic=active", ["A1"]),
        ("team=fleet&seen=never", ["A4"]),
        ("p=&v=&t=&lic=&seen=", ALL),
    ],
)
def test_filters_combine_with_the_boxes(as_admin_a, fleet, query, expected):
    query = query.format(**{name: team.pk for name, team in fleet["teams"].items()})
    assert rows(as_admin_a.get(f"/devices/?{query}")) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("t=99999999999999999999999", "The Team filter has a value that is not one of its choices"),
        ("t=abc", "The Team filter has a value"),
        ("t=%D9%A1", "The Team filter has a value"),
        ("t=-1", "The Team filter has a value"),
        ("lic=gold", "The License status filter has a value"),
        ("seen=yesterday", "The Last seen filter has a value"),
        ("p=" + "x" * 65, "The Platform filter has a value"),
        ("lic=gold&seen=1d", "The License status, Last seen filters have values that are not among their choices"),
        ("t=%00", "The Team search box contains a control character"),
        ("seen=%07online", "The Last seen search box contains a control character"),
        ("v=%1b", "The ReconPro version search box contains a control character"),
    ],
)
def test_hostile_filter_values_are_ignored_and_named(as_admin_a, fleet, query, message):
    response = as_admin_a.get(f"/devices/?{query}")
    assert response.status_code == 200
    assert rows(response) == ALL
    assert message in html.unescape(response.content.decode())
    # The links the page builds leave the ignored value out.
    assert 'href="/devices/DeviceReport.csv"' in response.content.decode()


@pytest.mark.parametrize(
    "query", ["per_page=7", "per_page=99999999999999999999", "per_page=%00", "sort=%00", "page=99999999999999999999"]
)
def test_hostile_sort_page_and_page_size_fall_back_to_the_defaults(as_admin_a, fleet, query):
    response = as_admin_a.get(f"/devices/?{query}")
    assert response.status_code == 200
    assert rows(response) == ALL


def test_page_size_choices(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        for i in range(60):
            DeviceFactory(company=company_a, team=team_a, nickname=f"Unit {i:02d}")
    assert len(rows(as_admin_a.get("/devices/?per_page=25"))) == 25
    assert len(rows(as_admin_a.get("/devices/?per_page=100"))) == 60
    assert len(rows(as_admin_a.get("/devices/?per_page=200"))) == 60
    # An unknown size is today's default, 50.
    assert len(rows(as_admin_a.get("/devices/?per_page=30"))) == 50
    page = as_admin_a.get("/devices/?per_page=25&page=3")
    assert rows(page) == [f"Unit {i:02d}" for i in range(50, 60)]
    text = page.content.decode()
    assert '<option value="25" selected>25</option>' in text
    assert "60 devices · showing 51–60" in text
    assert 'href="?per_page=25&amp;page=2"' in text


def test_paging_sorting_chart_and_report_follow_the_filters(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        for i in range(30):
            DeviceFactory(company=company_a, team=team_a, nickname=f"Droid {i:02d}", platform="Android")
        DeviceFactory(company=company_a, team=team_a, nickname="Apple 1", platform="iOS", app_version="6.0.0")
    text = as_admin_a.get("/devices/?p=Android&per_page=25").content.decode()
    assert 'href="?p=Android&amp;per_page=25&amp;page=2"' in text
    assert 'href="?p=Android&amp;per_page=25&amp;sort=team"' in text
    # The chart counts the filtered list; its slices keep the filter and the page size.
    assert re.search(r'legend__label">5\.4\.1</span>\s*<span class="legend__num">30<', text)
    assert "6.0.0" not in text.split('class="legend"', 1)[1].split("</ul>", 1)[0]
    assert 'href="?p=Android&amp;per_page=25&amp;v=5.4.1"' in text
    assert 'href="/devices/DeviceReport.csv?p=Android"' in text
    report = b"".join(as_admin_a.get("/devices/DeviceReport.csv?p=Android").streaming_content).decode()
    assert "Droid 29" in report
    assert "Apple 1" not in report


def test_team_administrator_filters_show_only_their_team(as_teamadmin_a, fleet):
    teams = fleet["teams"]
    found = filters(as_teamadmin_a.get("/devices/"))
    assert found["t"] == [(str(teams["alpha"].pk), "Alpha Team", 2, False)]
    assert found["lic"] == [("active", "Active", 1, False), ("expired", "Expired", 1, False)]
    other = as_teamadmin_a.get(f"/devices/?t={teams['fleet'].pk}")
    assert rows(other) == []
    page = other.content.decode()
    assert "Fleet Services" not in page
    assert f'<option value="{teams["fleet"].pk}" selected>Unknown team (0)</option>' in page


def test_filters_run_a_fixed_number_of_queries(as_admin_a, company_a, team_a):
    query = "/devices/?lic=active&seen=7d&p=Android&v=5.4.1&nickname=u"

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert as_admin_a.get(query).status_code == 200
        return len(ctx.captured_queries)

    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="Unit", license=LicenseFactory(company=company_a))
    few = count_queries()
    with company_scope(company_a):
        for i in range(50):
            DeviceFactory(
                company=company_a,
                team=TeamFactory(company=company_a),
                nickname=f"Unit {i}",
                platform=("Android", "iOS")[i % 2],
                app_version=f"5.{i % 7}.1",
                license=LicenseFactory(company=company_a),
                last_check_in_at=timezone.now() - datetime.timedelta(days=i),
            )
    assert count_queries() == few
