"""
The check-in buffer: with Redis (company generations on) a check-in that
only moves last-seen is kept in Redis and written to the database in
batches by the worker, instead of one UPDATE per check-in.

- ``check_in_buffer`` (the device API, per due check-in): the time is kept
  in the process's memory (the later one per device) and handed to Redis
  every ``CHECK_IN_LOCAL_FLUSH_SECONDS`` by a thread, all companies in one
  round trip; or at once with that setting at 0. In Redis, a script sets
  ``check-ins:pending:<company>`` ``<device>`` to the check-in's time unless
  a later one is held, and adds the company to ``check-ins:companies``. A
  check-in that reports a change of name, OS, platform or version is never
  buffered: it is written at once, with its history row. When Redis does not
  answer, the caller writes at once (and, while the hand-over keeps failing,
  every later check-in too; what the memory held is handed over once Redis
  answers again).
- ``check_ins_flush`` (the outbox worker, every pass, and any caller): takes
  companies from the set, and per company takes its whole hash atomically
  and writes it in one transaction: the device rows locked in id order (the
  order of every device write, docs/architecture.md), last-seen set where
  the buffered time is later than the stored one, and a ``sample`` row of
  the check-in history where the stored time falls in an earlier sample slot
  (the rule of ``check_in_history_kind``). Entries of deleted devices are
  dropped. If the write fails, the entries go back (unless a newer one came
  meanwhile) for the next pass.

Last-seen in the Back Office therefore lags by up to one hand-over and one
worker pass (0.5 s and 2 s by default) beyond its resolution
(``CHECK_IN_WRITE_INTERVAL_SECONDS``). An entry lost with Redis or with a
process that died costs one last-seen time, never data a user saved.
Nothing here counts or locks across companies: each company's entries are
written in their own transaction.
"""

import atexit
import datetime
import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, DateTimeField, Value, When

from backoffice.core.generations import (
    CONFIG,
    DEVICES,
    Generations,
    generation_key,
    generation_text,
    generations_serving,
    shared_redis,
)
from backoffice.devices.models import CheckInKind, Device, DeviceCheckIn
from backoffice.devices.services.redemption import HISTORY_FIELDS, sample_slot
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope

logger = logging.getLogger(__name__)

PENDING_KEY = "check-ins:pending:"
COMPANIES_KEY = "check-ins:companies"
# Companies taken per worker pass, and rows per UPDATE statement.
FLUSH_COMPANIES_PER_PASS = 500
UPDATE_BATCH = 500

# Take a company's whole hash and delete it, atomically.
_TAKE_LUA = """
local entries = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return entries
"""

# Keep the later of the held time and this one (check-ins of one device may
# arrive through several processes at once), and note the company.
_KEEP_LATEST_LUA = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if (not held) or tonumber(held) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('SADD', KEYS[2], ARGV[3])
return 0
"""

# The same, for a device held under an expected ``devices`` generation: the
# time is kept only while the generation still has that value, and the
# company's two generations come back, so that confirming the device and
# buffering its check-in are one round trip.
_KEEP_LATEST_IF_CURRENT_LUA = """
local devices = redis.call('GET', KEYS[3])
local config = redis.call('GET', KEYS[4])
if devices and config and devices == ARGV[4] then
  local held = redis.call('HGET', KEYS[1], ARGV[1])
  if (not held) or tonumber(held) < tonumber(ARGV[2]) then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  end
  redis.call('SADD', KEYS[2], ARGV[3])
end
return {devices or '', config or ''}
"""

# Put entries back after a failed write, or hand over a process's entries,
# each unless a newer one came meanwhile.
_PUT_BACK_LUA = """
for i = 1, #ARGV, 2 do
  local held = redis.call('HGET', KEYS[1], ARGV[i])
  if (not held) or tonumber(held) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('SADD', KEYS[2], KEYS[3])
