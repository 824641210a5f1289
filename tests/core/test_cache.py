"""The default cache costs no database query, however many entries it holds."""

import pytest
from django.core.cache import cache


def test_cache_writes_run_no_query_as_entries_grow(django_assert_num_queries, settings):
    if "redis" in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("CACHE_URL points at Redis, which the database never sees")
    for i in range(200):
        cache.set(f"test-cache-growth:{i}", "x", timeout=1)
    with django_assert_num_queries(0):
        cache.set("test-cache-growth:last", "x", timeout=60)
        assert cache.get("test-cache-growth:last") == "x"
