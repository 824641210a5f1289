"""
``core.ratelimit`` on both backends: a slot is taken atomically before any
work, refused requests take none, refunds give slots back, windows end.
"""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, connections

from backoffice.core import ratelimit
from backoffice.core.models import RateLimitCounter
from backoffice.core.ratelimit import (
    Limit,
    ratelimit_count,
    ratelimit_count_event,
    ratelimit_prune,
    ratelimit_refund,
    ratelimit_reserve,
)
from tests.core.ratelimit_backends import BACKENDS, rate_limit_backend

ROOT = Path(__file__).resolve().parents[2]
START = 1_800_000_000.0  # the start of a 60-second window (and of a 900-second one)


@pytest.fixture(params=BACKENDS)
def backend(request):
    with rate_limit_backend(request.param) as name:
        yield name


def test_sqlite_is_recent_enough_for_one_statement_upserts():
    import sqlite3

    assert sqlite3.sqlite_version_info >= ratelimit.SQLITE_UPSERT_RETURNING


def fail(limit: Limit, now: float) -> bool:
    """Reserve a slot and count it as an event (a failure); whether the slot was had."""
    reservation = ratelimit_reserve(limit, now=now)
    ratelimit_count_event(reservation)
    return reservation.allowed


def test_events_up_to_the_maximum_then_refused_with_the_rest_of_the_window(backend):
    limit = Limit("test", "k", maximum=3, window_seconds=60)
    for second in range(3):
        assert fail(limit, START + second)
    refused = ratelimit_reserve(limit, now=START + 20)
    assert (refused.allowed, refused.busy, refused.retry_after_seconds) == (False, False, 40)
    # A refused request holds no slot: the count stays at the maximum.
    assert ratelimit_count(limit, now=START + 20) == 3
    for _ in range(5):
        assert not fail(limit, START + 30)
    assert ratelimit_count(limit, now=START + 30) == 3
    # The next window starts afresh, on the same counter.
    assert fail(limit, START + 60)
    assert ratelimit_count(limit, now=START + 60) == 1


def test_retry_after_is_at_least_one_second(backend):
    limit = Limit("test", "edge", maximum=1, window_seconds=60)
    assert fail(limit, START + 59.5)
    assert ratelimit_reserve(limit, now=START + 59.5).retry_after_seconds == 1


def test_slots_in_flight_hold_the_limit_and_a_refund_gives_them_back_once(backend):
    limit = Limit("test", "refund", maximum=2, window_seconds=60)
    first = ratelimit_reserve(limit, now=START)
    second = ratelimit_reserve(limit, now=START)
    busy = ratelimit_reserve(limit, now=START)
    assert (busy.allowed, busy.busy, busy.retry_after_seconds) == (False, True, 1)
    ratelimit_refund(first)
    ratelimit_refund(first)  # settling the same reservation again does nothing
    ratelimit_count_event(first)
    assert ratelimit_count(limit, now=START) == 1
    third = ratelimit_reserve(limit, now=START)
    assert third.allowed
    ratelimit_count_event(second)
    ratelimit_count_event(third)
    full = ratelimit_reserve(limit, now=START)
    assert (full.allowed, full.busy) == (False, False)
    assert ratelimit_count(limit, now=START) == 2


def test_a_reservation_waits_for_a_slot_in_flight(backend, monkeypatch):
    limit = Limit("test", "wait", maximum=1, window_seconds=900)
    holder = ratelimit_reserve(limit)
    pauses = []
    # The holder finishes while the second reservation waits (after its second try).
    monkeypatch.setattr(ratelimit, "_pause", lambda _: pauses.append(1) or (len(pauses) == 2 and settle(holder)))
    settle = ratelimit_refund
    assert ratelimit_reserve(limit, wait_seconds=10).allowed
    assert len(pauses) == 2
    # When the slot in flight is counted instead, the waiting ends at once, refused for the window.
    limit = Limit("test", "wait-full", maximum=1, window_seconds=900)
    holder = ratelimit_reserve(limit)
    pauses.clear()
    settle = ratelimit_count_event
    refused = ratelimit_reserve(limit, wait_seconds=10)
    assert (refused.allowed, refused.busy, len(pauses)) == (False, False, 2)
    assert refused.retry_after_seconds > 1
    # And without waiting, a slot in flight answers busy at once.
    holder = ratelimit_reserve(Limit("test", "nowait", maximum=1, window_seconds=900))
    busy = ratelimit_reserve(Limit("test", "nowait", maximum=1, window_seconds=900))
    assert (busy.allowed, busy.busy, busy.retry_after_seconds) == (False, True, 1)


def test_a_slot_never_reaches_into_the_next_window(backend, monkeypatch):
    limit = Limit("test", "late", maximum=1, window_seconds=60)
    monkeypatch.setattr(ratelimit, "_clock", lambda: START + 10)
    early = ratelimit_reserve(limit)
    monkeypatch.setattr(ratelimit, "_clock", lambda: START + 70)
    late = ratelimit_reserve(limit)
    assert late.allowed
    ratelimit_count_event(early)  # its window is over: nothing changes in this one
    assert ratelimit_count(limit) == 1
    ratelimit_refund(late)
    assert ratelimit_count(limit) == 0


def test_a_refused_limit_gives_back_the_slots_of_the_others(backend):
    roomy = Limit("test", "roomy", maximum=10, window_seconds=60)
    full = Limit("test", "full", maximum=1, window_seconds=60)
    assert fail(full, START)
    refused = ratelimit_reserve(roomy, full, now=START)
    assert not refused.allowed
    assert ratelimit_count(roomy, now=START) == 0
    ratelimit_count_event(refused)  # nothing was held
    assert ratelimit_count(full, now=START) == 1


