"""The audit 0003 migration files the events written before it under their device and team."""

import importlib
from types import SimpleNamespace

from django.apps import apps
from django.db import connection

from backoffice.audit.models import AuditEvent
from backoffice.tenancy.scoping import scopes_disabled

migration = importlib.import_module("backoffice.audit.migrations.0003_changes_device_team")


def _old_event(company, **fields) -> int:
    """An event as written before the migration: no device, no team."""
    with scopes_disabled():
        return AuditEvent.objects.create(company_id=company.pk, action="old.event", **fields).pk


def test_backfill_files_old_events_under_their_device_and_team(company_a, company_b):
    rows = {
        "about a device": _old_event(company_a, object_type="devices.device", object_id="42"),
        "about a team": _old_event(company_b, object_type="organization.team", object_id="7"),
        "naming a device": _old_event(
            company_a, object_type="notifications.outboxemail", object_id="3", data={"device_id": 43}
        ),
        "naming it oddly": _old_event(company_a, object_type="notifications.outboxemail", data={"device_id": "43"}),
        "about a user": _old_event(company_a, object_type="tenancy.user", object_id="5", data={"email": "a@a.example"}),
        "already filed": _old_event(company_a, object_type="devices.device", object_id="44", device_id=44, team_id=9),
    }
    # RunPython passes a schema editor, of which backfill uses only the connection;
    # a real one cannot be opened inside the test's transaction on SQLite.
    migration.backfill(apps, SimpleNamespace(connection=connection))
    with scopes_disabled():
        filed = dict(AuditEvent.objects.filter(pk__in=rows.values()).values_list("pk", "device_id"))
        teams = dict(AuditEvent.objects.filter(pk__in=rows.values()).values_list("pk", "team_id"))
    assert {name: (filed[pk], teams[pk]) for name, pk in rows.items()} == {
        "about a device": (42, None),
        "about a team": (None, 7),
        "naming a device": (43, None),
        "naming it oddly": (None, None),
        "about a user": (None, None),
        "already filed": (44, 9),
    }
