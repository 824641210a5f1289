"""
Company generations: one counter per company in Redis, bumped after every
committed change of a row that some process keeps a copy of outside the
database (the device API's credential cache: devices, their credentials,
teams, licenses and the company itself).

A reader reads the company's generation *before* it reads the rows from the
database and keeps its copy tagged with that generation; it uses the copy
only while the counter still holds the same value. A writer bumps the counter
once its transaction committed (``transaction.on_commit``), before its answer
goes out, so that a change (a revoked credential, a suspended license) is
seen at once by every process on every app server at its next read: a copy
read before the commit carries a generation from before the bump.

The bump is wired into the models, not the services: ``GenerationModel``
bumps on ``save()`` and ``delete()``, ``GenerationQuerySet`` on ``update()``,
``delete()`` and ``bulk_update()``, so no write path (a service, a bulk
action, the Django admin, a cascade from a company) can forget it. A write
that changes nothing a copy depends on (a check-in's last-seen and reported
fields) says so with ``update_uncached()``. Rows created by ``bulk_create``
are new: nobody holds a copy of them.

When Redis cannot be reached, readers keep no copies (every read goes to the
database) and a writer logs the failed bump; a copy outlives a bump that
failed for at most the reader's own expiry (``DEVICE_API_CREDENTIAL_CACHE_SECONDS``).
A counter that vanished (Redis restarted empty) is recreated from a random
value, so no copy tagged before can match it. Nothing here counts or locks
across companies: each counter is one company's.

Pushed generations (``GENERATIONS_PUSH``, on by default): a process that
reads generations runs a watcher, a thread subscribed to every bump, which
keeps the generations it learned in memory, so that a read costs no round
trip. Every bump is published by the script that increments the counter; a
bump made after a commit returns only once every live watcher has applied it
and said so, or once that watcher's lease ran out. A watcher's lease is
renewed by a tick it publishes to itself: a tick that came back proves that
every bump published before it was applied (one connection delivers in
order), and the watcher's copy serves only until shortly before the lease
that tick renewed runs out, so a watcher that stalls, loses its connection or
dies stops serving its copy before any change waiting for it answers.
Watchers and their leases live in Redis beside a registry mark set when the
registry was (re)created: for a lease's length after that, a change waits the
whole lease, since a watcher from before Redis lost its state may not know
yet (docs/architecture.md, "Pushed generations").
"""

import atexit
import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.db import models, transaction

logger = logging.getLogger(__name__)

KEY_PREFIX = "company-generation:"

# The two counters of a company: ``devices`` for the rows a device's
# credential look-up reads (device, credential, team, area, license,
# company), ``config`` for the other inputs of a device's configuration
# (employees, clients, assigned clients, documents), which only the
# configuration's ETag depends on.
DEVICES = "devices"
CONFIG = "config"
KINDS = (DEVICES, CONFIG)


@dataclass(frozen=True)
class Generations:
    """A company's two generations, as read at one moment."""

    devices: str
    config: str


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _client() -> Any | None:
    """The Redis client for ``GENERATIONS_REDIS_URL`` (read at call time), or None when it is not set."""
    url = settings.GENERATIONS_REDIS_URL
    if not url:
        return None
    with _clients_lock:
        if url not in _clients:
            import redis

            timeout = settings.GENERATIONS_REDIS_TIMEOUT_SECONDS
            _clients[url] = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return _clients[url]


def shared_redis() -> Any | None:
    """
    The Redis that company generations use, for other short-lived shared
    state of the same deployment (the check-in buffer); None without one.
    """
    return _client()


def generations_enabled() -> bool:
    """Whether company generations are kept (``GENERATIONS_REDIS_URL`` names a Redis)."""
    return bool(settings.GENERATIONS_REDIS_URL)


def generation_key(kind: str, company_id: int) -> str:
    """The Redis key of a company's ``kind`` generation (for scripts that read it with other keys)."""
    return f"{KEY_PREFIX}{kind}:{company_id}"


def generation_text(value: Any) -> str:
    """A generation as Redis returned it, as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


# Pushed generations: the channel every bump is published on, the registry
# mark (when the watchers' registry was created, Redis time in ms), the
# watchers' leases (a sorted set: token -> expiry, Redis time in ms), and the
# prefixes of a watcher's own tick channel and of a change's acknowledgements.
CHANNEL = "company-generation-bumps"
REGISTRY_KEY = "company-generation-registry"
WATCHERS_KEY = "company-generation-watchers"
TICK_PREFIX = "company-generation-tick:"
ACK_PREFIX = "company-generation-ack:"
# A watcher ticks this many times per lease, and serves its copy until this
# share of the lease after the tick it last saw come back was sent.
TICKS_PER_LEASE = 5
SERVING_SHARE = 0.8

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local created = tonumber(redis.call('GET', KEYS[1]))
if not created then
  redis.call('SET', KEYS[1], now)
  created = now
end
"""