def test_keys_and_windows_are_separate(backend):
    a = Limit("test", "a", maximum=1, window_seconds=60)
    b = Limit("test", "b", maximum=1, window_seconds=60)
    other_name = Limit("other", "a", maximum=1, window_seconds=60)
    for limit in (a, b, other_name):
        assert ratelimit_reserve(limit, now=START).allowed
    assert not ratelimit_reserve(a, now=START).allowed


def test_database_rows_are_reused_and_pruned():
    with rate_limit_backend("database"):
        limit = Limit("test", "rows", maximum=5, window_seconds=60)
        for window in range(4):
            fail(limit, START + 60 * window)
        ratelimit_reserve(limit, now=START + 180)
        assert RateLimitCounter.objects.count() == 1
        row = RateLimitCounter.objects.get()
        assert (row.count, row.in_flight, row.window_end) == (1, 1, int(START) + 240)
        assert ratelimit_prune(now=START + 240 + 59) == 0
        assert ratelimit_prune(now=START + 240 + 61) == 1
        assert not RateLimitCounter.objects.exists()


def test_redis_keys_always_expire_after_their_window():
    with rate_limit_backend("redis"):
        import redis
        from django.conf import settings

        limit = Limit("test", "ttl", maximum=5, window_seconds=900)
        assert ratelimit_reserve(limit).allowed
        client = redis.Redis.from_url(settings.RATE_LIMIT_REDIS_URL)
        keys = client.keys("ratelimit:test:ttl:*")
        assert len(keys) == 1
        assert 0 < client.ttl(keys[0]) <= 900 + ratelimit.EXPIRY_MARGIN_SECONDS
        # A key that somehow lost its expiry gets it back at the next reservation.
        client.persist(keys[0])
        assert ratelimit_reserve(limit).allowed
        assert client.ttl(keys[0]) > 0
        client.close()


THREADS = 40
MAXIMUM = 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", [pytest.param("database", marks=pytest.mark.postgres_only), "redis"])
def test_concurrent_failures_never_exceed_the_maximum(name):
    """
    40 threads released together, each failing, against a maximum of 5:
    exactly 5 get a slot and 35 are refused for the window, in each of
    several rounds; waiting for slots in flight or not. The database backend
    needs real concurrent connections (PostgreSQL; the in-memory SQLite test
    database refuses concurrent writers outright).
    """
    if name == "database" and connection.vendor != "postgresql":
        pytest.skip("needs concurrent database connections (PostgreSQL)")
    with rate_limit_backend(name):
        for round_number in range(4):
            limit = Limit("race", f"round-{round_number}", maximum=MAXIMUM, window_seconds=60)
            wait = 10.0 if round_number % 2 else 0.0
            answers = _race(limit, settle=ratelimit_count_event, wait_seconds=wait)
            assert answers.count("allowed") == MAXIMUM, (connection.vendor, name, round_number, answers)
            assert len(answers) == THREADS
            if wait:
                assert answers.count("full") == THREADS - MAXIMUM
            assert ratelimit_count(limit, now=START) == MAXIMUM


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", [pytest.param("database", marks=pytest.mark.postgres_only), "redis"])
def test_a_burst_of_successes_is_served_one_slot_at_a_time(name):
    """40 threads that each give their slot back (successes) all get one, waiting for slots in flight."""
    if name == "database" and connection.vendor != "postgresql":
        pytest.skip("needs concurrent database connections (PostgreSQL)")
    with rate_limit_backend(name):
        limit = Limit("race", "successes", maximum=MAXIMUM, window_seconds=60)
        answers = _race(limit, settle=ratelimit_refund, wait_seconds=30.0)
        assert answers.count("allowed") == THREADS
        assert ratelimit_count(limit, now=START) == 0


def _race(limit: Limit, *, settle, wait_seconds: float) -> list[str]:
    """
    THREADS reservations released together by a barrier, each settled with
    ``settle`` when allowed: "allowed", "busy" or "full" for each.
    """
    barrier = threading.Barrier(THREADS)
    answers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            barrier.wait(timeout=30)
            reservation = ratelimit_reserve(limit, now=START, wait_seconds=wait_seconds)
            if reservation.allowed:
                time.sleep(0.005)  # the work
                settle(reservation)
            with lock:
                answers.append("allowed" if reservation.allowed else "busy" if reservation.busy else "full")
        except BaseException as error:
            with lock:
                errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return answers


def _settings_value(name: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"CACHE_URL", "RATE_LIMIT_REDIS_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print(repr(settings.{name}))"],
        cwd=ROOT,
        env={**clean, "BACKOFFICE_TESTING": "1", "DJANGO_SETTINGS_MODULE": "backoffice.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "''"),
        ({"CACHE_URL": "redis://cache:6379/0"}, "'redis://cache:6379/0'"),
        ({"CACHE_URL": "redis://cache:6379/0", "RATE_LIMIT_REDIS_URL": "none"}, "''"),
        ({"RATE_LIMIT_REDIS_URL": "rediss://limits:6380/1"}, "'rediss://limits:6380/1'"),
    ],
)
def test_rate_limit_redis_url_defaults_to_a_redis_cache_url(env, expected):
    assert _settings_value("RATE_LIMIT_REDIS_URL", PYTHONPATH="src", **env) == expected
