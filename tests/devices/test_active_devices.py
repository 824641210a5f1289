import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.devices.models import Device
from backoffice.tenancy.scoping import company_scope
from tests.factories import DeviceFactory, LicenseFactory, TeamFactory, company_today


def rows(response) -> list[str]:
    """The nickname cells of the registered devices table, in order."""
    html = response.content.decode()
    html = html.split('id="device-table"', 1)[-1]
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r'<td data-label="Name"><strong>([^<]+)</strong>', body)


def test_lists_registered_devices_only_with_every_column(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a, number="LIC-777", license_type="professional")
        DeviceFactory(
            company=company_a,
            team=team_a,
            license=lic,
            nickname="Front desk iPad",
            platform="iOS",
            time_zone="",
            registered_at=datetime.datetime(2026, 3, 1, 18, 30, tzinfo=datetime.UTC),
            changed_at=datetime.datetime(2026, 3, 2, 9, 5, tzinfo=datetime.UTC),
        )
        DeviceFactory(company=company_a, team=team_a, nickname="Still pending", registered_at=None)
    response = as_admin_a.get("/devices/")
    html = response.content.decode()
    assert response.status_code == 200
    assert rows(response) == ["Front desk iPad"]
    assert "Alpha Team" in html
    assert "iOS" in html
    assert "LIC-777" in html
    assert "Professional" in html
    assert "Active" in html
    # Time zone falls back to the team's default, shown as such.
    assert 'America/Denver<span class="sub">team\'s default</span>' in html
    # Dates in the company's time zone (America/Chicago, UTC-6 in March).
    assert "2026-03-01 12:30" in html
    assert "2026-03-02 03:05" in html


def test_license_counts(as_admin_a, company_a, team_a):
    today = company_today(company_a)
    with company_scope(company_a):
        held = LicenseFactory(company=company_a)
        LicenseFactory(company=company_a)  # free
        LicenseFactory(company=company_a, expires_on=None)  # free, never expires
        LicenseFactory(company=company_a, expires_on=today - datetime.timedelta(days=1))  # expired
        LicenseFactory(company=company_a, expires_on=today)  # last valid day: free
        LicenseFactory(company=company_a, is_suspended=True)  # suspended
        pending = LicenseFactory(company=company_a)
        DeviceFactory(company=company_a, team=team_a, license=held)
        DeviceFactory(company=company_a, team=team_a, license=pending, registered_at=None)
    html = as_admin_a.get("/devices/").content.decode()
    assert re.search(r'id="licenses-total"[^>]*>7<', html)
    assert re.search(r'id="licenses-free"[^>]*>3<', html)


def test_fifty_rows_a_page_with_the_total(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        for i in range(53):
            DeviceFactory(company=company_a, team=team_a, nickname=f"Unit {i:02d}")
    first = as_admin_a.get("/devices/")
    assert len(rows(first)) == 50
    assert "53 devices · showing 1–50" in first.content.decode()
    second = as_admin_a.get("/devices/?page=2")
    assert rows(second) == ["Unit 50", "Unit 51", "Unit 52"]
    assert as_admin_a.get("/devices/?page=99").status_code == 200
    assert as_admin_a.get("/devices/?page=abc").status_code == 200


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("team", ["Bravo", "Alpha", "Charlie"]),
        ("platform", ["Alpha", "Charlie", "Bravo"]),
        ("name", ["Alpha", "Bravo", "Charlie"]),
        ("reg_date", ["Charlie", "Bravo", "Alpha"]),
        ("change_date", ["Bravo", "Alpha", "Charlie"]),
        ("license", ["Charlie", "Alpha", "Bravo"]),
        ("time_zone", ["Alpha", "Charlie", "Bravo"]),
    ],
)
def test_sorting_by_each_column(as_admin_a, company_a, sort, expected):
    now = timezone.now()
    with company_scope(company_a):
        t1 = TeamFactory(company=company_a, name="A-team", time_zone="Pacific/Auckland")
        t2 = TeamFactory(company=company_a, name="B-team", time_zone="Europe/Paris")
        DeviceFactory(
            company=company_a,
            team=t2,
            nickname="Alpha",
            platform="Android",
            time_zone="America/Boise",
            registered_at=now - datetime.timedelta(days=1),
            changed_at=now - datetime.timedelta(hours=2),
            license=LicenseFactory(company=company_a, number="L-2"),
        )
        DeviceFactory(
            company=company_a,
            team=t1,
            nickname="Bravo",
            platform="iOS",
            time_zone="",
            registered_at=now - datetime.timedelta(days=2),
            changed_at=now - datetime.timedelta(hours=3),
            license=LicenseFactory(company=company_a, number="L-3"),
        )
        DeviceFactory(
            company=company_a,
            team=t2,
            nickname="Charlie",
            platform="Android",
            time_zone="",
            registered_at=now - datetime.timedelta(days=3),
            changed_at=now - datetime.timedelta(hours=1),
            license=LicenseFactory(company=company_a, number="L-1"),
        )
    assert rows(as_admin_a.get(f"/devices/?sort={sort}")) == expected
    assert rows(as_admin_a.get(f"/devices/?sort={sort}&dir=desc")) == list(reversed(expected))


