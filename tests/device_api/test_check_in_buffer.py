"""
The check-in buffer (``devices.services.check_ins``) on a real Redis and
both databases: a check-in that only moves last-seen waits in Redis for the
worker, which writes it with the history sample the direct path would have
written; reported changes and an unreachable Redis write at once; nothing
moves last-seen back; a write that fails keeps its entries for the next pass.
"""

import datetime
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test import Client as HttpClient
from django.utils import timezone

from backoffice.core.generations import generations_serving
from backoffice.device_api.selectors import _HELD
from backoffice.devices.models import CheckInKind, Device, DeviceCheckIn
from backoffice.devices.services import device_delete
from backoffice.devices.services.check_ins import (
    COMPANIES_KEY,
    PENDING_KEY,
    check_in_buffer,
    check_ins_flush,
    check_ins_hand_over,
    check_ins_housekeeping,
)
from backoffice.notifications.services import worker_tasks_run
from backoffice.organization.models import Team
from backoffice.organization.services import company_create
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.core.ratelimit_backends import generations_on
from tests.device_api.conftest import make_pending, post_json, register
from tests.factories import make_user

CHECK_IN = {"name": "Tech Tablet 7", "os_type": "Android 14", "platform": "Android", "app_version": "5.4.1"}


@pytest.fixture(autouse=True, params=["credential-cache"])
def credential_cache(request, settings):
    """Only with Redis (overrides the directory's two modes)."""
    with generations_on(settings) as client:
        yield client


def stored(device_pk):
    with scopes_disabled():
        return Device.objects.get(pk=device_pk)


def samples(device_pk):
    with scopes_disabled():
        return list(DeviceCheckIn.objects.filter(device_id=device_pk, kind=CheckInKind.SAMPLE).order_by("at"))


def seen_long_ago(registered, hours=2):
    with scopes_disabled():
        Device.objects.filter(pk=registered.device.pk).update_uncached(
            last_check_in_at=timezone.now() - datetime.timedelta(hours=hours)
        )
        DeviceCheckIn.objects.filter(device_id=registered.device.pk).delete()
    return stored(registered.device.pk).last_check_in_at


def check_in(http, credential, **changes):
    return post_json(http, "/check-ins", {**CHECK_IN, **changes}, Authorization=f"Bearer {credential}")


def test_a_due_check_in_waits_for_the_worker(http, registered, credential_cache):
    before = seen_long_ago(registered)
    started = timezone.now()
    assert check_in(http, registered.credential).status_code == 200
    assert stored(registered.device.pk).last_check_in_at == before
    assert credential_cache.hexists(f"{PENDING_KEY}{registered.device.company_id}", str(registered.device.pk))
    assert samples(registered.device.pk) == []

    results = worker_tasks_run()
    assert "check-ins written from the buffer: 1 devices, 1 history samples" in results
    after = stored(registered.device.pk).last_check_in_at
    assert started <= after <= timezone.now()
    [sample] = samples(registered.device.pk)
    assert sample.at == after
    assert sample.app_version == "5.4.1"
    assert not credential_cache.exists(f"{PENDING_KEY}{registered.device.company_id}")


def test_the_same_slot_adds_no_second_sample(http, registered):
    seen_long_ago(registered)
    device = stored(registered.device.pk)
    now = timezone.now().replace(minute=1, second=0, microsecond=0)
    check_in_buffer(device=device, now=now)
    assert check_ins_flush() == (1, 1)
    check_in_buffer(device=device, now=now + datetime.timedelta(minutes=5))
    assert check_ins_flush() == (1, 0)
    assert stored(registered.device.pk).last_check_in_at == now + datetime.timedelta(minutes=5)
    assert len(samples(registered.device.pk)) == 1


def test_a_reported_change_is_written_at_once(http, registered):
    seen_long_ago(registered)
    assert check_in(http, registered.credential, app_version="5.5.0").status_code == 200
    device = stored(registered.device.pk)
    assert device.app_version == "5.5.0"
    assert timezone.now() - device.last_check_in_at < datetime.timedelta(minutes=1)
    with scopes_disabled():
        assert DeviceCheckIn.objects.filter(device_id=device.pk, kind=CheckInKind.CHANGED).count() == 1


def test_without_redis_a_check_in_is_written_at_once(http, registered, settings):
    before = seen_long_ago(registered)
    settings.GENERATIONS_REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    assert check_in(http, registered.credential).status_code == 200
    assert stored(registered.device.pk).last_check_in_at > before
    assert len(samples(registered.device.pk)) == 1


def test_the_buffer_can_be_turned_off(http, registered, settings):
    settings.CHECK_IN_BUFFER = False
    before = seen_long_ago(registered)
    assert check_in(http, registered.credential).status_code == 200
    assert stored(registered.device.pk).last_check_in_at > before


def test_a_deleted_device_is_dropped(http, registered, company_a):
    seen_long_ago(registered)
    assert check_in(http, registered.credential).status_code == 200
    with company_scope(company_a):
        device_delete(device=Device.objects.get(pk=registered.device.pk), acting_user=make_user(company_a))
    assert check_ins_flush() == (0, 0)
    assert check_ins_housekeeping() == "check-ins written from the buffer: 0 devices, 0 history samples"


def test_an_older_buffered_time_never_moves_last_seen_back(http, registered):
    seen_long_ago(registered)
    device = stored(registered.device.pk)
    later = timezone.now()
    check_in_buffer(device=device, now=later - datetime.timedelta(minutes=3))
    with scopes_disabled():
        Device.objects.filter(pk=device.pk).update_uncached(last_check_in_at=later)
    assert check_ins_flush() == (0, 0)
    assert stored(device.pk).last_check_in_at == later


