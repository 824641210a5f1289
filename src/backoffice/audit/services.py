"""Recording audit events."""

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models

from backoffice.audit.models import AuditEvent


def audit_record(
    *,
    company: models.Model,
    actor: object,
    action: str,
    obj: models.Model | None = None,
    summary: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """
    Write one audit event. ``actor`` is the user who acted, or the system
    actor (``backoffice.tenancy.permissions.SystemActor``) that names a write
    no person made; its label is kept either way, so the trail stays readable
    after a user is deleted. Callers pass names and ids only: a registration
    code or a device credential must never be given here.

    This app sits below tenancy (which records its own events here), so it
    knows users only as Django's auth base class and companies as models.
    """
    if actor is None:
        raise TypeError("An audit event needs an actor: a user or a SystemActor.")
    user = actor if isinstance(actor, AbstractBaseUser) and actor.pk else None
    return AuditEvent.objects.create(
        company_id=company.pk,
        actor_id=user.pk if user is not None else None,
        actor_label=user.get_username() if user is not None else str(actor)[:254],
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        summary=summary[:300],
        data=data or {},
    )
