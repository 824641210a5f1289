"""
PostgreSQL only: bulk actions racing each other and a single edit, released
together by a barrier (tests/racing.py), and the 5,000-device selection.

Documented outcomes: a bulk action locks its devices in id order, so two
overlapping ones queue; the one that comes second sees what the first did.
A bulk move that comes after a bulk delete of some of its devices is refused
as a whole ("… no longer exist; nothing was changed"); a single edit after
a bulk delete gets "This device was deleted meanwhile."; a single edit
before a bulk move is moved with the rest. Never a deadlock, an integrity
error or a 500, and the database is consistent after each round.
"""

import time
from collections import Counter

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse

from backoffice.audit.models import AuditEvent
from backoffice.devices.models import Device, DeviceCredential
from backoffice.devices.services import device_update, devices_bulk_delete, devices_bulk_move
from backoffice.licensing.models import License
from backoffice.organization.models import Team
from backoffice.tenancy.choices import Role
from backoffice.tenancy.scoping import company_scope
from tests.factories import DeviceFactory, LicenseFactory, TeamFactory, make_user
from tests.racing import outcome_label, race

ROUNDS = 8

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]

GONE = "invalid:{n} of the selected devices no longer exist; nothing was changed. Reload the page and try again."


def scoped(company, call):
    def run():
        with company_scope(company):
            return call()

    return run


def make(company, team, n, prefix="Van"):
    with company_scope(company):
        return [
            DeviceFactory(company=company, team=team, nickname=f"{prefix} {i}", license=LicenseFactory(company=company))
            for i in range(n)
        ]


def consistent(company):
    with company_scope(company):
        held = list(Device.objects.exclude(license=None).values_list("license_id", flat=True))
        assert len(held) == len(set(held))
        assert not DeviceCredential.objects.exclude(device_id__in=Device.objects.values("pk")).exists()
        # Every batch has its batch event and per-device events that name existing or deleted devices only once.
        for batch_id in set(AuditEvent.objects.exclude(batch_id=None).values_list("batch_id", flat=True)):
            events = AuditEvent.objects.filter(batch_id=batch_id)
            assert events.filter(action__startswith="device.bulk_").count() == 1


@pytest.fixture
def admin(company_a):
    return make_user(company_a, Role.ADMINISTRATOR, email="bulk-racer@a.example")


def test_overlapping_bulk_move_and_bulk_delete(company_a, admin):
    with company_scope(company_a):
        default = Team.objects.get(is_default=True)
        fleet = TeamFactory(company=company_a, name="Fleet", time_zone="Europe/Berlin")
    seen = Counter()
    for round_ in range(ROUNDS):
        devices = make(company_a, default, 6, prefix=f"R{round_}")
        move_ids = [d.pk for d in devices[:4]]
        delete_ids = [d.pk for d in devices[2:]]
        outcomes = race(
            scoped(company_a, lambda ids=move_ids: devices_bulk_move(acting_user=admin, ids=ids, team=fleet)),
            scoped(company_a, lambda ids=delete_ids: devices_bulk_delete(acting_user=admin, ids=ids)),
            jitter=0.03 if round_ % 2 else 0.0,
        )
        labels = tuple(outcome_label(o) for o in outcomes)
        seen[labels] += 1
        with company_scope(company_a):
            left = dict(Device.objects.filter(pk__in=[d.pk for d in devices]).values_list("pk", "team_id"))
        # The delete always wins its devices (nothing else blocks it).
        assert labels[1] == "ok", labels
        assert set(left) == {d.pk for d in devices[:2]}
        if labels[0] == "ok":
            # The move came first: its devices moved, two of them deleted after.
            assert set(left.values()) == {fleet.pk}
        else:
            # The move came second and found two of its devices gone: it changed nothing.
            assert labels[0] == GONE.format(n=2), labels
            assert set(left.values()) == {default.pk}
        consistent(company_a)
    assert set(seen) <= {("ok", "ok"), (GONE.format(n=2), "ok")}


