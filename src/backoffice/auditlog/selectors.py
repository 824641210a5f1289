"""
Reads of the audit log: which events a user may see, the filters, a keyset
page, and the rows of the CSV export.

Paging is a keyset on ``(created_at, id)`` descending, served by the audit
indexes that start with the company and one filter (device, team, action,
actor) and end with ``-created_at, -id``: a page costs the same whether it
is the first or the thousandth, and whatever the number of events.
"""

import datetime
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from backoffice.audit.actions import audit_action_label, audit_object_label
from backoffice.audit.models import AuditEvent
from backoffice.devices.selectors import device_visible_queryset
from backoffice.organization.selectors import team_choices, team_visible_queryset
from backoffice.tenancy.models import User
from backoffice.tenancy.permissions import (
    DEMO_DATA,
    DEVICE_API,
    HOUSEKEEPING,
    OPERATOR_COMMAND,
    OUTBOX_WORKER,
)
from backoffice.tenancy.selectors import user_list

PAGE_SIZE = 50
TEAM = "organization.team"
EXPORT_CHUNK = 2000

# The actor filter's values for parties that are not users of the company.
SYSTEM_ACTORS: dict[str, str] = {
    "system:device-api": DEVICE_API.label,
    "system:outbox": OUTBOX_WORKER.label,
    "system:housekeeping": HOUSEKEEPING.label,
    "system:command": OPERATOR_COMMAND.label,
    "system:demo": DEMO_DATA.label,
}
OPERATORS = "operators"
OPERATORS_LABEL = "Service operators (Django admin)"

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
# Microseconds since 1970 (16 digits reach the year 2286), a dash, an event id.
_CURSOR = re.compile(r"([0-9]{1,16})-([0-9]{1,12})")


@dataclass(frozen=True)
class Cursor:
    """A position in the log: the time and id of an event, as the URL carries it."""

    created_at: datetime.datetime
    pk: int

    @classmethod
    def of(cls, event: AuditEvent) -> "Cursor":
        return cls(created_at=event.created_at, pk=event.pk)

    @property
    def token(self) -> str:
        delta = self.created_at - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}-{self.pk}"


def cursor_parse(text: str) -> Cursor | None:
    """The cursor in ``text``; None for anything else (a forged one only moves within what the user may see)."""
    match = _CURSOR.fullmatch(text.strip())
    if match is None:
        return None
    return Cursor(created_at=_EPOCH + datetime.timedelta(microseconds=int(match[1])), pk=int(match[2]))


