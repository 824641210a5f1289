"""Recording audit events."""

import datetime
import json
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import ngettext
from django_scopes import scopes_disabled

from backoffice.audit.models import AuditEvent


def audit_record(
    *,
    company: models.Model,
    actor: object,
    action: str,
    obj: models.Model | None = None,
    summary: str = "",
    data: dict[str, Any] | None = None,
    changes: list[dict[str, str]] | None = None,
    device_id: int | None = None,
    team_id: int | None = None,
    batch_id: uuid.UUID | None = None,
) -> AuditEvent:
    """
    Write one audit event. ``actor`` is the user who acted, or the system
    actor (``backoffice.tenancy.permissions.SystemActor``) that names a write
    no person made; its label is kept either way, so the trail stays readable
    after a user is deleted. Callers pass names and ids only: a registration
    code or a device credential must never be given here.

    This app sits below tenancy (which records its own events here), so it
    knows users only as Django's auth base class and companies as models.

    ``changes`` is what an edit changed (see ``audit_changes``). The event is
    filed under a device and a team for the audit log's filters: given
    explicitly, or taken from ``obj`` (a device files under itself and its
    team; an object with a ``team_id``, or a team, under that team).
    ``batch_id`` is shared by every event of one bulk action.
    """
    event = audit_event_build(
        company=company,
        actor=actor,
        action=action,
        obj=obj,
        summary=summary,
        data=data,
        changes=changes,
        device_id=device_id,
        team_id=team_id,
        batch_id=batch_id,
    )
    event.save(force_insert=True)
    return event


def audit_event_build(
    *,
    company: models.Model,
    actor: object,
    action: str,
    obj: models.Model | None = None,
    summary: str = "",
    data: dict[str, Any] | None = None,
    changes: list[dict[str, str]] | None = None,
    device_id: int | None = None,
    team_id: int | None = None,
    batch_id: uuid.UUID | None = None,
) -> AuditEvent:
    """
    The event ``audit_record`` writes, not saved yet: a bulk write builds one
    per object and saves them together with ``audit_events_save``.
    """
    if actor is None:
        raise TypeError("An audit event needs an actor: a user or a SystemActor.")
    user = actor if isinstance(actor, AbstractBaseUser) and actor.pk else None
    label = obj._meta.label_lower if obj is not None else ""
    if device_id is None and label == "devices.device":
        device_id = obj.pk  # type: ignore[union-attr]
    if team_id is None and obj is not None:
        team_id = obj.pk if label == "organization.team" else getattr(obj, "team_id", None)
    return AuditEvent(
        company_id=company.pk,
        actor_id=user.pk if user is not None else None,
        actor_label=user.get_username() if user is not None else str(actor)[:254],
        action=action,
        object_type=label,
        object_id=str(obj.pk) if obj is not None else "",
        summary=summary[:300],
        data=data or {},
        changes=changes or [],
        device_id=device_id,
        team_id=team_id,
        batch_id=batch_id,
    )


# The columns ``audit_events_save`` copies, in the order of each row.
_COPIED = (
    "company_id",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "summary",
    "data",
    "changes",
    "device_id",
    "team_id",
    "batch_id",
    "created_at",
)