return 0
"""


def check_in_buffer_enabled() -> bool:
    return settings.CHECK_IN_BUFFER and shared_redis() is not None


def _micros(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _moment(micros: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(micros / 1_000_000, tz=datetime.UTC)


class _LocalBuffer:
    """This process's buffered check-ins (company -> device -> time in µs), handed to Redis by a thread."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.entries: dict[int, dict[int, int]] = {}
        self.failing = False
        self.thread = threading.Thread(target=self._run, name="check-in-hand-over", daemon=True)

    def keep(self, company_id: int, device_id: int, micros: int) -> None:
        with self.lock:
            held = self.entries.setdefault(company_id, {})
            if held.get(device_id, 0) < micros:
                held[device_id] = micros

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            time.sleep(0.05)  # the interval is read again each time: a setting changed takes effect
            if time.monotonic() - last >= settings.CHECK_IN_LOCAL_FLUSH_SECONDS:
                self.hand_over()
                last = time.monotonic()

    def hand_over(self) -> int:
        """Hand every held entry to Redis in one round trip; on failure keep them for the next try. Return how many."""
        with self.lock:
            taken, self.entries = self.entries, {}
        if not taken:
            return 0
        client = shared_redis()
        try:
            if client is None:
                raise ConnectionError("no Redis configured")
            script = client.register_script(_PUT_BACK_LUA)
            with client.pipeline(transaction=False) as pipe:
                for company_id, held in taken.items():
                    args: list[str | int] = []
                    for device_id, micros in held.items():
                        args += [device_id, micros]
                    script(keys=[f"{PENDING_KEY}{company_id}", COMPANIES_KEY, str(company_id)], args=args, client=pipe)
                pipe.execute()
        except Exception:  # noqa: BLE001 - kept in memory; check-ins write at once meanwhile
            if not self.failing:
                logger.warning("Check-in buffer unavailable; this process writes check-ins at once meanwhile")
            self.failing = True
            for company_id, held in taken.items():
                for device_id, micros in held.items():
                    self.keep(company_id, device_id, micros)
            return 0
        self.failing = False
        return sum(len(held) for held in taken.values())


_local: _LocalBuffer | None = None
_local_lock = threading.Lock()


def _local_buffer() -> _LocalBuffer:
    global _local
    with _local_lock:
        if _local is None or _local.pid != os.getpid():  # none yet, or inherited through a fork
            _local = _LocalBuffer()
            _local.thread.start()
        return _local


@atexit.register
def _hand_over_at_exit() -> None:
    if _local is not None and _local.pid == os.getpid():
        _local.hand_over()


def check_ins_hand_over() -> int:
    """Hand this process's buffered check-ins to Redis now (the thread does it every interval); return how many."""
    return 0 if _local is None or _local.pid != os.getpid() else _local.hand_over()


def check_in_buffer(*, device: Device, now: datetime.datetime) -> bool:
    """
    Keep ``now`` as the device's last-seen in the buffer; return whether it
    was kept (False: buffering is off or Redis did not answer, and the caller
    writes at once). The device's ``last_check_in_at`` in memory becomes
    ``now``, as after a write.
    """
    client = shared_redis()
    if client is None or not settings.CHECK_IN_BUFFER:
        return False
    if settings.CHECK_IN_LOCAL_FLUSH_SECONDS > 0 and generations_serving():
        # Kept in memory only while Redis is known to answer: this process's
        # watcher proved it within its lease, and no hand-over failed since.
        local = _local_buffer()
        if not local.failing:
            local.keep(device.company_id, device.pk, _micros(now))
            device.last_check_in_at = now
            return True
    try:
        client.register_script(_KEEP_LATEST_LUA)(
            keys=[f"{PENDING_KEY}{device.company_id}", COMPANIES_KEY],
            args=[str(device.pk), _micros(now), device.company_id],
        )
    except Exception:  # noqa: BLE001 - any Redis failure: the caller writes at once
        logger.warning("Check-in buffer unavailable; writing device %s's check-in at once", device.pk)
        return False
    device.last_check_in_at = now
    return True


