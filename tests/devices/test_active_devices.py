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
    return re.findall(r'<td data-label="Name"><strong><a href="/devices/\d+/">([^<]+)</a></strong>', body)


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


def test_the_team_license_and_time_zone_orders_follow_every_change_of_their_source(as_admin_a, company_a):
    """
    These orders read copies the database keeps on the device row: a team
    renamed or given another time zone on the Teams page, a device moved or
    given its own time zone, and a license taken away re-sort the list at
    once; a device without a license sorts last both ways.
    """
    with company_scope(company_a):
        north = TeamFactory(company=company_a, name="North", time_zone="Europe/Paris")
        south = TeamFactory(company=company_a, name="South", time_zone="Asia/Tokyo")
        one = DeviceFactory(
            company=company_a, team=north, nickname="One", license=LicenseFactory(company=company_a, number="L-1")
        )
        DeviceFactory(
            company=company_a, team=south, nickname="Two", license=LicenseFactory(company=company_a, number="L-2")
        )
        DeviceFactory(company=company_a, team=south, nickname="Three", license=None)
    assert rows(as_admin_a.get("/devices/?sort=team")) == ["One", "Three", "Two"]
    assert rows(as_admin_a.get("/devices/?sort=time_zone")) == ["Three", "Two", "One"]
    assert rows(as_admin_a.get("/devices/?sort=license")) == ["One", "Two", "Three"]
    assert rows(as_admin_a.get("/devices/?sort=license&dir=desc")) == ["Two", "One", "Three"]
    response = as_admin_a.post(f"/teams/{north.pk}/edit/", {"name": "Zulu", "time_zone": "UTC"})
    assert response.status_code == 302
    assert rows(as_admin_a.get("/devices/?sort=team")) == ["Three", "Two", "One"]
    assert rows(as_admin_a.get("/devices/?sort=time_zone")) == ["Three", "Two", "One"]
    with company_scope(company_a):
        one.refresh_from_db()
        one.team = south
        one.time_zone = "America/Boise"
        one.license = None
        one.save()
    assert rows(as_admin_a.get("/devices/?sort=team")) == ["One", "Three", "Two"]
    assert rows(as_admin_a.get("/devices/?sort=time_zone")) == ["One", "Three", "Two"]
    assert rows(as_admin_a.get("/devices/?sort=license")) == ["Two", "One", "Three"]
    # Ties (no license) fall back to the nickname in the same direction.
    assert rows(as_admin_a.get("/devices/?sort=license&dir=desc")) == ["Two", "Three", "One"]


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
    # The session, the user and the company; the tally's total, the page's
    # ids, then its rows (the deferred join); the tally's rows for the Team,
    # Platform and Version filters and again for the chart; one for License
    # status and one for Last seen; the licenses held (the tally's and the
    # pending devices'), then the license figures (one statement of small
    # counts: the total, the inactive ones, the expired codes' holds);
    # Pending Registrations (its devices, and their codes and emails when
    # there are any); the saved views.
    assert few <= 17


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


def test_sorting_by_version_sorts_versions_as_versions(as_admin_a, company_a, team_a):
    with company_scope(company_a):
        for nickname, version in [("V-a", "6.10.0"), ("V-b", "6.9.1"), ("V-c", "10.0"), ("V-d", "6.1.0"), ("V-e", "")]:
            DeviceFactory(company=company_a, team=team_a, nickname=nickname, app_version=version)
    assert rows(as_admin_a.get("/devices/?sort=version")) == ["V-e", "V-d", "V-b", "V-a", "V-c"]
    assert rows(as_admin_a.get("/devices/?sort=version&dir=desc")) == ["V-c", "V-a", "V-b", "V-d", "V-e"]


def test_sorting_by_last_seen_puts_never_seen_devices_last(as_admin_a, company_a, team_a):
    now = timezone.now()
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, nickname="Never", last_check_in_at=None)
        DeviceFactory(
            company=company_a, team=team_a, nickname="Week", last_check_in_at=now - datetime.timedelta(days=7)
        )
        DeviceFactory(company=company_a, team=team_a, nickname="Now", last_check_in_at=now)
    assert rows(as_admin_a.get("/devices/?sort=last_seen")) == ["Week", "Now", "Never"]
    assert rows(as_admin_a.get("/devices/?sort=last_seen&dir=desc")) == ["Now", "Week", "Never"]
    # The same with a text search (whose sort is fenced from the indexes) and a filter.
    for extra in ("&nickname=e", "&nickname=e&t=" + str(team_a.pk)):
        assert rows(as_admin_a.get("/devices/?sort=last_seen" + extra)) == ["Week", "Never"]
        assert rows(as_admin_a.get("/devices/?sort=last_seen&dir=desc" + extra)) == ["Week", "Never"]
    assert rows(as_admin_a.get("/devices/?sort=last_seen&dir=desc&team=alpha")) == ["Now", "Week", "Never"]
    assert rows(as_admin_a.get("/devices/?sort=last_seen&team=alpha")) == ["Week", "Now", "Never"]
    html = as_admin_a.get("/devices/?sort=last_seen").content.decode()
    assert '<th scope="col" aria-sort="ascending"><a href="?sort=last_seen&amp;dir=desc">Last seen' in html


