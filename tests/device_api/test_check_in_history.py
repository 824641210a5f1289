"""The check-in history: what a registration and the check-ins write, and its pruning."""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.device_api.selectors import device_for_credential
from backoffice.device_api.services import device_check_in
from backoffice.devices.models import CheckInKind, DeviceCheckIn
from backoffice.devices.services import check_in_history_prune
from backoffice.devices.services.check_ins import check_ins_flush
from backoffice.devices.services.redemption import PRUNE_BATCH, PRUNE_BATCHES_PER_PASS, check_in_history_housekeeping
from backoffice.notifications.services import worker_tasks_run
from backoffice.organization.models import Team
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import API, REPORTED, bearer
from tests.factories import DeviceFactory

SLOT = datetime.timedelta(minutes=settings.CHECK_IN_HISTORY_SAMPLE_MINUTES)


def history(device):
    with scopes_disabled():
        return list(
            DeviceCheckIn.objects.filter(device_id=device.pk)
            .order_by("at", "id")
            .values_list("kind", "app_version", "platform", "os_type", "device_name")
        )


def slot_start(moment: datetime.datetime) -> datetime.datetime:
    seconds = SLOT.total_seconds()
    return datetime.datetime.fromtimestamp(moment.timestamp() // seconds * seconds, tz=datetime.UTC)


def loaded(registered):
    """The device as the API loads it for a call, in its company scope."""
    with scopes_disabled():
        return device_for_credential(credential=registered.credential)


def check_in(registered, now, **overrides):
    device = loaded(registered)
    values = {"name": REPORTED["name"], "os_type": REPORTED["os_type"], "platform": REPORTED["platform"]}
    values["app_version"] = REPORTED["app_version"]
    values.update(overrides)
    with company_scope(device.company):
        return device_check_in(device=device, now=now, **values)


def test_registration_writes_a_registered_row(registered):
    assert history(registered.device) == [("registered", "5.4.1", "Android", "Android 14", "Tech Tablet 7")]


def test_a_reported_change_writes_a_changed_row_at_once(registered):
    now = timezone.now()
    assert check_in(registered, now, app_version="5.4.2") is True
    assert history(registered.device)[-1] == ("changed", "5.4.2", "Android", "Android 14", "Tech Tablet 7")
    check_in(registered, now + datetime.timedelta(seconds=1), os_type="Android 15", app_version="5.4.2")
    assert [row[0] for row in history(registered.device)] == ["registered", "changed", "changed"]


def test_samples_at_most_one_per_slot(registered):
    with scopes_disabled():
        registered_at = DeviceCheckIn.objects.get(device_id=registered.device.pk).at
    next_slot = slot_start(registered_at) + SLOT
    interval = datetime.timedelta(seconds=settings.CHECK_IN_WRITE_INTERVAL_SECONDS)
    # Stored check-ins in the next slot: only the first adds a sample. They
    # start one interval into it, so that the first is due however close to the
    # slot's end the registration happened.
    moments = [next_slot + i * interval for i in range(1, int(SLOT / interval))]
    for moment in moments:
        assert check_in(registered, moment) is True
    check_ins_flush()  # with the check-in buffer, the worker writes them (a no-op without)
    assert [row[0] for row in history(registered.device)] == ["registered", "sample"]
    # The first stored check-in of the slot after that, and after a silence of days, add one each.
    check_in(registered, next_slot + SLOT)
    check_ins_flush()
    check_in(registered, next_slot + SLOT + datetime.timedelta(days=3))
    check_ins_flush()
    assert [row[0] for row in history(registered.device)] == ["registered", "sample", "sample", "sample"]


def test_a_coalesced_check_in_writes_nothing_and_costs_no_extra_query(registered, http):
    before = history(registered.device)
    with CaptureQueriesContext(connection) as queries:
        response = http.post(
            f"{API}/check-ins",
            data={key: REPORTED[key] for key in ("name", "os_type", "platform", "app_version")},
            content_type="application/json",
            headers=bearer(registered.credential),
        )
    assert response.status_code == 200
    assert history(registered.device) == before
    assert not any("checkin" in query["sql"].lower() for query in queries.captured_queries)


def test_a_stored_check_in_in_the_same_slot_reads_no_history(registered):
    with scopes_disabled():
        registered_at = DeviceCheckIn.objects.get(device_id=registered.device.pk).at
    # One interval into the next slot, so that this check-in is due (and stored)
    # however close to the slot's end the registration happened.
    moment = slot_start(registered_at) + SLOT + datetime.timedelta(seconds=settings.CHECK_IN_WRITE_INTERVAL_SECONDS)
    assert check_in(registered, moment) is True
    with CaptureQueriesContext(connection) as queries:
        check_in(registered, moment + datetime.timedelta(seconds=settings.CHECK_IN_WRITE_INTERVAL_SECONDS))
    assert not any("checkin" in query["sql"].lower() for query in queries.captured_queries)


@pytest.fixture
def aged_history(company_a, team_a):
    """Rows around the retention boundary on two devices."""
    now = timezone.now()
    days = settings.CHECK_IN_HISTORY_RETENTION_DAYS
    with company_scope(company_a):
        devices = [DeviceFactory(company=company_a, team=team_a) for _ in range(2)]
        rows = []
        for device in devices:
            for age in (days + 30, days + 1, days, days - 1, 1):
                rows.append(
                    DeviceCheckIn(
                        company=company_a,
                        device=device,
                        at=now - datetime.timedelta(days=age, minutes=-5 if age == days else 0),
                        kind=CheckInKind.SAMPLE,
                    )
                )
        DeviceCheckIn.objects.bulk_create(rows)
    return now


def test_pruning_deletes_exactly_the_rows_past_retention(aged_history, company_b):
    with company_scope(company_b):
        other = DeviceFactory(company=company_b, team=Team.objects.get(is_default=True))
        DeviceCheckIn.objects.create(
            company=company_b, device=other, at=aged_history - datetime.timedelta(days=400), kind=CheckInKind.SAMPLE
        )
    assert check_in_history_prune(now=aged_history) == 5  # two per device in A, one in B
    with scopes_disabled():
        assert DeviceCheckIn.objects.count() == 6
    assert check_in_history_prune(now=aged_history) == 0


def test_pruning_is_bounded_per_pass(company_a, team_a, settings):
    old = timezone.now() - datetime.timedelta(days=settings.CHECK_IN_HISTORY_RETENTION_DAYS + 5)
    total = PRUNE_BATCH * PRUNE_BATCHES_PER_PASS + 7
    with company_scope(company_a):
        device = DeviceFactory(company=company_a, team=team_a)
        DeviceCheckIn.objects.bulk_create(
            (DeviceCheckIn(company=company_a, device=device, at=old, kind=CheckInKind.SAMPLE) for _ in range(total)),
            batch_size=2000,
        )
    assert check_in_history_prune() == PRUNE_BATCH * PRUNE_BATCHES_PER_PASS
    assert check_in_history_prune() == 7


def test_pruning_runs_with_the_worker(aged_history):
    results = worker_tasks_run()
    assert any("pruned 4 check-in history entries" in str(result) for result in results)
    assert "pruned 0 check-in history entries" in check_in_history_housekeeping()


def test_retention_is_configurable(aged_history, settings):
    settings.CHECK_IN_HISTORY_RETENTION_DAYS = 2
    assert check_in_history_prune(now=aged_history) == 8
