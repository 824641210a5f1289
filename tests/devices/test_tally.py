"""
The registered-device tally (``DeviceTally``) that the Active Devices page
reads its total, its Team, Platform and Version counts and its versions
chart from: after any sequence of adds, registrations, check-ins, edits,
deletes, cancellations and bulk actions, every row equals a fresh COUNT of
the devices it stands for, company by company (a property test, on SQLite
and PostgreSQL); the page's figures with no search equal those with a
search that matches every device (the live counts); and concurrent bulk
moves and registrations on PostgreSQL leave it exact, with no deadlock.
"""

import dataclasses
import datetime
from functools import partial
from importlib import import_module

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.device_api.selectors import device_license_is_active
from backoffice.devices.codes import code_normalize
from backoffice.devices.last_seen import IDLE_WITHIN, ONLINE_WITHIN, last_seen_state
from backoffice.devices.models import Device, DeviceLicenseTally, DeviceTally
from backoffice.devices.selectors import (
    DeviceSearch,
    device_filters,
    device_registered_count,
    device_registered_list,
    device_version_breakdown,
)
from backoffice.devices.selectors.active_devices import LAST_SEEN_FILTER_CHOICES, LICENSE_FILTER_CHOICES
from backoffice.devices.selectors.report import report_license_use
from backoffice.devices.services import (
    device_cancel,
    device_delete,
    device_update,
    devices_bulk_delete,
    devices_bulk_move,
    registration_code_redeem,
)
from backoffice.devices.services.redemption import device_check_in
from backoffice.licensing.choices import LicenseStatus
from backoffice.licensing.models import NO_EXPIRY, License, LicenseTally
from backoffice.licensing.selectors import (
    LicenseCounts,
    license_active_q,
    license_counts,
    license_held_by_expired_code_q,
    license_status_q,
)
from backoffice.licensing.services import license_issue, license_suspend, license_unsuspend, license_update
from backoffice.organization.services import team_update
from backoffice.tenancy.choices import Role
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import make_pending
from tests.factories import DeviceFactory, LicenseFactory, TeamFactory, make_user
from tests.racing import outcome_label, race

PLATFORMS = ("Android", "iOS", "")
VERSIONS = ("5.4.1", "5.10.0", "6.0", "")
# How long ago a device last checked in (None: never): every Last seen choice.
SEEN = (
    None,
    datetime.timedelta(minutes=1),
    datetime.timedelta(hours=2),
    datetime.timedelta(days=2),
    datetime.timedelta(days=10),
    datetime.timedelta(days=40),
)
OPERATIONS = (
    "add_pending",
    "register",
    "add_registered",
    "check_in",
    "edit",
    "unlicense",
    "delete",
    "cancel",
    "bulk_move",
    "bulk_delete",
    "issue_licenses",
    "suspend",
    "unsuspend",
    "expire",
    "release",
    "rename_team",
)

TIME_ZONES = ("", "America/Chicago", "Europe/Berlin", "Asia/Tokyo")


def fresh_counts(company) -> dict[tuple, int]:
    """The tally's rows as a fresh COUNT of the company's registered devices gives them."""
    with scopes_disabled():
        rows = (
            Device.objects.filter(company=company, registered_at__isnull=False)
            .values("team_id", "platform", "app_version", "app_version_key", "license_id")
            .order_by()
        )
        counts: dict[tuple, int] = {}
        for row in rows:
            key = (
                row["team_id"],
                row["platform"],
                row["app_version"],
                row["app_version_key"],
                row["license_id"] is not None,
            )
            counts[key] = counts.get(key, 0) + 1
        return counts


def tally_counts(company) -> dict[tuple, int]:
    with scopes_disabled():
        rows = DeviceTally.objects.filter(company=company).exclude(n=0)
        return {(r.team_id, r.platform, r.app_version, r.app_version_key, r.licensed): r.n for r in rows}


def fresh_license_tally(company) -> dict[tuple, int]:
    """The license tally's rows as a fresh COUNT of the company's licenses gives them."""
    with scopes_disabled():
        counts: dict[tuple, int] = {}
        for license in License.objects.filter(company=company).select_related("device"):
            held = hasattr(license, "device")
            key = (license.is_suspended, license.expires_on or NO_EXPIRY, held)
            counts[key] = counts.get(key, 0) + 1
        return counts