def test_version_sort_key_follows_what_the_device_reports(company_a, team_a):
    """The key is kept by save() and by the device API's check-in, which writes without save()."""
    # Imported here: a module-level import of the API's conftest would bring its
    # autouse fixture into every test of this module.
    from django.test import Client

    from backoffice.devices.codes import code_format
    from tests.device_api.conftest import bearer, make_pending, post_json, register

    pending = make_pending(company_a, team_a, nickname="Reporting tablet")
    http = Client()
    registered = register(http, code_format(pending.code), app_version="6.9.0")
    assert registered.status_code == 201
    with company_scope(company_a):
        assert Device.objects.get(pk=pending.device.pk).app_version_key == "016.019.010"
    body = {"name": "Tablet", "os_type": "Android 14", "platform": "Android", "app_version": "6.10.0"}
    assert post_json(http, "/check-ins", body, **bearer(registered.json()["credential"])).status_code == 200
    with company_scope(company_a):
        device = Device.objects.get(pk=pending.device.pk)
        assert (device.app_version, device.app_version_key) == ("6.10.0", "016.0210.010")
        device.app_version = "7"
        device.save(update_fields=["app_version"])
        assert Device.objects.get(pk=device.pk).app_version_key == "017"


def test_version_keys_of_stored_rows_are_filled_by_the_migration(company_a, team_a):
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    migration = importlib.import_module("backoffice.devices.migrations.0008_device_app_version_key")
    with company_scope(company_a):
        device = DeviceFactory(company=company_a, team=team_a, app_version="6.10.2")
        Device.objects.filter(pk=device.pk).update(app_version_key="")
    migration.fill_keys(apps, SimpleNamespace(connection=connection))
    with company_scope(company_a):
        assert Device.objects.get(pk=device.pk).app_version_key == "016.0210.012"


def pending_names(html: str) -> list[str]:
    section = html.split('id="pending-registrations"', 1)[1].split("</section>", 1)[0]
    return re.findall(
        r'<tr id="pending-\d+"[^>]*>\s*(?:<td class="select-cell".*?</td>\s*)?'
        r'<td data-label="Name"><strong><a href="/devices/\d+/">([^<]+)</a></strong>',
        section,
    )


@pytest.fixture
def two_pending(admin_a, company_a, team_a, default_team_a):
    from backoffice.devices.services import device_add

    with company_scope(company_a):
        bay = device_add(
            acting_user=admin_a,
            team=team_a,
            license=LicenseFactory(company=company_a),
            nickname="Bay 3 iPad",
            recipients=["tech@a.example"],
        )
        van = device_add(
            acting_user=admin_a,
            team=default_team_a,
            license=LicenseFactory(company=company_a),
            nickname="Van tablet",
            recipients=["driver@a.example"],
        )
    return bay, van


@pytest.mark.parametrize(
    ("pq", "expected"),
    [
        ("", ["Bay 3 iPad", "Van tablet"]),
        ("BAY", ["Bay 3 iPad"]),
        ("default team", ["Van tablet"]),
        ("driver@", ["Van tablet"]),
        ("nothing like it", []),
        ("bay%00", ["Bay 3 iPad", "Van tablet"]),
    ],
)
def test_pending_registrations_have_their_own_search(as_admin_a, two_pending, pq, expected):
    html = as_admin_a.get(f"/devices/?pq={pq}").content.decode()
    assert pending_names(html) == expected
    if expected == []:
        assert "No pending registration matches “nothing like it”" in html


def test_the_pending_search_is_kept_by_the_poll_and_after_a_write(as_admin_a, two_pending):
    bay, van = two_pending
    page = as_admin_a.get("/devices/?pq=van&nickname=x").content.decode()
    assert 'hx-include="#pending-q, #pending-all"' in page
    assert 'id="pending-q" name="pq" value="van"' in page
    # The box's form keeps the registered list's search when it is sent.
    assert '<input type="hidden" name="nickname" value="x">' in page
    assert 'Pending Registrations <span class="count-pill">1 of 2</span>' in page
    polled = as_admin_a.get("/devices/pending/?pq=van", headers={"HX-Request": "true"}).content.decode()
    assert pending_names(polled) == ["Van tablet"]
    replaced = as_admin_a.post(f"/devices/{van.pk}/replace/", {"pq": "van"}, headers={"HX-Request": "true"})
    assert pending_names(replaced.content.decode()) == ["Van tablet"]
    # The device ids the page watches for redemptions stay those of every pending row.
    ids = re.search(r'data-pending-ids="([^"]*)"', polled).group(1).split()
    assert sorted(int(item.split(":")[0]) for item in ids) == sorted([bay.pk, van.pk])
