"""
The two backends of ``core.ratelimit`` for tests: ``with rate_limit_backend("database" | "redis"):``.

Redis is the server of ``scripts/with-redis.sh`` (``REDIS_URL``). Without it
a Redis test is skipped locally, and fails under CI (``CI=true``), where
``.ci/run`` must have provided one.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import override_settings

BACKENDS = ("database", "redis")

# The start of a window of every length the limits use (5, 60, 900, 3600 s).
WINDOW_START = 1_800_000_000.0


def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("REDIS_URL is not set under CI: run the tests through scripts/with-redis.sh")
        pytest.skip("REDIS_URL is not set (run through scripts/with-redis.sh)")
    return url


@contextmanager
def rate_limit_backend(name: str) -> Iterator[str]:
    """Counters in the database table, or in a flushed Redis database, for the duration."""
    if name == "database":
        with override_settings(RATE_LIMIT_REDIS_URL=""):
            yield name
        return
    import redis

    url = redis_url()
    client = redis.Redis.from_url(url)
    generations_flush(client)
    try:
        with override_settings(RATE_LIMIT_REDIS_URL=url):
            yield name
    finally:
        generations_flush(client)
        client.close()


def generations_flush(client) -> None:
    """
    Empty the Redis of company generations but for the watchers' registry
    and leases (``core.generations``), as if the test's state had always been
    there; and let this process forget what its watcher learned. A flushed
    registry would make the next change wait a whole lease, as after Redis
    lost its state (tested in tests/core/test_pushed_generations.py).
    """
    from backoffice.core.generations import REGISTRY_KEY, WATCHERS_KEY, local_generations_forget

    keys = [key for key in client.scan_iter(count=1000) if key.decode() not in (REGISTRY_KEY, WATCHERS_KEY)]
    if keys:
        client.delete(*keys)
    client.set(REGISTRY_KEY, 0, nx=True)
    local_generations_forget()


@contextmanager
def generations_on(settings) -> Iterator:
    """
    Company generations (and with them the credential cache, pushed
    generations and the check-in buffer) on the real Redis, flushed before
    and after (``generations_flush``); yields the client.
    """
    import redis

    url = redis_url()
    client = redis.Redis.from_url(url)
    generations_flush(client)
    settings.GENERATIONS_REDIS_URL = url
    # Buffered check-ins go to Redis at once, so a test sees them there
    # (tests/device_api/test_check_in_buffer.py tests the hand-over).
    settings.CHECK_IN_LOCAL_FLUSH_SECONDS = 0
    try:
        yield client
    finally:
        generations_flush(client)
        client.close()