def test_unknown_sort_falls_back_to_name(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="B")
        DeviceFactory(company=company_a, team=team_a, nickname="A")
    assert rows(as_admin_a.get("/devices/?sort=;drop")) == ["A", "B"]


def test_query_count_does_not_grow_with_devices(as_admin_a, company_a, team_a):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert as_admin_a.get("/devices/").status_code == 200
        return len(ctx.captured_queries)

    with company_scope(company_a):
        for _ in range(2):
            DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a))
    few = count_queries()
    with company_scope(company_a):
        for _ in range(60):
            DeviceFactory(
                company=company_a, team=TeamFactory(company=company_a), license=LicenseFactory(company=company_a)
            )
    assert count_queries() == few
    assert few <= 8


def test_team_administrator_sees_only_their_team(as_teamadmin_a, company_a, team_a, default_team_a):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="Mine")
        DeviceFactory(company=company_a, team=default_team_a, nickname="Not mine")
    assert rows(as_teamadmin_a.get("/devices/")) == ["Mine"]


def test_other_company_devices_are_invisible(as_admin_b, company_a, team_a):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="Secret A")
    response = as_admin_b.get("/devices/")
    assert rows(response) == []
    assert "Secret A" not in response.content.decode()


def test_viewer_sees_the_page_without_write_controls(as_viewer_a, company_a, team_a):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="Seen")
    response = as_viewer_a.get("/devices/")
    assert rows(response) == ["Seen"]
    html = response.content.decode()
    for control in ("Add New Devices", ">Edit<", ">Delete<", ">Replace<"):
        assert control not in html


def test_htmx_request_renders_only_the_table(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="Partial")
    response = as_admin_a.get("/devices/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="device-table"')
    assert "<html" not in html


def test_device_detail_and_tenant_isolation(as_admin_a, as_admin_b, as_teamadmin_a, company_a, team_a, default_team_a):
    with company_scope(company_a):
        device = DeviceFactory(company=company_a, team=team_a, nickname="Detail me")
        other_team_device = DeviceFactory(company=company_a, team=default_team_a, nickname="Other team")
    assert "Detail me" in as_admin_a.get(f"/devices/{device.pk}/").content.decode()
    assert as_admin_b.get(f"/devices/{device.pk}/").status_code == 404
    assert as_admin_a.get("/devices/999999/").status_code == 404
    assert as_teamadmin_a.get(f"/devices/{other_team_device.pk}/").status_code == 404
    assert as_teamadmin_a.get(f"/devices/{device.pk}/").status_code == 200
    with company_scope(company_a):
        assert Device.objects.get(pk=device.pk).nickname == "Detail me"