def fresh_device_license_tally(company) -> dict[tuple, int]:
    """The device license tally's rows as a fresh COUNT of the company's registered devices gives them."""
    with scopes_disabled():
        counts: dict[tuple, int] = {}
        for device in Device.objects.filter(company=company, registered_at__isnull=False).select_related("license"):
            license = device.license
            key = (
                device.team_id,
                device.platform,
                device.app_version,
                device.app_version_key,
                license is not None,
                bool(license and license.is_suspended),
                (license.expires_on if license else None) or NO_EXPIRY,
            )
            counts[key] = counts.get(key, 0) + 1
        return counts


def device_license_tally(company) -> dict[tuple, int]:
    with scopes_disabled():
        rows = DeviceLicenseTally.objects.filter(company=company).exclude(n=0)
        return {
            (r.team_id, r.platform, r.app_version, r.app_version_key, r.licensed, r.is_suspended, r.expires_on): r.n
            for r in rows
        }


def license_tally(company) -> dict[tuple, int]:
    with scopes_disabled():
        rows = LicenseTally.objects.filter(company=company).exclude(n=0)
        return {(r.is_suspended, r.expires_on, r.held): r.n for r in rows}


def fresh_license_counts():
    """``license_counts`` as one COUNT over every license computes it (in the scope open)."""
    counts = License.objects.aggregate(
        total=Count("id"),
        free=Count("id", filter=license_active_q() & Q(device__isnull=True)),
        held_by_expired_codes=Count("id", filter=license_held_by_expired_code_q()),
    )
    return LicenseCounts(**counts)


def fresh_report_license_use() -> list[tuple[str, int]]:
    """The report's license lines as one COUNT over every license computes them (in the scope open)."""
    day = timezone.localdate()
    lines = [
        ("Total", Q()),
        ("Free", license_active_q(day=day) & Q(device__isnull=True)),
        ("Held by pending codes", Q(device__isnull=False, device__registered_at__isnull=True)),
        ("Held by expired codes", license_held_by_expired_code_q()),
        ("Expired", license_status_q(LicenseStatus.EXPIRED, day=day)),
        ("Suspended", license_status_q(LicenseStatus.SUSPENDED, day=day)),
    ]
    counts = License.objects.aggregate(**{f"l{i}": Count("id", filter=q) for i, (_, q) in enumerate(lines)})
    return [(label, counts[f"l{i}"]) for i, (label, _) in enumerate(lines)]


def fresh_sort_keys(company) -> dict[int, tuple]:
    """Every device's team name, license number and time zone shown, read through the joins."""
    with company_scope(company):
        return {
            device.pk: (device.team.name, device.license.number if device.license else None, device.effective_time_zone)
            for device in Device.objects.select_related("team", "license")
        }


def sort_keys(company) -> dict[int, tuple]:
    """The copies the database keeps on the device rows."""
    with company_scope(company):
        return {
            pk: rest for pk, *rest in Device.objects.values_list("pk", "sort_team", "sort_license", "sort_time_zone")
        }


def assert_tally_exact(*companies) -> None:
    for company in companies:
        assert {pk: tuple(keys) for pk, keys in sort_keys(company).items()} == fresh_sort_keys(company), (
            f"the sort keys of {company}'s devices are wrong"
        )
        assert tally_counts(company) == fresh_counts(company), f"the tally of {company} is wrong"
        assert license_tally(company) == fresh_license_tally(company), f"the license tally of {company} is wrong"
        assert device_license_tally(company) == fresh_device_license_tally(company), (
            f"the device license tally of {company} is wrong"
        )
        with company_scope(company):
            assert license_counts() == fresh_license_counts()
            assert report_license_use() == fresh_report_license_use()
    with scopes_disabled():
        assert not DeviceTally.objects.filter(n__lt=0).exists(), "a tally row fell below zero"
        assert not LicenseTally.objects.filter(n__lt=0).exists(), "a license tally row fell below zero"
        assert not DeviceLicenseTally.objects.filter(n__lt=0).exists(), "a device license tally row fell below zero"


