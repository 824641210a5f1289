"""Events for the audit log tests, recorded through the real service and dated as a test needs."""

import datetime
import uuid

from backoffice.audit.models import AuditEvent
from backoffice.audit.services import audit_record
from backoffice.tenancy.scoping import company_scope

T0 = datetime.datetime(2026, 3, 10, 15, 0, tzinfo=datetime.UTC)


def record(company, actor, action="team.updated", *, at=None, obj=None, summary="", changes=None, **extra):
    """One event through ``audit_record``, then dated ``at`` (``created_at`` is set on insert)."""
    with company_scope(company):
        event = audit_record(
            company=company, actor=actor, action=action, obj=obj, summary=summary, changes=changes, **extra
        )
        if at is not None:
            AuditEvent.objects.filter(pk=event.pk).update(created_at=at)
            event.refresh_from_db()
    return event


def record_many(company, actor, count, *, at=T0, step=datetime.timedelta(seconds=1), **fields):
    """``count`` events in one INSERT, the newest at ``at``, ``step`` apart (step 0: all at the same time)."""
    with company_scope(company):
        rows = AuditEvent.objects.bulk_create(
            AuditEvent(
                company=company,
                actor=actor if getattr(actor, "pk", None) else None,
                actor_label=getattr(actor, "email", None) or str(actor),
                action=fields.get("action", "team.updated"),
                summary=fields.get("summary", f"Event {n}"),
                device_id=fields.get("device_id"),
                team_id=fields.get("team_id"),
                batch_id=fields.get("batch_id"),
            )
            for n in range(count)
        )
        ids = [row.pk for row in rows]
        if ids[0] is None:  # backends that do not return ids from a bulk insert
            ids = list(AuditEvent.objects.order_by("-id").values_list("pk", flat=True)[:count])
        for n, pk in enumerate(sorted(ids)):
            AuditEvent.objects.filter(pk=pk).update(created_at=at - step * (count - 1 - n))
    return sorted(ids)


def new_batch() -> uuid.UUID:
    return uuid.uuid4()