@dataclass(frozen=True)
class AuditLogFilters:
    """What the audit log is narrowed to; empty fields narrow nothing. Dates are the company's days, inclusive."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    device_id: int | None = None
    device_text: str = ""
    team_id: int | None = None
    batch_id: uuid.UUID | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    zone: datetime.tzinfo = datetime.UTC

    def q(self, *, user: User) -> Q:
        q = Q()
        if self.actor in SYSTEM_ACTORS:
            q &= Q(actor__isnull=True, actor_label=SYSTEM_ACTORS[self.actor])
        elif self.actor == OPERATORS:
            q &= Q(actor__isnull=False, actor__company__isnull=True)
        elif self.actor:
            q &= Q(actor_id=int(self.actor))
        if self.action:
            q &= Q(action=self.action)
        if self.object_type:
            q &= Q(object_type=self.object_type)
        if self.device_id is not None:
            q &= Q(device_id=self.device_id)
        if self.device_text:
            named = device_visible_queryset(user=user).filter(nickname__icontains=self.device_text)
            q &= Q(device_id__in=named.values("pk"))
        if self.team_id is not None:
            q &= Q(team_id=self.team_id)
        if self.batch_id is not None:
            q &= Q(batch_id=self.batch_id)
        if self.date_from is not None:
            q &= Q(created_at__gte=datetime.datetime.combine(self.date_from, datetime.time(), tzinfo=self.zone))
        if self.date_to is not None and self.date_to < datetime.date.max:
            day_after = self.date_to + datetime.timedelta(days=1)
            q &= Q(created_at__lt=datetime.datetime.combine(day_after, datetime.time(), tzinfo=self.zone))
        return q


def audit_event_visible_queryset(*, user: User) -> QuerySet[AuditEvent]:
    """
    Events of the scoped company that ``user`` may see: all of them, or a
    Team Administrator's only those filed under their team. Who may open the
    log at all is ``tenancy.permissions.can_read_audit_log``.
    """
    events = AuditEvent.objects.all()
    if user.is_team_administrator:
        events = events.filter(team_id=user.team_id or 0)
    return events


def audit_event_list(*, user: User, filters: AuditLogFilters) -> QuerySet[AuditEvent]:
    """The events of the log under ``filters``, newest first."""
    return audit_event_visible_queryset(user=user).filter(filters.q(user=user)).order_by("-created_at", "-id")


def _older_q(cursor: Cursor) -> Q:
    # The first term bounds the index range; the second breaks ties on the time.
    return Q(created_at__lte=cursor.created_at) & (Q(created_at__lt=cursor.created_at) | Q(id__lt=cursor.pk))


def _newer_q(cursor: Cursor) -> Q:
    return Q(created_at__gte=cursor.created_at) & (Q(created_at__gt=cursor.created_at) | Q(id__gt=cursor.pk))


@dataclass(frozen=True)
class AuditRow:
    """One line of the log as the page shows it."""

    event: AuditEvent
    action_label: str
    object_label: str
    actor_name: str
    device_nickname: str | None  # set when the device still exists and the user may open its page
    team_name: str | None = None  # for an event about a team that still exists and the user may open


@dataclass(frozen=True)
class AuditLogPage:
    """A page of the log, with the cursors of the pages beside it (None: there is none)."""

    rows: list[AuditRow] = field(default_factory=list)
    older: Cursor | None = None
    newer: Cursor | None = None


def audit_log_page(
    *, user: User, filters: AuditLogFilters, before: Cursor | None = None, after: Cursor | None = None
) -> AuditLogPage:
    """
    ``PAGE_SIZE`` events: the newest (no cursor), those just older than
    ``before``, or those just newer than ``after``. A fixed number of
    queries: the page, whether there is a page on the other side, and the
    devices named on it.
    """
    events = audit_event_list(user=user, filters=filters).select_related("actor")
    if after is not None:
        found = list(events.filter(_newer_q(after)).order_by("created_at", "id")[: PAGE_SIZE + 1])
        more_newer = len(found) > PAGE_SIZE
        page = list(reversed(found[:PAGE_SIZE]))
        newer = Cursor.of(page[0]) if more_newer else None
        older = Cursor.of(page[-1]) if page and events.filter(_older_q(Cursor.of(page[-1]))).exists() else None
    else:
        if before is not None:
            events = events.filter(_older_q(before))
        found = list(events[: PAGE_SIZE + 1])
        page = found[:PAGE_SIZE]
        older = Cursor.of(page[-1]) if len(found) > PAGE_SIZE else None
        newer = None
        if before is not None and page:
            newer_events = audit_event_list(user=user, filters=filters).filter(_newer_q(Cursor.of(page[0])))
            newer = Cursor.of(page[0]) if newer_events.exists() else None
    nicknames = _device_nicknames(user=user, ids={row.device_id for row in page if row.device_id is not None})
    team_names = _team_names(user=user, ids={row.team_id for row in page if row.object_type == TEAM and row.team_id})
    rows = [
        AuditRow(
            event=event,
            action_label=audit_action_label(event.action),
            object_label=audit_object_label(event.object_type),
            actor_name=event.actor.display_name if event.actor is not None else event.actor_label,
            device_nickname=nicknames.get(event.device_id) if event.device_id is not None else None,
            team_name=team_names.get(event.team_id) if event.object_type == TEAM and event.team_id else None,
        )
        for event in page
    ]
    return AuditLogPage(rows=rows, older=older, newer=newer)


def _device_nicknames(*, user: User, ids: set[int]) -> dict[int, str]:
    """The nicknames of the devices among ``ids`` that still exist and ``user`` may see, in one query."""
    if not ids:
        return {}
    return dict(device_visible_queryset(user=user).filter(pk__in=ids).values_list("pk", "nickname"))


def _team_names(*, user: User, ids: set[int]) -> dict[int, str]:
    """The names of the teams among ``ids`` that still exist and ``user`` may see, in one query."""
    if not ids:
        return {}
    return dict(team_visible_queryset(user=user).filter(pk__in=ids).values_list("pk", "name"))


def audit_device_nickname(*, user: User, device_id: int) -> str | None:
    """The nickname of the device the log is filtered by; None when it is gone or out of reach."""
    return _device_nicknames(user=user, ids={device_id}).get(device_id)


@dataclass(frozen=True)
class AuditFilterChoices:
    """What the filter form offers: ``(value, label)`` pairs."""

    actors: list[tuple[str, str]]
    teams: list[tuple[str, str]]


def audit_filter_choices(*, user: User) -> AuditFilterChoices:
    """The company's users and the system actors; the teams ``user`` may see (two queries)."""
    people = [(str(pk), f"{name} ({email})" if name else email) for pk, name, email in
              user_list(user=user).values_list("pk", "full_name", "email")]  # fmt: skip
    actors = [*people, *SYSTEM_ACTORS.items(), (OPERATORS, OPERATORS_LABEL)]
    teams = [(str(pk), name) for pk, name in team_choices(user=user).values_list("pk", "name")]
    return AuditFilterChoices(actors=actors, teams=teams)


EXPORT_HEADER = (
    "Time",
    "Actor",
    "Action",
    "Action code",
    "Object",
    "Object id",
    "Device id",
    "Team id",
    "Summary",
    "Changes",
    "Batch",
)


def audit_export_rows(*, user: User, filters: AuditLogFilters) -> Iterator[tuple[Any, ...]]:
    """
    The raw values of every event under ``filters``, newest first, read in
    chunks as the response streams (memory stays flat whatever the count).
    The query is built here, inside the caller's company scope.
    """
    events = audit_event_list(user=user, filters=filters).values_list(
        "created_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "device_id",
        "team_id",
        "summary",
        "changes",
        "batch_id",
    )
    return events.iterator(chunk_size=EXPORT_CHUNK)
