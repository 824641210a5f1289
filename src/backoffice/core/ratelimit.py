"""
Exact fixed-window limits, shared by every process (DESIGN §1: nothing may
live in one process's memory).

A limit is a name, a key (what it counts by, for example a client's
network), a maximum count and a window length. Windows are aligned on
multiples of their length since the epoch, so every process agrees on where
a window starts and ends without talking to the others.

The one way to use a limit is *reserve, then count or give back*:

- ``ratelimit_reserve`` takes a slot in every limit's current window, with
  one atomic statement per limit, *before* the caller does any work. A slot
  is taken only while the events counted plus the slots in flight are below
  the maximum, so however many requests race, no more than ``maximum``
  pieces of work can ever be counted in a window. A request that gets no
  slot must do no work and answer 429 with ``retry_after_seconds``.
- ``ratelimit_count_event`` turns the slots into counted events (for the
  device API: a failed redemption); ``ratelimit_refund`` gives them back
  (a success), so only what should count does.

A request refused only because slots are *in flight* (others are being
served right now, and may still be given back) is ``busy``; with
``wait_seconds`` the reservation waits for such slots to come back instead
of refusing at once, so a burst of honest requests from one network is
served one slot at a time rather than refused.

Two backends sit behind this API, chosen at call time:

- **Redis**, when ``RATE_LIMIT_REDIS_URL`` is set (it defaults to
  ``CACHE_URL`` when that names Redis): one hash per window (fields ``n``,
  counted, and ``f``, in flight), changed only by Lua scripts that
  ``HINCRBY`` and set the ``EXPIRE`` whenever the key has none, atomically
  on the server. Keys carry their window's index and expire a minute after
  it ends.
- **The database** otherwise: one row per key in ``core.RateLimitCounter``,
  taken with a single ``INSERT … ON CONFLICT (key) DO UPDATE SET in_flight =
  in_flight + 1 … WHERE count + in_flight < maximum RETURNING count``
  statement (PostgreSQL, and SQLite from 3.35), which also resets a row
  whose window has ended. Rows of keys no longer used are deleted by
  ``ratelimit_prune``, which reservations run now and then.

Neither backend is Django's cache: the database cache's ``incr`` is a read
followed by a write and under-counts racing requests. A slot whose request
dies before counting or giving it back stays taken until its window ends
(failing closed).
"""

from __future__ import annotations

import math
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.db import connection
from django.db.models import F

from backoffice.core.models import RateLimitCounter

# How long a counter outlives its window, so that a process whose clock is a
# little behind never sees a fresh counter for a window that already ended.
EXPIRY_MARGIN_SECONDS = 60
# One reservation in this many also deletes the database rows of ended windows.
PRUNE_ONE_IN = 200
# How often a waiting reservation tries again for a slot in flight to come back.
WAIT_STEP_SECONDS = 0.02
SQLITE_UPSERT_RETURNING = (3, 35, 0)


@dataclass(frozen=True)
class Limit:
    """At most ``maximum`` events per ``window_seconds`` for one ``key`` of the limit ``name``."""

    name: str
    key: str
    maximum: int
    window_seconds: int


@dataclass(frozen=True)
class _Slot:
    """A counter: its key and the end of its window (seconds since the epoch)."""

    key: str
    window_end: int


# What taking a slot answers.
TAKEN, BUSY, FULL = "taken", "busy", "full"


@dataclass
class Reservation:
    """
    The answer of ``ratelimit_reserve``: whether every limit had room (then a
    slot is held in each, to be counted or given back once), else how long to
    wait, and whether only slots in flight stood in the way (``busy``).
    """

    allowed: bool
    retry_after_seconds: int
    busy: bool = False
    slots: tuple[_Slot, ...] = ()
    backend: _Backend | None = field(default=None, repr=False, compare=False)
    settled: bool = False


class _Backend(Protocol):
    def take(self, slot: _Slot, maximum: int, *, now: float) -> str: ...

    def settle(self, slot: _Slot, *, count: bool) -> None: ...

    def held(self, slot: _Slot) -> tuple[int, int]: ...


def _clock() -> float:
    """Seconds since the epoch: the one clock of the windows (tests move it to the next window)."""
    return time.time()


