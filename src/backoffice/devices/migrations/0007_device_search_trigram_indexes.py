"""
Trigram indexes for the Search pane's substring matches on PostgreSQL.

``icontains`` compiles to ``UPPER(column::text) LIKE UPPER('%…%')``, which a
B-tree cannot serve; a GIN index over ``UPPER(column)`` with ``gin_trgm_ops``
can. The pg_trgm extension needs a privileged role to be created: where it
cannot be created the indexes are skipped (searches still work, only slower)
and a warning says so. SQLite gets nothing here.
"""

import warnings

from django.db import DatabaseError, migrations, transaction

COLUMNS = ("nickname", "platform", "app_version")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError as exc:
            warnings.warn(
                f"pg_trgm is not available ({exc}); substring search runs without trigram indexes.", stacklevel=1
            )
            return
        for column in COLUMNS:
            cursor.execute(
                f'CREATE INDEX IF NOT EXISTS "devices_device_{column}_trgm" ON "devices_device" '
                f'USING gin (UPPER("{column}") gin_trgm_ops)'
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for column in COLUMNS:
            cursor.execute(f'DROP INDEX IF EXISTS "devices_device_{column}_trgm"')


class Migration(migrations.Migration):
    dependencies = [("devices", "0006_deviceclient_wholesale_only")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