# KEYS: registry, watchers, then the counters; ARGV: the acknowledgement key,
# then for each counter its random start and its label ("company:kind").
# Publishes one message for all the counters ("ack key|company:kind:value;..."),
# which a watcher applies whole before it acknowledges. Returns Redis's time,
# the registry's, and the live leases.
BUMP_SCRIPT = (
    _NOW_MS
    + """
local bumped = {}
for i = 3, #KEYS do
  local j = 2 + (i - 3) * 2
  redis.call('SET', KEYS[i], ARGV[j], 'NX')
  redis.call('INCR', KEYS[i])
  -- As text: a Lua number would round a 62-bit counter.
  bumped[#bumped + 1] = ARGV[j + 1] .. ':' .. redis.call('GET', KEYS[i])
end
redis.call('PUBLISH', '"""
    + CHANNEL
    + """', ARGV[1] .. '|' .. table.concat(bumped, ';'))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
return {now, created, redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')}
"""
)

# KEYS: registry, watchers; ARGV: token, lease in ms, tick channel, the tick's payload.
TICK_SCRIPT = (
    _NOW_MS
    + """
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return created
"""
)


@dataclass(frozen=True)
class _Mark:
    """Where a watcher stood before a read: its connection (epoch) and the bumps it had applied (seq)."""

    epoch: int
    seq: int


