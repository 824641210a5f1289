"""
Reads for the device API.

The credential look-up runs on every authenticated call, so it is one
statement on the unique digest index, compiled once per process rather than
by the ORM on each call (the ORM's query compilation would cost several times
the rest of a check-in). Its columns are taken from the models' metadata and
its values go through the fields' own database converters, so it follows the
models as they change.
"""

import copy
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.models import Field, Model
from django.utils import timezone

from backoffice.core.generations import (
    Generations,
    company_generations,
    company_generations_as_of,
    generations_enabled,
    generations_mark,
)
from backoffice.devices.codes import credential_digest
from backoffice.devices.models import Device, DeviceCredential
from backoffice.devices.selectors import (
    config_etag,
    config_fingerprint,
    config_name,
    config_name_tag,
    device_effective_config,
)
from backoffice.licensing.choices import LicenseStatus
from backoffice.licensing.models import License
from backoffice.organization.models import Team
from backoffice.tenancy.models import Company

Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class _Part:
    """The columns of one model in the credential look-up, and how to turn them into an instance."""

    model: type[Model]
    fields: tuple[Field, ...]
    converters: tuple[tuple[tuple[Converter, ...], Any], ...]

    @property
    def attnames(self) -> list[str]:
        return [field.attname for field in self.fields]

    def build(self, values: tuple[Any, ...]) -> Model:
        converted = list(values)
        for index, (functions, expression) in enumerate(self.converters):
            for function in functions:
                converted[index] = function(converted[index], expression, connection)
        return self.model.from_db(connection.alias, self.attnames, converted)


# The columns read with the credential: every field of the device, and of its
# team, license and company those needed to authenticate the device and to
# compute its configuration. Other fields of those three stay deferred (read
# on access, which the API does not do).
RELATED_FIELDS: dict[type[Model], tuple[str, ...]] = {
    Team: ("id", "company", "name", "time_zone", "area", "changed_at"),
    License: ("id", "company", "number", "license_type", "expires_on", "is_suspended"),
    Company: ("id", "name", "default_time_zone", "area_support", "default_functionality", "changed_at"),
}


@functools.cache
def _credential_statement(vendor: str) -> tuple[str, tuple[_Part, ...]]:
    """The SQL of the credential look-up and its column groups, for the database ``vendor``."""
    quote = connection.ops.quote_name
    aliases: tuple[tuple[str, type[Model]], ...] = (("d", Device), ("t", Team), ("l", License), ("c", Company))
    parts = []
    columns = []
    for alias, model in aliases:
        # In the models' own field order, which Model.from_db expects.
        wanted = RELATED_FIELDS.get(model)
        fields: tuple[Field, ...] = tuple(f for f in model._meta.concrete_fields if wanted is None or f.name in wanted)
        converters = []
        for field in fields:
            expression = field.get_col(alias)
            functions = tuple(connection.ops.get_db_converters(expression)) + tuple(field.get_db_converters(connection))
            converters.append((functions, expression))
            columns.append(f"{alias}.{quote(str(field.column))}")
        parts.append(_Part(model=model, fields=fields, converters=tuple(converters)))

    def column(model: type[Model], name: str) -> str:
        field = model._meta.get_field(name)
        assert isinstance(field, Field)
        return quote(str(field.column))

    pk = quote("id")
    sql = (
        f"SELECT {', '.join(columns)} "
        f"FROM {quote(DeviceCredential._meta.db_table)} cr "
        f"INNER JOIN {quote(Device._meta.db_table)} d ON d.{pk} = cr.{column(DeviceCredential, 'device')} "
        f"INNER JOIN {quote(Team._meta.db_table)} t ON t.{pk} = d.{column(Device, 'team')} "
        f"LEFT OUTER JOIN {quote(License._meta.db_table)} l ON l.{pk} = d.{column(Device, 'license')} "
        f"INNER JOIN {quote(Company._meta.db_table)} c ON c.{pk} = d.{column(Device, 'company')} "
        f"WHERE cr.{column(DeviceCredential, 'digest')} = %s "
        f"AND cr.{column(DeviceCredential, 'revoked_at')} IS NULL "
        f"AND d.{column(Device, 'registered_at')} IS NOT NULL"
    )
    return sql, tuple(parts)


