"""Snapshots of every row that the company set-up pages can change, to prove a refused action changed nothing."""

from typing import Any

from backoffice.audit.models import AuditEvent
from backoffice.devices.models import Device
from backoffice.licensing.models import License
from backoffice.organization.models import Area, Client, Employee, Team
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.scoping import scopes_disabled

MODELS = (Company, User, Team, Employee, Area, Client, License, Device, AuditEvent)


def snapshot() -> dict[str, list[dict[str, Any]]]:
    with scopes_disabled():
        state = {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}
    for row in state["User"]:
        row.pop("last_login", None)
    return state