class _Watcher:
    """
    This process's subscription to the bumps of one Redis: the generations it
    learned (company -> ``Generations``), kept current by the bumps it
    receives, and served while its lease holds (see the module's docstring).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.pid = os.getpid()
        self.token = secrets.token_hex(12)
        self.lock = threading.Lock()
        self.values: dict[int, Generations] = {}
        self.touched: dict[int, int] = {}  # company -> seq of the last bump applied for it
        self.seq = 0
        self.epoch = 0
        self.subscribed = False
        self.lost = False  # Redis lost and not reached again since (its warning logged)
        self.serves_until = 0.0  # monotonic
        self.commands: Any = None
        self.thread = threading.Thread(target=self._run, name="generation-watcher", daemon=True)

    # -- read side (request threads) -----------------------------------------

    def serving(self) -> bool:
        return self.subscribed and time.monotonic() < self.serves_until

    def current(self, company_id: int) -> Generations | None:
        """The company's generations from memory, or None (not learned, or the lease no longer holds)."""
        if not self.serving():
            return None
        return self.values.get(company_id)

    def mark(self) -> _Mark | None:
        """Where the watcher stands before a read of Redis or of the database; None while unsubscribed."""
        if not self.subscribed:
            return None
        return _Mark(epoch=self.epoch, seq=self.seq)

    def as_of(self, company_id: int, mark: _Mark | None) -> Generations | None:
        """
        The company's generations as they stood at ``mark``: the ones in
        memory, provided no bump of the company was applied since and the
        lease holds; else None.
        """
        if mark is None or not self.serving():
            return None
        with self.lock:
            if self.epoch != mark.epoch or self.touched.get(company_id, -1) > mark.seq:
                return None
            return self.values.get(company_id)

    def learn(self, company_id: int, generations: Generations, mark: _Mark | None) -> None:
        """
        Keep ``generations``, read from Redis after ``mark``: a bump applied
        since is newer (or the same), and a later one will be applied over it.
        """
        if mark is None:
            return
        with self.lock:
            if self.epoch == mark.epoch and self.touched.get(company_id, -1) <= mark.seq:
                self.values[company_id] = generations

    def forget(self) -> None:
        with self.lock:
            self.values.clear()
            self.seq += 1
            self.touched.clear()

    # -- the watcher's thread ------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                self._serve()
            except Exception:  # noqa: BLE001 - any failure: stop serving, connect again
                # Once per loss: again after it served, not at every failed attempt in between.
                if self.subscribed or not self.lost:
                    logger.warning("Generation watcher lost Redis; this process reads generations from Redis meanwhile")
                self.lost = True
            self._unsubscribed()
            time.sleep(min(1.0, settings.GENERATIONS_PUSH_LEASE_SECONDS))

    def _unsubscribed(self) -> None:
        with self.lock:
            self.subscribed = False
            self.serves_until = 0.0
            self.values.clear()
            self.touched.clear()

    def _serve(self) -> None:
        import redis

        timeout = settings.GENERATIONS_REDIS_TIMEOUT_SECONDS
        lease = settings.GENERATIONS_PUSH_LEASE_SECONDS
        commands = redis.Redis.from_url(self.url, socket_timeout=timeout, socket_connect_timeout=timeout)
        listener = redis.Redis.from_url(self.url, socket_timeout=lease, socket_connect_timeout=timeout)
        pubsub = listener.pubsub()
        tick_channel = f"{TICK_PREFIX}{self.token}"
        tick = commands.register_script(TICK_SCRIPT)
        try:
            pubsub.subscribe(CHANNEL, tick_channel)
            confirmed = 0
            while confirmed < 2:
                message = pubsub.get_message(timeout=lease)
                if message is None:
                    raise TimeoutError("no subscription confirmation")
                confirmed += message["type"] == "subscribe"
            with self.lock:
                self.epoch += 1
                self.values.clear()
                self.touched.clear()
                self.subscribed = True
            if self.lost:
                logger.warning("Generation watcher reached Redis again; this process reads generations from memory")
                self.lost = False
            self.commands = commands
            interval = lease / TICKS_PER_LEASE
            next_tick = 0.0
            while True:
                now = time.monotonic()
                if now >= next_tick:
                    tick(
                        keys=[REGISTRY_KEY, WATCHERS_KEY],
                        args=[self.token, int(lease * 1000), tick_channel, repr(now)],
                    )
                    next_tick = now + interval
                message = pubsub.get_message(timeout=max(0.0, next_tick - time.monotonic()))
                if message is None or message["type"] != "message":
                    continue
                data = generation_text(message["data"])
                if generation_text(message["channel"]) == tick_channel:
                    self.serves_until = max(self.serves_until, float(data) + lease * SERVING_SHARE)
                else:
                    self._apply(data, commands)
        finally:
            self.commands = None
            with contextlib.suppress(Exception):  # the lease runs out by itself
                commands.zrem(WATCHERS_KEY, self.token)
            pubsub.close()
            listener.close()
            commands.close()

    def _apply(self, data: str, commands: Any) -> None:
        """Apply one bump ("ack key|company:kind:value;...") whole, then acknowledge it."""
        ack, _, bumped = data.partition("|")
        with self.lock:
            self.seq += 1
            for item in bumped.split(";"):
                company, kind, value = item.split(":", 2)
                company_id = int(company)
                self.touched[company_id] = self.seq
                known = self.values.get(company_id)
                if known is None:
                    continue
                if kind == DEVICES:
                    self.values[company_id] = Generations(devices=value, config=known.config)
                elif kind == CONFIG:
                    self.values[company_id] = Generations(devices=known.devices, config=value)
        if ack:
            with commands.pipeline(transaction=False) as pipe:
                pipe.rpush(ack, self.token)
                pipe.expire(ack, 30)
                pipe.execute()

    def leave(self) -> None:
        """Give up the lease at once (process exit), so that no change waits for it."""
        commands = self.commands
        if commands is not None:
            with contextlib.suppress(Exception):  # the lease runs out by itself
                commands.zrem(WATCHERS_KEY, self.token)


_watchers: dict[str, _Watcher] = {}


def _watcher() -> _Watcher | None:
    """This process's watcher of ``GENERATIONS_REDIS_URL``, started on first use; None with pushing off."""
    url = settings.GENERATIONS_REDIS_URL
    if not url or not settings.GENERATIONS_PUSH:
        return None
    watcher = _watchers.get(url)
    if watcher is not None and watcher.pid == os.getpid():
        return watcher
    with _clients_lock:
        watcher = _watchers.get(url)
        if watcher is None or watcher.pid != os.getpid():  # none yet, or inherited through a fork
            watcher = _Watcher(url)
            _watchers[url] = watcher
            watcher.thread.start()
    return watcher


@atexit.register
def _leave_all() -> None:
    for watcher in list(_watchers.values()):
        if watcher.pid == os.getpid():
            watcher.leave()


def local_generations_forget() -> None:
    """Drop every generation this process learned (they are learned again from Redis at the next read)."""
    for watcher in list(_watchers.values()):
        watcher.forget()


def generations_serving() -> bool:
    """Whether this process's watcher serves (its subscription proved itself within its lease)."""
    watcher = _watcher()
    return watcher is not None and watcher.serving()