def _lookup_cursor() -> Any:
    """
    A cursor for the credential look-up. On PostgreSQL it binds parameters on
    the server so that the statement is prepared once per connection: planning
    the five-table join costs several times its execution. Django's own
    queries keep client-side binding and are never prepared, so only this
    statement is. ``DEVICE_API_PREPARED_LOOKUP=0`` turns it off behind a
    connection pooler that does not support prepared statements.
    """
    if connection.vendor != "postgresql" or not settings.DEVICE_API_PREPARED_LOOKUP:
        return connection.cursor()
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = 0
    with connection.wrap_database_errors:
        cursor = psycopg.Cursor(raw)
    # Wrapped like Django's own cursors, so the query is logged and counted as any other.
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    return wrap(cursor)  # type: ignore[arg-type]


def _fetch_one(sql: str, params: list[str]) -> tuple[Any, ...] | None:
    """
    Run the look-up and return its row. The look-up stands in for the
    per-request connection health check (``CONN_HEALTH_CHECKS``), which would
    cost a round trip of its own: a connection found dead is closed and the
    look-up, a read outside any transaction, is tried once more on a new one.
    """
    for attempt in (1, 2):
        try:
            with _lookup_cursor() as cursor:
                cursor.execute(sql, params)
                row = cursor.fetchone()
        except (InterfaceError, OperationalError):
            if attempt == 2 or connection.in_atomic_block:
                raise
            connection.close()
            continue
        connection.health_check_done = True  # type: ignore[attr-defined]
        return row
    return None


@dataclass(frozen=True)
class _Held:
    """A device this process authenticated, tagged with its company's generation when it was read."""

    device: Device
    generation: str
    expires: float


# This process's credential cache (on when company generations are kept,
# ``core.generations``): credential digest -> the device read for it. A copy
# is used only while its company's generation in Redis is still the one read
# *before* the device was read from the database, so any committed change of
# the device, its credentials, team, license, area or company (each bumps it)
# makes every process read the database again at its next call.
_HELD: dict[str, _Held] = {}
# Credential digest -> company: a credential never changes company, so this
# says which generation to read before the look-up that fills ``_HELD``.
_COMPANY_OF: dict[str, int] = {}


def _credential_cache_on() -> bool:
    return generations_enabled() and settings.DEVICE_API_CREDENTIAL_CACHE_SECONDS > 0


def _detached(device: Device) -> Device:
    """
    A shallow copy of ``device`` for one request to change at will (a
    check-in sets last-seen and the reported fields on it). Its team, license
    and company are shared with the held copy: the API only reads them.
    """
    copied = Device.__new__(Device)
    copied.__dict__.update(device.__dict__)
    state = copy.copy(device._state)
    state.fields_cache = dict(device._state.fields_cache)
    copied._state = state
    return copied


def _make_room(held: dict[str, Any]) -> None:
    """Drop the oldest entries while ``held`` is at ``DEVICE_API_CREDENTIAL_CACHE_ENTRIES``."""
    while len(held) >= max(1, settings.DEVICE_API_CREDENTIAL_CACHE_ENTRIES):
        try:
            held.pop(next(iter(held)), None)
        except (RuntimeError, StopIteration):  # another thread changed it meanwhile
            return


def _hold(digest: str, device: Device, generation: str, expires: float | None = None) -> None:
    _make_room(_HELD)
    if expires is None:
        expires = time.monotonic() + settings.DEVICE_API_CREDENTIAL_CACHE_SECONDS
    if getattr(device, "_config_fingerprint", None) is None:
        device._config_fingerprint = config_fingerprint(device)  # type: ignore[attr-defined]
    _HELD[digest] = _Held(device=_detached(device), generation=generation, expires=expires)
    device._credential_held = (digest, generation)  # type: ignore[attr-defined]


def _device_from_database(digest: str) -> Device | None:
    sql, parts = _credential_statement(connection.vendor)
    row = _fetch_one(sql, [digest])
    if row is None:
        return None
    instances = []
    start = 0
    for part in parts:
        values = tuple(row[start : start + len(part.fields)])
        start += len(part.fields)
        instances.append(part.build(values) if values[0] is not None else None)
    device, team, license, company = instances
    assert isinstance(device, Device)
    Device._meta.get_field("team").set_cached_value(device, team)  # type: ignore[union-attr]
    Device._meta.get_field("license").set_cached_value(device, license)  # type: ignore[union-attr]
    Device._meta.get_field("company").set_cached_value(device, company)  # type: ignore[union-attr]
    return device


