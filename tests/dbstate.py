"""
Snapshots of every row of every table of the Back Office's own apps (every
tenant table, companies, users and audit events), to prove that a refused
action changed nothing.
"""

from typing import Any

from django.apps import apps
from django.db import models

from backoffice.tenancy.scoping import scopes_disabled

# Columns that a request may change without being an action: a sign-in time.
VOLATILE = {"User": ("last_login",)}


def snapshot_models() -> list[type[models.Model]]:
    """Every concrete model of the backoffice apps, in a stable order (model names are unique among them)."""
    return sorted(
        (model for model in apps.get_models() if model.__module__.startswith("backoffice.")),
        key=lambda model: model._meta.label,
    )


def snapshot() -> dict[str, list[dict[str, Any]]]:
    with scopes_disabled():
        state = {model.__name__: list(model._default_manager.order_by("pk").values()) for model in snapshot_models()}
    for name, columns in VOLATILE.items():
        for row in state[name]:
            for column in columns:
                row.pop(column, None)
    return state