def company_generations_held(company_id: int) -> Generations | None:
    """The company's generations when this process's watcher holds them and serves (no round trip), else None."""
    watcher = _watcher()
    return None if watcher is None else watcher.current(company_id)


def generations_mark() -> _Mark | None:
    """
    Where this process's watcher stands, taken before a read whose result is
    to be tagged with a generation learned only afterwards
    (``company_generations_as_of``); None without a subscribed watcher.
    """
    watcher = _watcher()
    return None if watcher is None else watcher.mark()


def company_generations_as_of(company_id: int, mark: _Mark | None) -> Generations | None:
    """
    The company's generations as they stood when ``mark`` was taken, from
    memory, without a round trip; None when the watcher cannot tell (the
    company not learned, a bump of it applied since, the lease not holding).
    """
    watcher = _watcher()
    return None if watcher is None else watcher.as_of(company_id, mark)


def company_generations(company_id: int) -> Generations | None:
    """
    The company's current generations, or None when they cannot be read (no
    Redis configured, or Redis not answering): the caller then keeps no copy.
    From this process's watcher when it holds them and its lease holds (no
    round trip); else one round trip (``MGET``), whose answer the watcher then
    keeps. A missing counter is created first (``SET NX`` from a random
    value), which costs a second one.
    """
    watcher = _watcher()
    mark = None
    if watcher is not None:
        known = watcher.current(company_id)
        if known is not None:
            return known
        mark = watcher.mark()
    generations = _company_generations_read(company_id)
    if watcher is not None and generations is not None:
        watcher.learn(company_id, generations, mark)
    return generations


def _company_generations_read(company_id: int) -> Generations | None:
    client = _client()
    if client is None:
        return None
    keys = [generation_key(kind, company_id) for kind in KINDS]
    try:
        values = client.mget(keys)
        if None in values:
            with client.pipeline(transaction=False) as pipe:
                for key, value in zip(keys, values, strict=True):
                    if value is None:
                        pipe.set(key, secrets.randbits(62), nx=True)
                pipe.mget(keys)
                values = pipe.execute()[-1]
    except Exception:  # noqa: BLE001 - any Redis failure means: no copy, read the database
        logger.warning("Company generations unreadable for company %s; reading the database", company_id)
        return None
    if None in values:
        return None
    return Generations(devices=generation_text(values[0]), config=generation_text(values[1]))


def company_generation(company_id: int) -> str | None:
    """The company's ``devices`` generation (see ``company_generations``)."""
    generations = company_generations(company_id)
    return None if generations is None else generations.devices


def _bump_now(kinds: tuple[str, ...], company_ids: frozenset[int]) -> None:
    """
    Bump (and publish) the ``kinds`` generations of ``company_ids`` in one
    script; return only once every live watcher applied the bumps, or its
    lease ran out (``_await_watchers``).
    """
    client = _client()
    if client is None or not company_ids:
        return
    keys = [REGISTRY_KEY, WATCHERS_KEY]
    args: list[Any] = [f"{ACK_PREFIX}{secrets.token_hex(12)}"]
    for company_id in sorted(company_ids):
        for kind in kinds:
            keys.append(generation_key(kind, company_id))
            # A counter that vanished restarts from a random value, never
            # from 1, which a copy held from before could carry.
            args += [secrets.randbits(62), f"{company_id}:{kind}"]
    for attempt in (1, 2):
        try:
            now, created, leases = _script(client, BUMP_SCRIPT)(keys=keys, args=args)
            _await_watchers(client, args[0], int(now), int(created), leases)
            return
        except Exception:  # noqa: BLE001 - a failed bump must not undo a committed change
            if attempt == 2:
                logger.error(
                    "Company generation bump failed for companies %s; cached copies expire within %s s",
                    ", ".join(str(c) for c in sorted(company_ids)),
                    settings.DEVICE_API_CREDENTIAL_CACHE_SECONDS,
                )


_scripts: dict[tuple[int, str], Any] = {}


def _script(client: Any, source: str) -> Any:
    """``source`` registered on ``client`` (run by its SHA, loaded again if Redis lost it)."""
    key = (id(client), source)
    script = _scripts.get(key)
    if script is None:
        script = _scripts[key] = client.register_script(source)
    return script