def test_bulk_delete_racing_a_single_edit(company_a, admin):
    with company_scope(company_a):
        default = Team.objects.get(is_default=True)
    for round_ in range(ROUNDS):
        devices = make(company_a, default, 3, prefix=f"E{round_}")
        with company_scope(company_a):
            target = Device.objects.select_related("team", "license").get(pk=devices[1].pk)

        def edit(fresh=target):
            with company_scope(company_a):
                return device_update(
                    device=fresh,
                    acting_user=admin,
                    team=fresh.team,
                    license=fresh.license,
                    nickname="Renamed",
                    time_zone="Asia/Tokyo",
                )

        outcomes = race(
            edit,
            scoped(company_a, lambda ids=[d.pk for d in devices]: devices_bulk_delete(acting_user=admin, ids=ids)),
            jitter=0.03 if round_ % 2 else 0.0,
        )
        labels = [outcome_label(o) for o in outcomes]
        assert labels[1] == "ok", labels
        assert labels[0] in ("ok", "invalid:This device was deleted meanwhile."), labels
        with company_scope(company_a):
            assert not Device.objects.filter(pk__in=[d.pk for d in devices]).exists()
        consistent(company_a)


def test_five_thousand_devices_move_and_delete_within_a_request(company_a, admin):
    """The 5,000-device selection through HTTP ("all matching"), each step well within a request's time."""
    n = 5000
    with company_scope(company_a):
        default = Team.objects.get(is_default=True)
        fleet = TeamFactory(company=company_a, name="Fleet", time_zone="Europe/Berlin")
        licenses = License.objects.bulk_create(
            LicenseFactory.build(company=company_a, number=f"BIG-{i:05d}") for i in range(n)
        )
        Device.objects.bulk_create(
            DeviceFactory.build(company=company_a, team=default, nickname=f"Big {i:05d}", license=licenses[i])
            for i in range(n)
        )
    http = HttpClient()
    http.force_login(admin)
    selection = {"all_matching": "on", "query": "nickname=Big"}

    started = time.monotonic()
    review = http.post(reverse("devices:bulk", args=["move"]), {**selection, "step": "review", "team": fleet.pk})
    assert "Move 5000 devices to Fleet" in review.content.decode()
    done = http.post(
        reverse("devices:bulk", args=["move"]),
        {**selection, "step": "confirm", "team": fleet.pk},
        HTTP_HX_REQUEST="true",
    )
    move_seconds = time.monotonic() - started
    assert done.status_code == 204
    with company_scope(company_a):
        assert Device.objects.filter(team=fleet).count() == n
        assert AuditEvent.objects.filter(action="device.changed").count() == n

    started = time.monotonic()
    done = http.post(reverse("devices:bulk", args=["delete"]), {**selection, "step": "confirm"}, HTTP_HX_REQUEST="true")
    delete_seconds = time.monotonic() - started
    assert done.status_code == 204
    with company_scope(company_a):
        assert not Device.objects.exists()
        assert License.objects.filter(device__isnull=True).count() == n
        assert AuditEvent.objects.filter(action="device.deleted").count() == n
    # Far inside a request's 30 seconds even on a shared 2-core machine.
    assert move_seconds < 20, move_seconds
    assert delete_seconds < 20, delete_seconds


def test_single_edit_racing_a_bulk_move(company_a, admin):
    """
    A single edit and a bulk move of the same device queue on its row lock;
    whichever comes second sees the first's result. Both succeed.
    """
    with company_scope(company_a):
        default = Team.objects.get(is_default=True)
        fleet = TeamFactory(company=company_a, name="Fleet", time_zone="Europe/Berlin")
    seen = Counter()
    for round_ in range(ROUNDS):
        devices = make(company_a, default, 3, prefix=f"M{round_}")
        with company_scope(company_a):
            target = Device.objects.select_related("team", "license").get(pk=devices[1].pk)

        def edit(fresh=target):
            with company_scope(company_a):
                return device_update(
                    device=fresh, acting_user=admin, team=fresh.team, license=fresh.license, nickname="Renamed"
                )

        outcomes = race(
            edit,
            scoped(
                company_a,
                lambda ids=[d.pk for d in devices]: devices_bulk_move(acting_user=admin, ids=ids, team=fleet),
            ),
            jitter=0.03 if round_ % 2 else 0.0,
        )
        labels = tuple(outcome_label(o) for o in outcomes)
        seen[labels] += 1
        assert labels[1] == "ok", labels
        assert labels[0] == "ok", labels
        with company_scope(company_a):
            edited = Device.objects.get(pk=target.pk)
        assert edited.nickname == "Renamed"
        consistent(company_a)
