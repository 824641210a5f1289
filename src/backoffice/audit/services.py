"""Recording audit events."""

from typing import Any

from django.db import models

from backoffice.audit.models import AuditEvent
from backoffice.tenancy.models import Company, User


def audit_record(
    *,
    company: Company,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    summary: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """
    Write one audit event. Callers pass names and ids only: a registration
    code or a device credential must never be given here.
    """
    return AuditEvent.objects.create(
        company=company,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor.email if actor is not None and actor.pk else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        summary=summary[:300],
        data=data or {},
    )