def check_in_buffer_if_current(*, device: Device, now: datetime.datetime, expected: str) -> Generations | None:
    """
    Keep ``now`` as the device's last-seen in the buffer if its company's
    ``devices`` generation is still ``expected``; return the company's
    generations as read by the same script (None when Redis did not answer
    or a counter is missing). Nothing is kept when they differ: the caller
    confirms the device and checks in again.
    """
    client = shared_redis()
    if client is None or not settings.CHECK_IN_BUFFER:
        return None
    try:
        devices, config = client.register_script(_KEEP_LATEST_IF_CURRENT_LUA)(
            keys=[
                f"{PENDING_KEY}{device.company_id}",
                COMPANIES_KEY,
                generation_key(DEVICES, device.company_id),
                generation_key(CONFIG, device.company_id),
            ],
            args=[str(device.pk), _micros(now), device.company_id, expected],
        )
    except Exception:  # noqa: BLE001 - any Redis failure: the caller confirms and writes at once
        logger.warning("Check-in buffer unavailable for device %s", device.pk)
        return None
    if not devices or not config:
        return None
    generations = Generations(devices=generation_text(devices), config=generation_text(config))
    if generations.devices == expected:
        device.last_check_in_at = now
    return generations


def _write(company: Company, entries: dict[int, datetime.datetime]) -> tuple[int, int]:
    """Write one company's buffered check-ins; return (devices updated, samples added)."""
    with company_scope(company), transaction.atomic():
        rows = list(
            Device.objects.filter(pk__in=list(entries), registered_at__isnull=False)
            .order_by("pk")
            .select_for_update()
            .only("pk", "company_id", "last_check_in_at", *HISTORY_FIELDS)
        )
        due = [row for row in rows if row.last_check_in_at is None or entries[row.pk] > row.last_check_in_at]
        samples = [
            DeviceCheckIn(
                company_id=company.pk,
                device_id=row.pk,
                at=entries[row.pk],
                kind=CheckInKind.SAMPLE,
                **{field: getattr(row, field) for field in HISTORY_FIELDS},
            )
            for row in due
            if row.last_check_in_at is None or sample_slot(row.last_check_in_at) != sample_slot(entries[row.pk])
        ]
        for start in range(0, len(due), UPDATE_BATCH):
            batch = due[start : start + UPDATE_BATCH]
            when = [When(pk=row.pk, then=Value(entries[row.pk])) for row in batch]
            Device.objects.filter(pk__in=[row.pk for row in batch]).update_uncached(
                last_check_in_at=Case(*when, output_field=DateTimeField())
            )
        DeviceCheckIn.objects.bulk_create(samples, batch_size=UPDATE_BATCH)
    return len(due), len(samples)


def _flush_company(client: Any, company_id: int) -> tuple[int, int]:
    key = f"{PENDING_KEY}{company_id}"
    raw = client.register_script(_TAKE_LUA)(keys=[key])
    pairs = dict(zip(raw[::2], raw[1::2], strict=True))
    entries = {int(device_id): _moment(int(micros)) for device_id, micros in pairs.items()}
    if not entries:
        return 0, 0
    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        return 0, 0  # the company is gone, and its devices with it
    try:
        return _write(company, entries)
    except BaseException:
        args: list[str | int] = []
        for device_id, micros in pairs.items():
            args += [device_id, micros]
        client.register_script(_PUT_BACK_LUA)(keys=[key, COMPANIES_KEY, str(company_id)], args=args)
        raise


def check_ins_flush(*, company_ids: Iterable[int] | None = None) -> tuple[int, int]:
    """
    Write the buffered check-ins of ``company_ids`` (default: of up to
    ``FLUSH_COMPANIES_PER_PASS`` companies taken from the set); return
    (devices updated, history samples added). A no-op without Redis.
    """
    client = shared_redis()
    if client is None:
        return 0, 0
    check_ins_hand_over()  # what this process holds in memory first
    if company_ids is None:
        company_ids = [int(c) for c in client.spop(COMPANIES_KEY, FLUSH_COMPANIES_PER_PASS) or []]
    else:
        company_ids = list(company_ids)
        if company_ids:
            client.srem(COMPANIES_KEY, *company_ids)
    updated = sampled = 0
    for company_id in company_ids:
        try:
            done = _flush_company(client, company_id)
        except Exception:
            # Its entries went back; the other companies are still written.
            logger.exception("Buffered check-ins of company %s not written; kept for the next pass", company_id)
            continue
        updated += done[0]
        sampled += done[1]
    return updated, sampled


def check_ins_housekeeping() -> str:
    """The worker's pass: write the buffered check-ins; a line for its log."""
    updated, sampled = check_ins_flush()
    return f"check-ins written from the buffer: {updated} devices, {sampled} history samples"