def audit_events_save(events: list[AuditEvent]) -> None:
    """
    Write the events of one bulk write (built by ``audit_event_build``) at
    once, in the caller's transaction. On PostgreSQL with one ``COPY`` (about
    half the time of a multi-row INSERT for 5,000 events, bench/bulk.py);
    elsewhere with ``bulk_create``. The events' ids are not read back.
    """
    if not events:
        return
    if connection.vendor != "postgresql":
        AuditEvent.objects.bulk_create(events, batch_size=500)
        return
    now = timezone.now()
    columns = ", ".join(connection.ops.quote_name(column) for column in _COPIED)
    # The psycopg cursor under Django's wrapper (``cursor.cursor``): Django has no COPY.
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {AuditEvent._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for event in events:
            copy.write_row(
                (
                    event.company_id,
                    event.actor_id,
                    event.actor_label,
                    event.action,
                    event.object_type,
                    event.object_id,
                    event.summary,
                    json.dumps(event.data),
                    json.dumps(event.changes),
                    event.device_id,
                    event.team_id,
                    event.batch_id,
                    event.created_at or now,
                )
            )


def audit_value(value: object) -> str:
    """How a value reads in a change: names for objects, "Yes"/"No", "(none)" for nothing."""
    if value is None or value == "" or value == [] or value == ():
        return "(none)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(sorted(str(item) for item in value)) or "(none)"
    return str(value)


def audit_changes(before: dict[str, object], after: dict[str, object]) -> list[dict[str, str]]:
    """
    The fields whose value differs between ``before`` and ``after`` (both
    keyed by the field's label as the form shows it, in the form's order),
    as ``{"field", "old", "new"}`` entries of readable text.
    """
    changes = []
    for field, new in after.items():
        old = before.get(field)
        old_text, new_text = audit_value(old), audit_value(new)
        if old_text != new_text:
            changes.append({"field": field, "old": old_text, "new": new_text})
    return changes


def audit_initial(values: dict[str, object]) -> list[dict[str, str]]:
    """
    What a new object was created with, as changes from "(none)": the fields
    of ``values`` (keyed by label, in the form's order) that are set, leaving
    out those left empty or off (False).
    """
    return audit_changes({}, {field: value for field, value in values.items() if value is not False})


PRUNE_BATCH_SIZE = 5000
# Batches one housekeeping pass deletes at most, so that a large backlog (the
# retention just shortened) is caught up over several passes of the worker
# instead of holding up its emails.
PRUNE_BATCHES_PER_PASS = 20


def audit_events_prune(
    *, now: datetime.datetime, batch_size: int = PRUNE_BATCH_SIZE, max_batches: int | None = None
) -> int:
    """
    Delete the events of every company older than ``AUDIT_RETENTION_DAYS``
    days before ``now``; return how many. Runs in bounded batches: each reads
    at most ``batch_size`` ids (oldest first, through the ``created_at``
    index) and deletes them in one short transaction, so that memory and
    lock time stay small whatever the size of the backlog; at most
    ``max_batches`` of them (None: until none is left). The worker's
    housekeeping runs it after every pass (registered by the devices app).
    """
    cutoff = now - datetime.timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted = 0
    batches = 0
    with scopes_disabled():
        while max_batches is None or batches < max_batches:
            batches += 1
            with transaction.atomic():
                ids = list(
                    AuditEvent.objects.filter(created_at__lt=cutoff)
                    .order_by("created_at", "id")
                    .values_list("id", flat=True)[:batch_size]
                )
                if not ids:
                    return deleted
                deleted += AuditEvent.objects.filter(id__in=ids).delete()[0]
            if len(ids) < batch_size:
                return deleted
    return deleted


def audit_housekeeping() -> str:
    """The outbox worker's housekeeping task for the audit trail, with what it did."""
    pruned = audit_events_prune(now=timezone.now(), max_batches=PRUNE_BATCHES_PER_PASS)
    days = settings.AUDIT_RETENTION_DAYS
    return "audit: " + ngettext(
        "pruned %(n)d event older than %(days)d days", "pruned %(n)d events older than %(days)d days", pruned
    ) % {"n": pruned, "days": days}


def audit_record_many(
    *,
    company: models.Model,
    actor: object,
    events: Iterable[dict[str, Any]],
    batch_id: uuid.UUID,
) -> int:
    """
    Write the per-object events of one bulk action at once (``audit_events_save``),
    all with ``batch_id``: each of ``events`` holds the keyword arguments of
    ``audit_event_build`` (``action``, ``obj`` or ``device_id``/``team_id``,
    ``summary``, ``data``, ``changes``). The batch's own event is written with
    ``audit_record`` and the same ``batch_id``. Returns how many.
    """
    built = [audit_event_build(company=company, actor=actor, batch_id=batch_id, **event) for event in events]
    audit_events_save(built)
    return len(built)
