"""
Wrong codes sent at once from one network, through the HTTP API: exactly
the limit's worth are evaluated (looked up), every other request gets 429
with Retry-After, in every window. The database backend needs real
concurrent connections (PostgreSQL); Redis runs on SQLite too.
"""

import json
import logging
import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.test import Client as HttpClient
from django.test import override_settings

from backoffice.core import ratelimit
from backoffice.device_api import services
from tests.core.ratelimit_backends import rate_limit_backend
from tests.device_api.conftest import API, REPORTED

THREADS = 40
LIMIT = 5
WINDOW = 900
START = 1_800_000_000.0  # the start of a 900-second window
WRONG = "ZZZZ-ZZZZ-ZZZZ"
PATH = f"{API}/registrations"


class LookUps:
    """
    Counts the code look-ups (calls of the redemption) and their log lines,
    from every thread. On SQLite the look-ups themselves run one at a time
    (the in-memory test database refuses concurrent transactions); the
    reservations before them still race, which is what is tested.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.lock = threading.Lock()
        serial = threading.Lock() if connection.vendor == "sqlite" else None
        redeem = services.registration_code_redeem

        def counted(**kwargs):
            with self.lock:
                self.calls += 1
            if serial is None:
                return redeem(**kwargs)
            with serial:
                return redeem(**kwargs)

        monkeypatch.setattr(services, "registration_code_redeem", counted)
        self.records: list[logging.LogRecord] = []
        handler = logging.Handler()
        handler.emit = self.records.append  # type: ignore[method-assign]
        services.logger.addHandler(handler)
        self.handler = handler

    def logged(self, text: str) -> int:
        return sum(text in record.getMessage() for record in self.records)

    def close(self) -> None:
        services.logger.removeHandler(self.handler)


def burst(address: str) -> list[tuple[int, str | None]]:
    """THREADS requests with a wrong code from ``address``, released together by a barrier."""
    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()
    body = json.dumps({"code": WRONG, "device": REPORTED})

    def send() -> None:
        try:
            http = HttpClient()
            barrier.wait(timeout=30)
            response = http.post(
                f"{API}/registrations", data=body, content_type="application/json", REMOTE_ADDR=address
            )
            with lock:
                results.append((response.status_code, response.headers.get("Retry-After")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == THREADS
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", [pytest.param("database", marks=pytest.mark.postgres_only), "redis"])
@override_settings(REGISTRATION_FAILED_PER_ADDRESS=LIMIT, REGISTRATION_RATE_WINDOW_SECONDS=WINDOW)
def test_concurrent_wrong_codes_from_one_network_are_evaluated_exactly_limit_times(backend, monkeypatch):
    if backend == "database" and connection.vendor != "postgresql":
        pytest.skip("needs concurrent database connections (PostgreSQL)")
    with rate_limit_backend(backend):
        look_ups = LookUps(monkeypatch)
        try:
            for round_number, address in enumerate(["203.0.113.7", "203.0.113.8", "2001:db8:7::1"]):
                monkeypatch.setattr(ratelimit, "_clock", lambda: START + 10)
                before = look_ups.calls
                statuses = Counter(status for status, _ in burst(address))
                assert statuses == {400: LIMIT, 429: THREADS - LIMIT}, (round_number, statuses)
                assert look_ups.calls - before == LIMIT

                # The same window again: nothing more is evaluated, every answer is 429.
                results = burst(address)
                assert Counter(status for status, _ in results) == {429: THREADS}
                assert {retry_after for _, retry_after in results} == {str(WINDOW - 10)}
                assert look_ups.calls - before == LIMIT

                # The next window allows exactly LIMIT more.
                monkeypatch.setattr(ratelimit, "_clock", lambda: START + WINDOW + 1)
                statuses = Counter(status for status, _ in burst(address))
                assert statuses == {400: LIMIT, 429: THREADS - LIMIT}
                assert look_ups.calls - before == 2 * LIMIT
            assert look_ups.logged("unknown code") == look_ups.calls == 3 * 2 * LIMIT
            assert look_ups.logged("too many failed attempts") == 3 * (3 * THREADS - 2 * LIMIT)
        finally:
            look_ups.close()
