"""
Fixed-window counters in Django's cache, shared by every process.

A limit is a name, a key (a client address, or ``"global"``), a maximum
count and a window length. Windows are aligned on multiples of their length
since the epoch, so every process agrees on where a window starts and ends
without talking to the others. Counters live in the default cache: the
database cache out of the box, Redis when ``CACHE_URL`` points at it
(DESIGN §1: nothing may live in one process's memory).

With Redis, ``incr`` is atomic. With the database cache it is a read followed
by a write, so failures that race in the same instant can be under-counted by
the number of requests in flight; the limits are still enforced within that
margin.
"""

import math
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    """At most ``maximum`` events per ``window_seconds`` for one ``key`` of the limit ``name``."""

    name: str
    key: str
    maximum: int
    window_seconds: int


@dataclass(frozen=True)
class Verdict:
    """Whether more events are allowed now, and how long until the blocking window ends."""

    allowed: bool
    retry_after_seconds: int


def _window(limit: Limit, now: float) -> tuple[str, float]:
    index = int(now // limit.window_seconds)
    end = (index + 1) * limit.window_seconds
    return f"ratelimit:{limit.name}:{limit.key}:{limit.window_seconds}:{index}", end


def ratelimit_check(*limits: Limit, now: float | None = None) -> Verdict:
    """
    Answer whether every limit still has room in its current window, reading
    all counters in one cache round trip. ``retry_after_seconds`` is the
    longest wait among the exhausted limits (at least one second), 0 when
    allowed.
    """
    now = time.time() if now is None else now
    windows = [(limit, *_window(limit, now)) for limit in limits]
    counts = cache.get_many([key for _, key, _ in windows])
    waits = [max(1, math.ceil(end - now)) for limit, key, end in windows if int(counts.get(key) or 0) >= limit.maximum]
    return Verdict(allowed=not waits, retry_after_seconds=max(waits, default=0))


def ratelimit_hit(*limits: Limit, now: float | None = None) -> None:
    """Count one event against every limit's current window."""
    now = time.time() if now is None else now
    for limit in limits:
        key, end = _window(limit, now)
        # The counter outlives its window by a little so that a clock skew
        # between processes never resurrects it at zero mid-window.
        timeout = max(1, math.ceil(end - now)) + 60
        cache.add(key, 0, timeout=timeout)
        try:
            cache.incr(key)
        except ValueError:
            # Evicted between add and incr: start the window's count afresh.
            cache.set(key, 1, timeout=timeout)