def _await_watchers(client: Any, ack_key: str, now_ms: int, created_ms: int, leases: list[Any]) -> None:
    """
    Wait until every watcher whose lease was live at the bump acknowledged
    it on ``ack_key``, or its lease ran out; and, when the registry is younger
    than a lease (Redis lost its state), until it is a lease old.
    """
    started = time.monotonic()

    def local(ms: int) -> float:  # a moment in Redis's clock, on this process's monotonic clock
        return started + (ms - now_ms) / 1000

    pending = {generation_text(leases[i]): local(int(float(leases[i + 1]))) for i in range(0, len(leases), 2)}
    while pending:
        moment = time.monotonic()
        pending = {token: until for token, until in pending.items() if until > moment}
        if not pending:
            break
        wait = min(max(pending.values()) - moment, settings.GENERATIONS_REDIS_TIMEOUT_SECONDS / 2)
        answer = client.blpop([ack_key], timeout=max(wait, 0.001))
        if answer is not None:
            pending.pop(generation_text(answer[1]), None)
    young_until = local(created_ms) + settings.GENERATIONS_PUSH_LEASE_SECONDS
    if time.monotonic() < young_until:
        time.sleep(young_until - time.monotonic())
    client.delete(ack_key)


def company_generations_bump(company_ids: Iterable[int | None], kinds: tuple[str, ...] = (DEVICES,)) -> None:
    """
    Bump the ``kinds`` generations of ``company_ids`` once the current
    transaction commits (at once outside one), and inside a transaction also
    right away. A no-op when no Redis is configured.
    """
    ids = frozenset(c for c in company_ids if c is not None)
    if not ids or not generations_enabled():
        return
    if transaction.get_connection().in_atomic_block:
        # Also before the commit: a copy read from now on is dropped at the
        # commit's bump anyway, and one taken earlier stops matching at once.
        _bump_now(kinds, ids)
    transaction.on_commit(lambda: _bump_now(kinds, ids))


class GenerationQuerySet(models.QuerySet):
    """A queryset whose writes bump the generations of the companies whose rows they change."""

    def _touched_companies(self) -> list[int]:
        if not generations_enabled():
            return []
        if self.model._meta.label_lower == "tenancy.company":
            return list(self.values_list("pk", flat=True))
        # Read, not taken from the company scope: a manager's
        # with_scopes_disabled() inside a scope reaches other companies' rows.
        return list(self.order_by().values_list("company_id", flat=True).distinct())

    def update(self, **kwargs: Any) -> int:
        companies = self._touched_companies()
        updated = super().update(**kwargs)
        if updated:
            company_generations_bump(companies, _kinds_of(self.model))
        return updated

    def update_uncached(self, **kwargs: Any) -> int:
        """An UPDATE of columns no cached copy depends on (last-seen, reported fields): no bump."""
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        companies = self._touched_companies()
        result = super().delete()
        if result[0]:
            company_generations_bump(companies, _kinds_of(self.model))
        return result

    def bulk_update(self, objs: Iterable[Any], fields: Any, batch_size: int | None = None) -> int:
        objs = list(objs)
        updated = super().bulk_update(objs, fields, batch_size=batch_size)
        company_generations_bump((_company_id_of(obj) for obj in objs), _kinds_of(self.model))
        return updated

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        created = super().bulk_create(objs, *args, **kwargs)
        if _kinds_of(self.model) != (DEVICES,):
            # New employees, clients or documents change configurations; new
            # devices, licenses or credentials are in nobody's copy yet.
            company_generations_bump((_company_id_of(obj) for obj in created), _kinds_of(self.model))
        return created


GenerationManager = models.Manager.from_queryset(GenerationQuerySet)


def _company_id_of(obj: models.Model) -> int | None:
    if obj._meta.label_lower == "tenancy.company":
        return obj.pk
    return getattr(obj, "company_id", None)


def _kinds_of(model: type[models.Model]) -> tuple[str, ...]:
    return getattr(model, "generation_kinds", (DEVICES,))


class GenerationModel(models.Model):
    """
    A model whose rows are copied outside the database: ``save()`` and
    ``delete()`` bump the company's ``generation_kinds`` generations (those
    of ``devices`` by default), unless ``bumps_generation()`` says the write
    changes nothing a copy depends on.
    """

    generation_kinds: ClassVar[tuple[str, ...]] = (DEVICES,)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        bumps = self.bumps_generation(adding=self._state.adding) if generations_enabled() else False
        super().save(*args, **kwargs)
        if bumps:
            company_generations_bump([_company_id_of(self)], self.generation_kinds)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        company_id = _company_id_of(self)
        result = super().delete(*args, **kwargs)
        company_generations_bump([company_id], self.generation_kinds)
        return result

    def bumps_generation(self, *, adding: bool) -> bool:
        """Whether saving this row (``adding``: a new one) changes what a copy depends on."""
        return True