def _pause(seconds: float) -> None:
    """Wait between two tries of a busy reservation (tests settle the slot in flight here)."""
    time.sleep(seconds)


def _slot(limit: Limit, now: float) -> _Slot:
    index = int(now // limit.window_seconds)
    end = (index + 1) * limit.window_seconds
    return _Slot(key=f"ratelimit:{limit.name}:{limit.key}:{limit.window_seconds}", window_end=end)


class _DatabaseBackend:
    """Counters in ``core.RateLimitCounter``, one row per key."""

    def __init__(self) -> None:
        if connection.vendor == "sqlite" and sqlite3.sqlite_version_info < SQLITE_UPSERT_RETURNING:
            raise RuntimeError(f"Rate limits need SQLite >= 3.35 (found {sqlite3.sqlite_version}).")
        meta = RateLimitCounter._meta
        quote = connection.ops.quote_name
        self.table = quote(meta.db_table)
        self.columns = {field.name: quote(field.column or field.name) for field in meta.concrete_fields}

    def take(self, slot: _Slot, maximum: int, *, now: float) -> str:
        t = self.table
        key, end, count, flying = (self.columns[name] for name in ("key", "window_end", "count", "in_flight"))
        # In SET and WHERE, the table's name is the old row and ``excluded``
        # the proposed one (PostgreSQL and SQLite alike). A window that ended
        # before this one is reset; otherwise a slot is taken only while the
        # counted events and the slots in flight are below the maximum. No
        # row comes back when the WHERE refuses the update.
        stale = f"{t}.{end} < excluded.{end}"
        sql = (
            f"INSERT INTO {t} ({key}, {end}, {count}, {flying}) VALUES (%s, %s, 0, 1) "
            f"ON CONFLICT ({key}) DO UPDATE SET "
            f"{count} = CASE WHEN {stale} THEN 0 ELSE {t}.{count} END, "
            f"{flying} = CASE WHEN {stale} THEN 1 ELSE {t}.{flying} + 1 END, "
            f"{end} = CASE WHEN {stale} THEN excluded.{end} ELSE {t}.{end} END "
            f"WHERE {stale} OR {t}.{count} + {t}.{flying} < %s "
            f"RETURNING {count}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [slot.key, slot.window_end, maximum])
            taken = cursor.fetchone() is not None
        if random.randrange(PRUNE_ONE_IN) == 0:  # noqa: S311 - not a secret
            ratelimit_prune(now=now)
        if taken:
            return TAKEN
        counted, _ = self.held(slot)
        return FULL if counted >= maximum else BUSY

    def settle(self, slot: _Slot, *, count: bool) -> None:
        # A slot of a window that has ended meanwhile is gone with its window.
        changes = {"in_flight": F("in_flight") - 1}
        if count:
            changes["count"] = F("count") + 1
        RateLimitCounter.objects.filter(key=slot.key, window_end=slot.window_end, in_flight__gt=0).update(**changes)

    def held(self, slot: _Slot) -> tuple[int, int]:
        row = (
            RateLimitCounter.objects.filter(key=slot.key, window_end__gte=slot.window_end)
            .values_list("count", "in_flight")
            .first()
        )
        return (row[0], row[1]) if row else (0, 0)


# KEYS[1]: the window's hash; ARGV: maximum, seconds to expiry. Answers 1
# (taken), 0 (busy: only slots in flight are in the way) or -1 (full).
_TAKE_LUA = """
local counted = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local flying = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
local answer = 1
if counted >= tonumber(ARGV[1]) then
  answer = -1
elseif counted + flying >= tonumber(ARGV[1]) then
  answer = 0
else
  redis.call('HINCRBY', KEYS[1], 'f', 1)
end
if redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return answer
"""
# KEYS[1]: the window's hash; ARGV[1]: 1 to count the event, 0 to give the slot back.
_SETTLE_LUA = """
if tonumber(redis.call('HGET', KEYS[1], 'f') or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'f', -1)
  if ARGV[1] == '1' then
    redis.call('HINCRBY', KEYS[1], 'n', 1)
  end
end
return 0
"""


class _RedisBackend:
    """Counters in Redis: one hash per window, set to expire just after it."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._take = self.client.register_script(_TAKE_LUA)
        self._settle = self.client.register_script(_SETTLE_LUA)

    @staticmethod
    def _key(slot: _Slot) -> str:
        return f"{slot.key}:{slot.window_end}"

    def take(self, slot: _Slot, maximum: int, *, now: float) -> str:
        ttl = max(1, math.ceil(slot.window_end - now)) + EXPIRY_MARGIN_SECONDS
        answer = int(self._take(keys=[self._key(slot)], args=[maximum, ttl]))
        return {1: TAKEN, 0: BUSY}.get(answer, FULL)

    def settle(self, slot: _Slot, *, count: bool) -> None:
        self._settle(keys=[self._key(slot)], args=[1 if count else 0])

    def held(self, slot: _Slot) -> tuple[int, int]:
        counted, flying = self.client.hmget(self._key(slot), ["n", "f"])
        return int(counted or 0), int(flying or 0)


_redis_backends: dict[str, _RedisBackend] = {}
_redis_lock = threading.Lock()


def _backend() -> _Backend:
    """Redis when ``RATE_LIMIT_REDIS_URL`` is set (read at call time), else the database."""
    url = settings.RATE_LIMIT_REDIS_URL
    if not url:
        return _DatabaseBackend()
    with _redis_lock:
        # One client (and connection pool) per URL for the whole process.
        if url not in _redis_backends:
            _redis_backends[url] = _RedisBackend(url)
        return _redis_backends[url]


def _reserve_once(limits: tuple[Limit, ...], backend: _Backend, now: float) -> Reservation:
    taken: list[_Slot] = []
    for limit in limits:
        slot = _slot(limit, now)
        answer = FULL if limit.maximum <= 0 else backend.take(slot, limit.maximum, now=now)
        if answer != TAKEN:
            for earlier in taken:
                backend.settle(earlier, count=False)
            if answer == BUSY:
                return Reservation(allowed=False, retry_after_seconds=1, busy=True)
            return Reservation(allowed=False, retry_after_seconds=max(1, math.ceil(slot.window_end - now)))
        taken.append(slot)
    return Reservation(allowed=True, retry_after_seconds=0, slots=tuple(taken), backend=backend)


def ratelimit_reserve(*limits: Limit, now: float | None = None, wait_seconds: float = 0.0) -> Reservation:
    """
    Take one slot in the current window of every limit, atomically per limit,
    before the caller does anything; the caller must then settle it once,
    with ``ratelimit_count_event`` or ``ratelimit_refund``. When a limit is
    full, the slots already taken are given back and the answer is not
    allowed, with the seconds until that limit's window ends (at least one).
    When only slots in flight stand in the way, the reservation tries again
    for up to ``wait_seconds``, then answers ``busy`` with one second.
    """
    backend = _backend()
    deadline = time.monotonic() + wait_seconds
    while True:
        reservation = _reserve_once(limits, backend, _clock() if now is None else now)
        if not reservation.busy or time.monotonic() >= deadline:
            return reservation
        _pause(WAIT_STEP_SECONDS * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not a secret


def _settle(reservation: Reservation, *, count: bool) -> None:
    if reservation.settled or reservation.backend is None:
        return
    reservation.settled = True
    for slot in reservation.slots:
        reservation.backend.settle(slot, count=count)


def ratelimit_count_event(reservation: Reservation) -> None:
    """Count the reserved slots as events of their windows (once; nothing for a refused reservation)."""
    _settle(reservation, count=True)


def ratelimit_refund(reservation: Reservation) -> None:
    """Give the reserved slots back uncounted (once; a slot of a window that has ended is gone with it)."""
    _settle(reservation, count=False)


def ratelimit_count(limit: Limit, *, now: float | None = None) -> int:
    """The slots of ``limit``'s current window that are held: events counted plus slots in flight."""
    counted, flying = _backend().held(_slot(limit, _clock() if now is None else now))
    return counted + flying


def ratelimit_prune(*, now: float | None = None) -> int:
    """Delete the database counters of windows that ended over a minute ago; return how many."""
    now = _clock() if now is None else now
    deleted, _ = RateLimitCounter.objects.filter(window_end__lt=int(now) - EXPIRY_MARGIN_SECONDS).delete()
    return deleted
