"""
The one definition of a device's last-seen state, shared by the Active
Devices page (the badge, the Last seen filter and its counts) and the
Devices Report's statistics.

A device that checked in within ``ONLINE_MINUTES`` is online, within
``IDLE_HOURS`` idle, later offline; one that never checked in is never seen.
``last_seen_q`` states the same boundaries as conditions on
``last_check_in_at``, so that counts made in SQL agree with the badges.
"""

import datetime

from django.db.models import Q

ONLINE_MINUTES = 15
IDLE_HOURS = 24
ONLINE_WITHIN = datetime.timedelta(minutes=ONLINE_MINUTES)
IDLE_WITHIN = datetime.timedelta(hours=IDLE_HOURS)

ONLINE = "online"
IDLE = "idle"
OFFLINE = "offline"
NEVER = "never"
STATES = (ONLINE, IDLE, OFFLINE, NEVER)
STATE_LABELS = {ONLINE: "Online", IDLE: "Idle", OFFLINE: "Offline", NEVER: "Never seen"}


def last_seen_state(value: datetime.datetime | None, now: datetime.datetime) -> str:
    """The state (one of ``STATES``) of a device whose last check-in was ``value``, at ``now``."""
    if value is None:
        return NEVER
    age = now - value
    if age <= ONLINE_WITHIN:
        return ONLINE
    if age <= IDLE_WITHIN:
        return IDLE
    return OFFLINE


def last_seen_q(state: str, now: datetime.datetime, *, prefix: str = "") -> Q:
    """
    The devices in ``state`` at ``now``, as a condition on
    ``<prefix>last_check_in_at`` with the boundaries of ``last_seen_state``.
    Raise ``ValueError`` for a state not in ``STATES``.
    """
    field = f"{prefix}last_check_in_at"
    if state == ONLINE:
        return Q(**{f"{field}__gte": now - ONLINE_WITHIN})
    if state == IDLE:
        return Q(**{f"{field}__lt": now - ONLINE_WITHIN, f"{field}__gte": now - IDLE_WITHIN})
    if state == OFFLINE:
        return Q(**{f"{field}__lt": now - IDLE_WITHIN})
    if state == NEVER:
        return Q(**{f"{field}__isnull": True})
    raise ValueError(f"Unknown last-seen state {state!r}")
