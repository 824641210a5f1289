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
"""

import logging
import secrets
import threading
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


def company_generations(company_id: int) -> Generations | None:
    """
    The company's current generations, or None when they cannot be read (no
    Redis configured, or Redis not answering): the caller then keeps no copy.
    One round trip (``MGET``); a missing counter is created first (``SET NX``
    from a random value), which costs a second one.
    """
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
    client = _client()
    if client is None or not company_ids:
        return
    for attempt in (1, 2):
        try:
            with client.pipeline(transaction=False) as pipe:
                for company_id in sorted(company_ids):
                    for kind in kinds:
                        # A counter that vanished restarts from a random value,
                        # never from 1, which a copy held from before could carry.
                        pipe.set(generation_key(kind, company_id), secrets.randbits(62), nx=True)
                        pipe.incr(generation_key(kind, company_id))
                pipe.execute()
            return
        except Exception:  # noqa: BLE001 - a failed bump must not undo a committed change
            if attempt == 2:
                logger.error(
                    "Company generation bump failed for companies %s; cached copies expire within %s s",
                    ", ".join(str(c) for c in sorted(company_ids)),
                    settings.DEVICE_API_CREDENTIAL_CACHE_SECONDS,
                )


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