def device_for_credential(*, credential: str, provisional: bool = False) -> Device | None:
    """
    The registered device holding the live ``credential``, or None, with its
    team, license (None when it has none) and company loaded.

    A credential can belong to any company: this look-up is deliberately not
    scoped (it is the credential that says which company), and the caller
    opens the device's company scope. One query on the unique digest index;
    with the credential cache on, a credential seen before costs one Redis
    round trip instead (its company's generation) while nothing of its
    company changed, and the database is read whenever the generation moved,
    cannot be read, or the copy is older than ``DEVICE_API_CREDENTIAL_CACHE_SECONDS``.

    With ``provisional``, a held copy comes back without that round trip,
    marked unconfirmed: nothing may be answered or written for it before
    ``device_confirm`` (or ``device_confirmed_by``, after a script that
    checked the generation itself) confirmed it. The device API confirms
    every call once its body is validated, so that a check-in's confirmation
    and its write are one round trip.
    """
    digest = credential_digest(credential)
    if not _credential_cache_on():
        return _device_from_database(digest)
    if provisional:
        held = _HELD.get(digest)
        if held is not None and held.expires > time.monotonic():
            copied = _detached(held.device)
            copied._unconfirmed = (digest, held.generation)  # type: ignore[attr-defined]
            return copied
    return _device_for_digest(digest)


def _device_for_digest(digest: str) -> Device | None:
    company_id = _COMPANY_OF.get(digest)
    if company_id is None:
        # A credential not seen before: its company is known only once it is
        # read, so the copy is held only when this process's watcher can tell
        # that company's generations as they stood before the read.
        mark = generations_mark()
        device = _device_from_database(digest)
        if device is None:
            return None
        known = company_generations_as_of(device.company_id, mark)
        if known is not None:
            _hold(digest, device, known.devices)
            device._config_generation = known.config  # type: ignore[attr-defined]
        else:
            _HELD.pop(digest, None)
            company_generations(device.company_id)  # learned for the next credential of the company
        _make_room(_COMPANY_OF)
        _COMPANY_OF[digest] = device.company_id
        return device
    generations = company_generations(company_id)
    held = _HELD.get(digest)
    fresh = held is not None and generations is not None and held.generation == generations.devices
    if held is not None and generations is not None and fresh and held.expires > time.monotonic():
        copied = _detached(held.device)
        copied._credential_held = (digest, generations.devices)  # type: ignore[attr-defined]
        copied._config_generation = generations.config  # type: ignore[attr-defined]
        return copied
    device = _device_from_database(digest)
    if device is None:
        _HELD.pop(digest, None)
        return None
    if generations is None:
        device._config_generation = ""  # type: ignore[attr-defined]  # unreadable: not asked twice
    if generations is not None and device.company_id == company_id:
        # The generations were read before the device: a change committed in
        # between has bumped them since, so this copy will not match.
        _hold(digest, device, generations.devices)
        device._config_generation = generations.config  # type: ignore[attr-defined]
    else:
        _HELD.pop(digest, None)
        _make_room(_COMPANY_OF)
        _COMPANY_OF[digest] = device.company_id
    return device


def device_unconfirmed_generation(*, device: Device) -> str | None:
    """The ``devices`` generation a provisional copy was held under; None once confirmed (or never provisional)."""
    pending = getattr(device, "_unconfirmed", None)
    return None if pending is None else pending[1]


def device_confirmed_by(*, device: Device, generations: Generations) -> bool:
    """
    Confirm a provisional copy with ``generations`` read by the caller
    (before anything was written for it): True when its company's ``devices``
    generation is still the one it was held under.
    """
    pending = getattr(device, "_unconfirmed", None)
    if pending is None:
        return True
    digest, expected = pending
    if generations.devices != expected:
        return False
    del device._unconfirmed  # type: ignore[attr-defined]
    device._credential_held = (digest, expected)  # type: ignore[attr-defined]
    device._config_generation = generations.config  # type: ignore[attr-defined]
    return True


def device_confirm(*, device: Device) -> Device | None:
    """
    The confirmed ``device``: itself when it was never provisional or its
    company's generation still matches (one Redis round trip), else the
    device read again for its credential (None when that credential is no
    longer live).
    """
    pending = getattr(device, "_unconfirmed", None)
    if pending is None:
        return device
    generations = company_generations(device.company_id)
    if generations is not None and device_confirmed_by(device=device, generations=generations):
        return device
    return _device_for_digest(pending[0])


def device_credential_cache_refresh(*, device: Device) -> None:
    """
    After this process wrote a check-in for ``device`` (last-seen and
    reported fields only, which bump no generation), keep the written values
    in its cached copy, so that the next check-in's write decision sees them.
    """
    held_as = getattr(device, "_credential_held", None)
    if held_as is None:
        return
    digest, generation = held_as
    held = _HELD.get(digest)
    if held is not None and held.generation == generation:
        _hold(digest, device, generation, expires=held.expires)