def test_a_failed_write_keeps_the_entries_for_the_next_pass(http, registered, credential_cache, caplog):
    before = seen_long_ago(registered)
    assert check_in(http, registered.credential).status_code == 200
    # The database refuses every write for a moment (a real refusal, not a stand-in):
    # PostgreSQL in a savepoint whose rollback ends it, SQLite by a pragma.
    postgres = connection.vendor == "postgresql"
    savepoint = transaction.savepoint_create()
    with connection.cursor() as cursor:
        cursor.execute("SET transaction_read_only = on" if postgres else "PRAGMA query_only = ON")
    try:
        assert check_ins_flush() == (0, 0)
    finally:
        if postgres:
            transaction.savepoint_rollback(savepoint)
        else:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA query_only = OFF")
    assert "not written; kept for the next pass" in caplog.text
    assert stored(registered.device.pk).last_check_in_at == before
    assert credential_cache.sismember(COMPANIES_KEY, str(registered.device.company_id))
    assert check_ins_flush() == (1, 1)
    assert stored(registered.device.pk).last_check_in_at > before


ROUNDS = 15
WRITERS = 4


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_check_ins_buffered_while_two_workers_flush_end_at_the_latest_time():
    """
    Four threads buffer check-ins of the same devices while two flush, all
    released by a barrier, round after round: no error, and once the last
    pass ran every device shows its latest buffered time and at most one
    sample per slot.
    """
    company = company_create(acting_user=OPERATOR_COMMAND, name="Buffer Race Co")
    with company_scope(company):
        team = Team.objects.get(is_default=True)
    devices = []
    for _ in range(5):
        credential = register(HttpClient(), make_pending(company, team).code)
        assert credential.status_code == 201
        devices.append(Device.objects.with_scopes_disabled().get(pk=credential.json()["device"]["id"]))
    base = timezone.now().replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=1)
    latest: dict[int, datetime.datetime] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(round_number: int, n: int) -> None:
        try:
            barrier.wait(timeout=30)
            for index, device in enumerate(devices):
                moment = base + datetime.timedelta(seconds=round_number * 60 + n * 7 + index)
                assert check_in_buffer(device=device, now=moment)
                with lock:
                    latest[device.pk] = max(latest.get(device.pk, moment), moment)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    def flusher() -> None:
        try:
            barrier.wait(timeout=30)
            check_ins_flush()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    for round_number in range(ROUNDS):
        barrier = threading.Barrier(WRITERS + 2)
        threads = [threading.Thread(target=writer, args=(round_number, n)) for n in range(WRITERS)]
        threads += [threading.Thread(target=flusher) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    check_ins_flush()

    assert errors == []
    with scopes_disabled():
        for device in devices:
            assert Device.objects.get(pk=device.pk).last_check_in_at == latest[device.pk]
            slots = [row.at.replace(minute=0, second=0, microsecond=0) for row in samples(device.pk)]
            assert len(slots) == len(set(slots))


def _wait_until(check, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_due_check_in_waits_in_memory_then_in_redis(http, registered, settings, credential_cache):
    """The process keeps the time and its thread hands it to Redis within one interval; the worker writes it."""
    settings.CHECK_IN_LOCAL_FLUSH_SECONDS = 0.2
    seen_long_ago(registered)
    assert check_in(http, registered.credential).status_code == 200  # starts the watcher
    _wait_until(generations_serving)
    check_ins_hand_over()
    key = f"{PENDING_KEY}{registered.device.company_id}"
    credential_cache.delete(key)
    seen_long_ago(registered)
    _HELD.clear()  # the copy read again: last-seen two hours ago, so the check-in is due
    assert check_in(http, registered.credential).status_code == 200
    assert not credential_cache.exists(key)  # in this process's memory
    _wait_until(lambda: credential_cache.hexists(key, str(registered.device.pk)), seconds=5)
    assert check_ins_flush() == (1, 1)


def test_a_failed_hand_over_keeps_the_times_and_check_ins_write_through_meanwhile(
    http, registered, settings, credential_cache
):
    settings.CHECK_IN_LOCAL_FLUSH_SECONDS = 30  # the thread stays out of the way: hand-overs by hand
    seen_long_ago(registered)
    assert check_in(http, registered.credential).status_code == 200
    _wait_until(generations_serving)
    check_ins_hand_over()
    key = f"{PENDING_KEY}{registered.device.company_id}"
    credential_cache.delete(key)
    device = stored(registered.device.pk)
    first = timezone.now() - datetime.timedelta(minutes=30)
    assert check_in_buffer(device=device, now=first)
    url = settings.GENERATIONS_REDIS_URL
    settings.GENERATIONS_REDIS_URL = "redis://127.0.0.1:9/0"  # Redis goes away
    assert check_ins_hand_over() == 0  # failed: kept in memory
    settings.GENERATIONS_REDIS_URL = url  # and comes back
    later = timezone.now() - datetime.timedelta(minutes=20)
    assert check_in_buffer(device=device, now=later)  # written through to Redis while the hand-over failed
    assert int(credential_cache.hget(key, str(device.pk))) == int(later.timestamp() * 1_000_000)
    assert check_ins_hand_over() == 1  # the older time from memory, which does not move it back
    assert int(credential_cache.hget(key, str(device.pk))) == int(later.timestamp() * 1_000_000)
    assert check_ins_flush() == (1, 1)
    assert stored(device.pk).last_check_in_at == later