class Fleet:
    """A company's devices driven through the services, as the Back Office and the device API drive them."""

    def __init__(self, company, teams, admin):
        self.company = company
        self.teams = teams
        self.admin = admin
        self.codes: dict[int, str] = {}

    def devices(self, *, registered: bool | None = None) -> list[Device]:
        with company_scope(self.company):
            devices = Device.objects.select_related("license", "team").order_by("pk")
            if registered is not None:
                devices = devices.filter(registered_at__isnull=not registered)
            return list(devices)

    @staticmethod
    def pick(items: list, seed: int):
        return items[seed % len(items)] if items else None

    def run(self, operation: str, a: int, b: int) -> None:
        with company_scope(self.company):
            getattr(self, operation)(a, b)

    def add_pending(self, a: int, b: int) -> None:
        pending = make_pending(self.company, self.pick(self.teams, a))
        self.codes[pending.device.pk] = pending.code

    def register(self, a: int, b: int) -> None:
        pending = [d for d in self.devices(registered=False) if d.pk in self.codes]
        device = self.pick(pending, a)
        if device is None:
            return
        registration_code_redeem(
            normalized_code=code_normalize(self.codes.pop(device.pk)),
            reported={
                "device_name": "Tablet",
                "device_identifier": f"ID-{device.pk}",
                "os_type": "Android 14",
                "platform": self.pick(list(PLATFORMS), b),
                "app_version": self.pick(list(VERSIONS), b // 3),
            },
            client_address="203.0.113.9",
            license_is_active=lambda d: device_license_is_active(device=d),
        )

    def add_registered(self, a: int, b: int) -> None:
        """A registered device, with or without a license (active, suspended or expired), seen at any age."""
        now = timezone.now()
        license = None
        if b % 4:
            license = LicenseFactory(
                company=self.company,
                is_suspended=b % 4 == 2,
                expires_on=now.date() - datetime.timedelta(days=3) if b % 8 == 3 else None,
            )
        DeviceFactory(
            company=self.company,
            team=self.pick(self.teams, a),
            license=license,
            platform=self.pick(list(PLATFORMS), a // 2),
            app_version=self.pick(list(VERSIONS), b // 2),
            registered_at=now,
            changed_at=now,
            last_check_in_at=self.pick(SEEN, a // 3) and now - self.pick(SEEN, a // 3),
        )

    def check_in(self, a: int, b: int) -> None:
        device = self.pick(self.devices(registered=True), a)
        if device is not None:
            reported = {"platform": self.pick(list(PLATFORMS), b), "app_version": self.pick(list(VERSIONS), b // 3)}
            device_check_in(device=device, reported=reported, now=timezone.now())

    def edit(self, a: int, b: int) -> None:
        device = self.pick(self.devices(), a)
        if device is not None:
            device_update(
                device=device,
                acting_user=self.admin,
                team=self.pick(self.teams, b),
                license=device.license or LicenseFactory(company=self.company),
                nickname=device.nickname,
                time_zone=self.pick(list(TIME_ZONES), a // 5),
            )

    def rename_team(self, a: int, b: int) -> None:
        """A team renamed (and its time zone changed), as the Teams page does it."""
        team = self.pick(self.teams, a)
        team.refresh_from_db()
        team_update(
            acting_user=self.admin,
            team=team,
            name=f"Team {b:04d}-{team.pk}",
            time_zone=self.pick(list(TIME_ZONES[1:]), b),
        )

    def unlicense(self, a: int, b: int) -> None:
        device = self.pick([d for d in self.devices(registered=True) if d.license_id], a)
        if device is not None:
            Device.objects.filter(pk=device.pk).update(license=None)

    def delete(self, a: int, b: int) -> None:
        device = self.pick(self.devices(), a)
        if device is not None:
            device_delete(device=device, acting_user=self.admin)

    def cancel(self, a: int, b: int) -> None:
        device = self.pick(self.devices(registered=False), a)
        if device is not None:
            device_cancel(device=device, acting_user=self.admin)

    def licenses(self) -> list[License]:
        with company_scope(self.company):
            return list(License.objects.order_by("pk"))

    def issue_licenses(self, a: int, b: int) -> None:
        expires_on = timezone.localdate() + datetime.timedelta(days=b % 5 - 2) if b % 3 else None
        license_issue(
            acting_user=OPERATOR_COMMAND,
            company=self.company,
            count=a % 3 + 1,
            license_type="standard",
            prefix="ISSUED-",  # the factory's licenses are LIC-…
            expires_on=expires_on,
        )

    def suspend(self, a: int, b: int) -> None:
        license = self.pick(self.licenses(), a)
        if license is not None:
            license_suspend(acting_user=OPERATOR_COMMAND, license=license)

    def unsuspend(self, a: int, b: int) -> None:
        license = self.pick([lic for lic in self.licenses() if lic.is_suspended], a)
        if license is not None:
            license_unsuspend(acting_user=OPERATOR_COMMAND, license=license)

    def expire(self, a: int, b: int) -> None:
        license = self.pick(self.licenses(), a)
        if license is not None:
            expires_on = timezone.localdate() + datetime.timedelta(days=b % 7 - 3) if b % 4 else None
            license_update(
                acting_user=OPERATOR_COMMAND, license=license, license_type=license.license_type, expires_on=expires_on
            )

    def release(self, a: int, b: int) -> None:
        """A pending device's license released (as the expired-code housekeeping does)."""
        device = self.pick([d for d in self.devices(registered=False) if d.license_id], a)
        if device is not None:
            Device.objects.filter(pk=device.pk).update(license=None)

    def _some(self, a: int) -> list[int]:
        devices = self.devices()
        return [d.pk for i, d in enumerate(devices) if (a >> (i % 10)) & 1]

    def bulk_move(self, a: int, b: int) -> None:
        ids = self._some(a)
        if ids:
            devices_bulk_move(acting_user=self.admin, ids=ids, team=self.pick(self.teams, b))

    def bulk_delete(self, a: int, b: int) -> None:
        ids = self._some(a & b)
        if ids:
            devices_bulk_delete(acting_user=self.admin, ids=ids)


@pytest.fixture
def fleets(company_a, company_b):
    made = []
    for company in (company_a, company_b):
        with company_scope(company):
            teams = [TeamFactory(company=company, name=f"Team {i}") for i in range(3)]
        made.append(Fleet(company, teams, make_user(company, Role.ADMINISTRATOR)))
    return made


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    settings.REGISTRATION_FAILED_PER_ADDRESS = 100_000


steps = st.lists(
    st.tuples(st.integers(0, 1), st.sampled_from(OPERATIONS), st.integers(0, 1023), st.integers(0, 1023)),
    min_size=1,
    max_size=12,
)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_every_tally_row_equals_a_fresh_count_after_any_sequence_of_changes(fleets, steps):
    for which, operation, a, b in steps:
        fleets[which].run(operation, a, b)
        assert_tally_exact(*(fleet.company for fleet in fleets))


@pytest.mark.django_db
def test_the_pages_figures_from_the_tally_equal_the_live_counts(fleets):
    fleet = fleets[0]
    for i in range(48):
        fleet.add_registered(i * 7, i * 5)
    for i in range(3):
        fleet.add_pending(i, i)
    with company_scope(fleet.company):
        make_pending(fleet.company, fleet.teams[0], expires_in=-datetime.timedelta(hours=1))
        today = timezone.localdate()
        for suspended, expires_on in ((False, None), (True, None), (False, today - datetime.timedelta(days=1))):
            LicenseFactory(company=fleet.company, is_suspended=suspended, expires_on=expires_on)
        counts = license_counts()
        assert counts == fresh_license_counts()
        assert report_license_use() == fresh_report_license_use()
        assert counts.free >= 1
        assert counts.held_by_expired_codes == 1
        assert counts.total > counts.free
    team_admin = make_user(fleet.company, Role.TEAM_ADMINISTRATOR, team=fleet.teams[1], email="lead@a.example")
    # Every device's nickname contains a space (the factory's), so this box
    # matches them all, counted from the matches rather than the tally.
    everyone = DeviceSearch(nickname=" ")
    with company_scope(fleet.company):
        assert all(" " in d.nickname for d in fleet.devices())
        for user in (fleet.admin, team_admin):
            live_devices = device_registered_list(user=user, search=everyone)
            assert device_registered_count(user=user) == live_devices.count() > 0
            assert device_registered_count(user=user, search=everyone) == live_devices.count()

            def figures(filters):
                return {f.name: [(c.value, c.count) for c in f.choices] for f in filters}

            now = timezone.now()
            shown = figures(device_filters(user=user, search=DeviceSearch(), now=now))
            assert shown == figures(device_filters(user=user, search=everyone, now=now))
            assert set(shown) == {"t", "p", "v", "lic", "seen"}
            if user == fleet.admin:  # every choice of the two filters is met (choices giving 0 are left out)
                assert len(shown["lic"]) == len(LICENSE_FILTER_CHOICES), shown["lic"]
                assert len(shown["seen"]) == len(LAST_SEEN_FILTER_CHOICES), shown["seen"]
            assert device_version_breakdown(
                device_registered_list(user=user), user=user, search=DeviceSearch()
            ) == device_version_breakdown(live_devices)
            # Every filter choice alone, and pairs of them: the sums over the
            # tally's cells equal the live counts (the same search with the box).
            queries = [{name: value} for name, choices in shown.items() for value, _ in choices]
            queries += [
                {"lic": lic, "seen": seen, "v": version}
                for lic, _ in shown["lic"]
                for seen, _ in shown["seen"]
                for version, _ in shown["v"][:2]
            ]
            queries += [{"t": team, "p": platform} for team, _ in shown["t"] for platform, _ in shown["p"]]
            for query in queries:
                search = DeviceSearch.from_query(query)
                boxed = dataclasses.replace(search, nickname=" ")
                assert figures(device_filters(user=user, search=search, now=now)) == figures(
                    device_filters(user=user, search=boxed, now=now)
                ), query
                live = device_registered_list(user=user, search=boxed)
                assert device_registered_count(user=user, search=search) == live.count(), query
                assert device_version_breakdown(
                    device_registered_list(user=user, search=search), user=user, search=search
                ) == device_version_breakdown(live), query


@pytest.mark.django_db
def test_the_online_boundary_counts_alike_from_the_tally_and_from_the_devices(fleets):
    """
    A device seen exactly ``ONLINE_WITHIN`` ago is online, a microsecond
    earlier idle, never seen outside Online too: the tally's figures (the
    devices outside Online read as one range of the last-seen index) equal
    the live counts and the badges' ``last_seen_state``.
    """
    fleet = fleets[0]
    now = timezone.now()
    tick = datetime.timedelta(microseconds=1)
    ages = (None, ONLINE_WITHIN - tick, ONLINE_WITHIN, ONLINE_WITHIN + tick, IDLE_WITHIN, IDLE_WITHIN + tick)
    with company_scope(fleet.company):
        for age in ages:
            DeviceFactory(
                company=fleet.company,
                team=fleet.teams[0],
                registered_at=now,
                changed_at=now,
                last_check_in_at=None if age is None else now - age,
            )
        expected: dict[str, int] = {}
        for device in Device.objects.filter(registered_at__isnull=False):
            state = last_seen_state(device.last_check_in_at, now)
            expected[state] = expected.get(state, 0) + 1
        assert expected == {"never": 1, "online": 2, "idle": 2, "offline": 1}
        for search in (DeviceSearch(), DeviceSearch(nickname=" ")):
            shown = {
                f.name: dict((c.value, c.count) for c in f.choices)
                for f in device_filters(user=fleet.admin, search=search, now=now)
            }
            assert {state: shown["seen"][state] for state in expected} == expected, search


def _planned_rows(plan: dict, relation: str) -> list[int]:
    """The rows the planner expects from every scan of ``relation`` in an ``EXPLAIN (FORMAT JSON)`` plan."""
    found = [plan["Plan Rows"]] if plan.get("Relation Name") == relation else []
    for child in plan.get("Plans", []):
        found += _planned_rows(child, relation)
    return found


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's statistics are PostgreSQL's")
def test_the_planner_knows_how_few_devices_are_outside_online(fleets):
    """
    The devices outside Online are one range of the last-seen index's
    expression, an index PostgreSQL keeps no statistics of (it is partial):
    the expression's own statistics (``devices 0021``) let the planner expect
    the few devices in that range, not a third of the fleet (with which it
    read 100,000 devices sequentially rather than 5,000 index entries).
    """
    fleet = fleets[0]
    now = timezone.now()
    with company_scope(fleet.company):
        Device.objects.bulk_create(
            Device(
                company=fleet.company,
                team=fleet.teams[0],
                nickname=f"Van {n:04d}",
                registered_at=now,
                changed_at=now,
                last_check_in_at=now - datetime.timedelta(minutes=2 if n % 20 else 90),
            )
            for n in range(1_000)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE devices_device")
    with company_scope(fleet.company), CaptureQueriesContext(connection) as ctx:
        device_filters(user=fleet.admin, search=DeviceSearch(), now=now)
    (cells,) = [q["sql"] for q in ctx.captured_queries if "'outside'" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + cells)
        plan = cursor.fetchone()[0][0]["Plan"]
    expected = _planned_rows(plan, "devices_device")
    assert expected, plan
    assert all(rows < 150 for rows in expected), expected  # 50 outside; a guess of a third would be 333


@pytest.mark.django_db
def test_the_page_reads_its_total_from_the_tally(fleets):
    fleet = fleets[0]
    for i in range(3):
        fleet.add_registered(i, i)
    http = HttpClient()
    http.force_login(fleet.admin)
    response = http.get(reverse("devices:active"))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 3
    platform = fleet.devices(registered=True)[0].platform
    response = http.get(reverse("devices:active"), {"p": platform})
    filtered = response.context["page"].paginator.count
    assert 1 <= filtered <= 3
    with scopes_disabled():
        DeviceLicenseTally.objects.filter(company=fleet.company).update(n=0)
    # The page reads its total from the tally alone, with no search and with
    # filters alone (the property test keeps it exact).
    response = http.get(reverse("devices:active"))
    assert response.context["page"].paginator.count == 0
    response = http.get(reverse("devices:active"), {"p": platform})
    assert response.context["page"].paginator.count == 0
    # A search box counts the matches.
    response = http.get(reverse("devices:active"), {"p": platform, "nickname": "Device"})
    assert response.context["page"].paginator.count == filtered


@pytest.mark.django_db
def test_the_migrations_backfill_gives_the_rows_the_triggers_keep(fleets):
    """The backfill of migration 0012 (for the devices stored before it) counts as the triggers do."""
    fleet = fleets[0]
    for i in range(12):
        fleet.add_registered(i * 3, i)
    fleet.add_pending(0, 0)
    kept = tally_counts(fleet.company)
    with scopes_disabled():
        DeviceTally.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(import_module("backoffice.devices.migrations.0012_device_tally").BACKFILL)
    assert tally_counts(fleet.company) == kept == fresh_counts(fleet.company)


def test_the_sort_keys_backfill_gives_the_keys_the_triggers_keep(fleets):
    """The backfill of migration 0019 (for the devices stored before it) sets the keys as the triggers do."""
    fleet = fleets[0]
    for i in range(6):
        fleet.add_registered(i * 3, i)
    fleet.add_pending(0, 0)
    kept = sort_keys(fleet.company)
    assert all(team and zone for team, _, zone in kept.values())
    with scopes_disabled():
        Device.objects.update(sort_team=None, sort_license=None, sort_time_zone=None)
    assert all(keys == [None, None, None] for keys in sort_keys(fleet.company).values())
    for statement in import_module("backoffice.devices.migrations.0019_device_sort_keys").BACKFILL:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    assert sort_keys(fleet.company) == kept
    assert {pk: tuple(keys) for pk, keys in kept.items()} == fresh_sort_keys(fleet.company)


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_concurrent_bulk_moves_and_registrations_leave_the_tally_exact(company_a, company_b):
    with company_scope(company_a):
        teams = [TeamFactory(company=company_a, name=f"Race {i}") for i in range(4)]
    admin = make_user(company_a, Role.ADMINISTRATOR, email="mover@a.example")
    fleet = Fleet(company_a, teams, admin)
    for i in range(16):
        fleet.add_registered(i, i)
    for round_number in range(20):
        for i in range(2):
            fleet.add_pending(i, i)
        with company_scope(company_a):
            ids = [d.pk for d in fleet.devices(registered=True)]
        first, second = ids[::2], ids[1::2]
        # Two moves in opposite team orders over interleaved devices, and a registration.
        outcomes = race(
            partial(_move, fleet, first, teams[round_number % 4]),
            partial(_move, fleet, second, teams[(round_number + 1) % 4]),
            partial(fleet.run, "register", round_number, round_number),
            partial(fleet.run, "check_in", round_number, round_number + 1),
            jitter=0.02 if round_number % 2 else 0.0,
        )
        labels = [outcome_label(outcome) for outcome in outcomes]
        assert labels == ["ok"] * 4, labels
        assert_tally_exact(company_a, company_b)
        # A device deleted while an operator suspends its license: the
        # license ends suspended and free, whichever commits first.
        with company_scope(company_a):
            fleet.add_registered(round_number, 1)
            doomed = fleet.devices(registered=True)[-1]
        outcomes = race(
            partial(fleet.run, "delete", len(fleet.devices()) - 1, 0),
            partial(license_suspend, acting_user=OPERATOR_COMMAND, license=doomed.license),
            jitter=0.02 if round_number % 2 else 0.0,
        )
        assert [outcome_label(outcome) for outcome in outcomes] == ["ok", "ok"]
        assert_tally_exact(company_a, company_b)
        # A device moved to another team while its license is suspended or lifted.
        with company_scope(company_a):
            moving = next(d for d in fleet.devices(registered=True) if d.license_id)
        lift = license_unsuspend if moving.license.is_suspended else license_suspend
        outcomes = race(
            partial(_move, fleet, [moving.pk], teams[(round_number + 2) % 4]),
            partial(lift, acting_user=OPERATOR_COMMAND, license=moving.license),
            jitter=0.02 if round_number % 2 else 0.0,
        )
        assert [outcome_label(outcome) for outcome in outcomes] == ["ok", "ok"]
        assert_tally_exact(company_a, company_b)


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_teams_renamed_while_devices_move_between_them_leave_every_sort_key_exact(company_a, company_b):
    """
    Two teams renamed (and given another time zone) while devices move each
    way between them and a device of one is edited: every call succeeds (no
    deadlock: the renames lock the team's devices before the team, as every
    write locks devices first) and every device ends with its team's final
    name and time zone.
    """
    with company_scope(company_a):
        teams = [TeamFactory(company=company_a, name=f"Cross {i}") for i in range(2)]
    admin = make_user(company_a, Role.ADMINISTRATOR, email="renamer@a.example")
    fleet = Fleet(company_a, teams, admin)
    for i in range(12):
        fleet.add_registered(i, i)
    for round_number in range(20):
        with company_scope(company_a):
            by_team = {team.pk: [d.pk for d in fleet.devices() if d.team_id == team.pk] for team in teams}
        x, y = teams
        outcomes = race(
            partial(fleet.run, "rename_team", 0, round_number * 2),
            partial(fleet.run, "rename_team", 1, round_number * 2 + 1),
            partial(_move, fleet, by_team[y.pk][::2], x),
            partial(_move, fleet, by_team[x.pk][::2], y),
            partial(fleet.run, "edit", round_number, round_number),
            jitter=0.02 if round_number % 2 else 0.0,
        )
        labels = [outcome_label(outcome) for outcome in outcomes]
        assert labels == ["ok"] * 5, labels
        assert_tally_exact(company_a, company_b)


def _move(fleet: Fleet, ids: list[int], team) -> None:
    with company_scope(fleet.company):
        devices_bulk_move(acting_user=fleet.admin, ids=ids, team=team)
