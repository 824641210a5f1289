"""
Pushed generations (``core.generations``) on a real Redis: a process's
watcher keeps the generations it learned, so a read costs no round trip; a
bump returns once every live watcher applied it; a watcher that stalls (a
process stopped with SIGSTOP) makes a bump wait for its lease, after which
that process reads Redis again instead of its copy; and a registry that Redis
lost makes the next bump wait a whole lease.
"""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis as redis_library

from backoffice.core import generations
from backoffice.core.generations import (
    REGISTRY_KEY,
    WATCHERS_KEY,
    company_generations,
    company_generations_bump,
    generation_key,
)
from tests.core.ratelimit_backends import generations_on

ROOT = Path(__file__).resolve().parents[2]
COMPANY = 424242
LEASE = 1.0

# A second process that only reads generations: one command per line on
# stdin ("read" or "serving"), one answer per line on stdout.
READER = """
import sys
import django
django.setup()
from backoffice.core import generations
company = int(sys.argv[1])
for line in sys.stdin:
    command, _, other = line.strip().partition(" ")
    if command == "read":
        known = generations.company_generations(int(other) if other else company)
        print(known.devices if known else "none", flush=True)
    elif command == "token":
        print(generations._watcher().token, flush=True)
    elif command == "serving":
        watcher = generations._watcher()
        print("yes" if watcher is not None and watcher.serving() else "no", flush=True)
"""


@pytest.fixture
def redis_client(settings):
    settings.GENERATIONS_PUSH = True
    settings.GENERATIONS_PUSH_LEASE_SECONDS = LEASE
    with generations_on(settings) as client:
        yield client


def stored(client: redis_library.Redis, company: int = COMPANY) -> str:
    return client.get(generation_key("devices", company)).decode()


