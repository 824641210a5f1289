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
    client.flushdb()
    try:
        with override_settings(RATE_LIMIT_REDIS_URL=url):
            yield name
    finally:
        client.flushdb()
        client.close()


@contextmanager
def generations_on(settings) -> Iterator:
    """
    Company generations (and with them the credential cache and the check-in
    buffer) on the real Redis, flushed before and after; yields the client.
    """
    import redis

    url = redis_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings.GENERATIONS_REDIS_URL = url
    try:
        yield client
    finally:
        client.flushdb()
        client.close()
