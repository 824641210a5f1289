"""
Statistics of the last-seen index's expression on PostgreSQL.

The Active Devices page reads a company's devices outside Online as one range
of ``COALESCE(last_check_in_at, year 1)`` (the expression of the partial index
``devices_dev_reg_seen2_idx``). PostgreSQL takes no statistics from a partial
index, so without these it guessed a third of the company's devices for that
range and, at 100,000 devices, read the table sequentially instead of the
index's few thousand entries. ANALYZE fills them (autovacuum keeps them).
"""

from django.db import migrations

NAME = "devices_device_seen_key_stats"
CREATE = (
    f"CREATE STATISTICS IF NOT EXISTS {NAME} "
    "ON (COALESCE(last_check_in_at, '0001-01-01 00:00:00+00:00'::timestamptz)) FROM devices_device"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(CREATE)
        cursor.execute("ANALYZE devices_device")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP STATISTICS IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("devices", "0020_device_license_tally_by_platform_and_version")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