def wait_for(check, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def serving_here() -> bool:
    watcher = generations._watcher()
    return watcher is not None and watcher.serving()


class Reader:
    """The reader process: ``ask("read")`` answers its view of the company's devices generation."""

    def __init__(self, url: str) -> None:
        env = {
            **os.environ,
            "BACKOFFICE_TESTING": "1",
            "DJANGO_SETTINGS_MODULE": "backoffice.settings",
            "PYTHONPATH": str(ROOT / "src"),
            "GENERATIONS_REDIS_URL": url,
            "GENERATIONS_PUSH": "1",
            "GENERATIONS_PUSH_LEASE_SECONDS": str(LEASE),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", READER, str(COMPANY)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def reader(redis_client, settings):
    process = Reader(settings.GENERATIONS_REDIS_URL)
    try:
        process.ask("read")  # starts its watcher
        wait_for(lambda: process.ask("serving") == "yes")
        yield process
    finally:
        process.close()


def test_a_learned_generation_is_read_without_a_round_trip(redis_client):
    company_generations(COMPANY)
    wait_for(serving_here)
    company_generations(COMPANY)  # learned from Redis once the watcher serves
    before = redis_client.info("commandstats").get("cmdstat_mget", {}).get("calls", 0)
    for _ in range(50):
        assert company_generations(COMPANY).devices == stored(redis_client)
    after = redis_client.info("commandstats").get("cmdstat_mget", {}).get("calls", 0)
    assert after == before


def test_a_bump_returns_once_this_process_applied_it(redis_client):
    company_generations(COMPANY)
    wait_for(serving_here)
    company_generations(COMPANY)
    for _ in range(20):
        company_generations_bump([COMPANY])
        assert company_generations(COMPANY).devices == stored(redis_client)


def test_a_bump_returns_once_the_other_process_applied_it(redis_client, reader):
    for _ in range(10):
        company_generations_bump([COMPANY])
        assert reader.ask("read") == stored(redis_client)


def test_a_bump_of_several_companies_returns_once_the_other_process_applied_all(redis_client, reader):
    companies = [COMPANY, COMPANY + 1, COMPANY + 2]
    for company in companies:
        reader.ask(f"read {company}")  # learned
    wait_for(lambda: all(reader.ask(f"read {c}") == stored(redis_client, c) for c in companies))
    for _ in range(10):
        company_generations_bump(companies)
        assert [reader.ask(f"read {c}") for c in companies] == [stored(redis_client, c) for c in companies]


def test_a_stalled_process_delays_a_bump_by_its_lease_and_then_reads_redis(redis_client, reader):
    """
    The reader is stopped (SIGSTOP) while it holds the generation: the bump
    waits for its acknowledgement until its lease runs out, and once the
    reader runs again its very first read is the new generation, before its
    watcher caught up.
    """
    held = reader.ask("read")
    assert held == stored(redis_client)
    token = reader.ask("token")

    def lease_left() -> float:
        expiry = redis_client.zscore(WATCHERS_KEY, token)
        seconds, micros = redis_client.time()
        return (expiry or 0) / 1000 - (seconds + micros / 1e6)

    # On a loaded machine a tick can come late: stop the reader while its lease has most of it left.
    wait_for(lambda: lease_left() > LEASE * 0.7)
    os.kill(reader.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        company_generations_bump([COMPANY])
        waited = time.monotonic() - started
    finally:
        os.kill(reader.process.pid, signal.SIGCONT)
    assert stored(redis_client) != held
    assert reader.ask("read") == stored(redis_client)
    assert LEASE * 0.4 < waited < LEASE + 1.0, waited


def test_a_process_that_exits_gives_up_its_lease(redis_client, reader):
    """A process that exits leaves the registry: the next bump waits for nobody."""
    watchers = redis_client.zcard(WATCHERS_KEY)  # this process's, the reader's (and any lease left running out)
    assert reader.process.stdin is not None
    reader.process.stdin.close()  # its loop ends: the interpreter exits normally
    reader.process.wait(timeout=10)
    assert redis_client.zcard(WATCHERS_KEY) == watchers - 1
    time.sleep(LEASE)  # the leases of readers killed by earlier tests ran out
    started = time.monotonic()
    company_generations_bump([COMPANY])
    assert time.monotonic() - started < LEASE * 0.5


def test_a_process_killed_delays_bumps_by_one_lease_at_most(redis_client, reader):
    reader.process.kill()  # no chance to leave: its lease runs out by itself
    reader.process.wait(timeout=10)
    started = time.monotonic()
    company_generations_bump([COMPANY])
    first = time.monotonic() - started
    started = time.monotonic()
    company_generations_bump([COMPANY])
    second = time.monotonic() - started
    assert first < LEASE + 0.5
    assert second < LEASE * 0.5


def test_a_registry_redis_lost_makes_the_next_bump_wait_a_lease(redis_client, reader):
    """
    Redis lost its state (flushed): a process that has not noticed may still
    hold an old copy, so a bump waits until the new registry is a lease old.
    """
    reader.ask("read")
    redis_client.flushdb()
    started = time.monotonic()
    company_generations_bump([COMPANY])
    waited = time.monotonic() - started
    assert waited > LEASE * 0.5, waited
    assert reader.ask("read") == stored(redis_client)
    assert redis_client.get(REGISTRY_KEY) is not None


def test_each_loss_of_redis_is_logged_once_however_many_attempts_fail(redis_client, caplog):
    """Paused Redis (every attempt to subscribe again times out): one warning per loss, one when it answers again."""
    caplog.set_level(logging.WARNING, logger="backoffice.core.generations")
    company_generations(COMPANY)
    wait_for(serving_here)
    caplog.clear()

    def said(text: str) -> int:
        return sum(text in record.getMessage() for record in caplog.records)

    for loss in (1, 2):
        redis_client.client_pause(int(3.5 * LEASE * 1000))
        wait_for(lambda loss=loss: said("lost Redis") == loss)
        wait_for(lambda loss=loss: said("reached Redis again") == loss, seconds=20)
        assert said("lost Redis") == loss
        wait_for(serving_here)