def device_license_is_active(*, device: Device) -> bool:
    """
    Whether the device holds a license that is active today in its company's
    time zone (the day the Back Office shows), the expiry day itself included.
    """
    if device.license is None:
        return False
    day = timezone.localdate(timezone=device.company.zone)
    return device.license.status_on(day) == LicenseStatus.ACTIVE


def _config_generation(device: Device) -> str | None:
    """
    The company's ``config`` generation to tag the device's configuration
    ETag with: the one read with the credential (before anything of the
    configuration was read), else read now, before the configuration is;
    None without generations.
    """
    held = getattr(device, "_config_generation", None)
    if held is not None:
        return held or None  # "": already found unreadable for this request
    if not generations_enabled():
        return None
    generations = company_generations(device.company_id)
    device._config_generation = "" if generations is None else generations.config  # type: ignore[attr-defined]
    return None if generations is None else generations.config


@dataclass(frozen=True)
class _ConfigKey:
    """
    What names a device's configuration: a key, whether a generation is in
    it, and (without one) how long the ETag remembered under it serves.
    """

    key: str
    seconds: int
    versioned: bool

    @property
    def version_tag(self) -> str:
        """The configuration's ETag when a generation names it (``config_name_tag``)."""
        return config_name_tag(self.key)


def _config_key(device: Device) -> _ConfigKey:
    """
    The name of the device's configuration: its row inputs
    (``config_fingerprint``), and with company generations the company's
    ``config`` generation, which every change of employees, clients, assigned
    clients or a device's documents bumps. A name with a generation is the
    ETag itself (``version_tag``): it changes whenever any input may have
    changed, so a check-in computes no configuration. Without generations the
    ETag is a hash of the configuration's body, remembered under the name for
    ``CONFIG_ETAG_CACHE_SECONDS`` (the delay then allowed for employee and
    client changes).
    """
    generation = _config_generation(device)
    if generation is None:
        key = f"device-config-etag:{device.pk}:{config_fingerprint(device)}"
        return _ConfigKey(key, settings.CONFIG_ETAG_CACHE_SECONDS, False)
    return _ConfigKey(config_name(device, generation), 0, True)


# Without company generations, this process's copy of recently seen
# configuration ETags: cache key -> (etag, monotonic expiry). It saves a cache
# round trip on most check-ins and holds nothing that must be shared: losing
# it costs a recomputation. A copy can lag behind another process's by at
# most CONFIG_ETAG_CACHE_SECONDS, the delay then allowed for employee and
# client changes.
_LOCAL_ETAGS: dict[str, tuple[str, float]] = {}
_LOCAL_ETAGS_MAX = 20_000


def _remember_locally(key: str, etag: str, seconds: int) -> None:
    if len(_LOCAL_ETAGS) >= _LOCAL_ETAGS_MAX:
        _LOCAL_ETAGS.clear()
    _LOCAL_ETAGS[key] = (etag, time.monotonic() + seconds)


def device_config_with_etag(*, device: Device) -> tuple[dict[str, object], str]:
    """
    The device's effective configuration and its ETag, computed afresh (for
    ``GET /config``): the configuration's name with company generations (read
    before the configuration is, so the tag can only be older than the body
    it names, never newer), else a hash of the body, remembered for
    check-ins. Run inside the device's company scope.
    """
    name = _config_key(device)
    config = device_effective_config(device=device)
    if name.versioned:
        return config, name.version_tag
    etag = config_etag(config)
    if cache.get(name.key) != etag:
        cache.set(name.key, etag, timeout=name.seconds)
    _remember_locally(name.key, etag, name.seconds)
    return config, etag


def device_config_etag(*, device: Device) -> str:
    """
    The configuration's ETag for a check-in. With company generations it is
    the configuration's name (``_config_key``), nothing computed or read;
    changes of the device's, team's or company's settings, of the team's
    employees or of clients show at once. Without them, from this process's
    copy or the shared cache when they hold one for the current device, team
    and company settings, else computed: changes of employees and clients then
    show within ``CONFIG_ETAG_CACHE_SECONDS`` (and at once on ``GET /config``).
    Run inside the device's company scope.
    """
    name = _config_key(device)
    if name.versioned:
        return name.version_tag
    local = _LOCAL_ETAGS.get(name.key)
    if local is not None and local[1] > time.monotonic():
        return local[0]
    etag = cache.get(name.key)
    if etag is None:
        etag = config_etag(device_effective_config(device=device))
        cache.set(name.key, etag, timeout=name.seconds)
    _remember_locally(name.key, etag, name.seconds)
    return etag


def database_answers() -> bool:
    """
    Whether the database answers one trivial statement (``SELECT 1``): the
    readiness check of ``GET /ready``, one round trip and nothing read.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False
