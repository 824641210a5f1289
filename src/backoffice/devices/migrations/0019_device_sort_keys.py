"""
The Active Devices list's sort keys that come from other rows, kept on the
device row by the database: ``sort_team`` (the team's name),
``sort_license`` (the license's number, NULL without one) and
``sort_time_zone`` (the device's time zone, or its team's), each with an
index, so that sorting by them reads an index as the device's own columns do.

Set from their sources in the statement that changes a device's team,
license or time zone (whatever the application wrote there is replaced), and
on every device of a team when its name or time zone changes. A license's
number never changes.

PostgreSQL: a BEFORE row trigger on ``devices_device``. The services that
put devices into a team (add, batch add, import, edit, bulk move) first lock
the team FOR SHARE (``team_lock_for_entering_devices``), before any device or
license, so that a change of the team's name or time zone in progress
finishes first and the trigger reads the committed one (the trigger takes the
same lock, a no-op then). A device already in the team is updated by such a
change after this statement, or waited for it. The team's trigger locks the
team's devices in id order, then copies the name and time zone onto them.
SQLite (one writer at a time): row triggers. No table is rebuilt.
"""

from django.db import migrations, models


DEVICE_COLUMNS = '"team_id", "license_id", "time_zone"'
TEAM_NAME = 'SELECT "name" FROM "organization_team" WHERE "id" = NEW."team_id"'
TEAM_ZONE = 'SELECT "time_zone" FROM "organization_team" WHERE "id" = NEW."team_id"'
LICENSE_NUMBER = 'SELECT "number" FROM "licensing_license" WHERE "id" = NEW."license_id"'
TEAM_CHANGED = 'OLD."name" IS NOT NEW."name" OR OLD."time_zone" IS NOT NEW."time_zone"'

_SQLITE_SET = (
    f'UPDATE "devices_device" SET "sort_team" = ({TEAM_NAME}), '
    f'"sort_time_zone" = COALESCE(NULLIF(NEW."time_zone", \'\'), ({TEAM_ZONE})), '
    f'"sort_license" = ({LICENSE_NUMBER}) WHERE "id" = NEW."id";'
)
_FROM_TEAM = (
    'UPDATE "devices_device" SET "sort_team" = NEW."name", '
    '"sort_time_zone" = COALESCE(NULLIF("time_zone", \'\'), NEW."time_zone") '
    'WHERE "team_id" = NEW."id";'
)

SQLITE_FORWARDS = [
    f'CREATE TRIGGER "devices_sort_keys_insert" AFTER INSERT ON "devices_device" BEGIN {_SQLITE_SET} END',
    f'CREATE TRIGGER "devices_sort_keys_update" AFTER UPDATE OF {DEVICE_COLUMNS} ON "devices_device" '
    f"BEGIN {_SQLITE_SET} END",
    f'CREATE TRIGGER "devices_sort_keys_team" AFTER UPDATE OF "name", "time_zone" ON "organization_team" '
    f"WHEN {TEAM_CHANGED} BEGIN {_FROM_TEAM} END",
]
SQLITE_BACKWARDS = [f'DROP TRIGGER IF EXISTS "devices_sort_keys_{name}"' for name in ("insert", "update", "team")]

POSTGRESQL_FORWARDS = [
    # No device or team is written between the backfill and the triggers.
    'LOCK TABLE "devices_device", "organization_team" IN SHARE ROW EXCLUSIVE MODE',
    f"""
    CREATE FUNCTION "devices_sort_keys_set"() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE team_name text; team_zone text;
    BEGIN
      IF TG_OP = 'INSERT' OR NEW."team_id" IS DISTINCT FROM OLD."team_id" THEN
        -- Into a team: wait for a change of its name or time zone in
        -- progress, and take the committed one.
        SELECT "name", "time_zone" INTO team_name, team_zone FROM "organization_team"
          WHERE "id" = NEW."team_id" FOR SHARE;
      ELSE
        -- The same team: a change of its name or time zone in progress
        -- updates this row after this statement, or has committed (this
        -- statement waited for the row).
        SELECT "name", "time_zone" INTO team_name, team_zone FROM "organization_team"
          WHERE "id" = NEW."team_id";
      END IF;
      NEW."sort_team" := team_name;
      NEW."sort_time_zone" := COALESCE(NULLIF(NEW."time_zone", ''), team_zone);
      IF NEW."license_id" IS NULL THEN NEW."sort_license" := NULL;
      ELSE NEW."sort_license" := ({LICENSE_NUMBER});
      END IF;
      RETURN NEW;
    END $$
    """,
    f"""
    CREATE TRIGGER "devices_sort_keys_set" BEFORE INSERT OR UPDATE OF {DEVICE_COLUMNS} ON "devices_device"
    FOR EACH ROW EXECUTE FUNCTION "devices_sort_keys_set"()
    """,
    f"""
    CREATE FUNCTION "devices_sort_keys_team"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- The team's devices locked in id order, as every write locks devices.
      PERFORM 1 FROM "devices_device" WHERE "team_id" = NEW."id" ORDER BY "id" FOR UPDATE;
      {_FROM_TEAM}
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER "devices_sort_keys_team" AFTER UPDATE OF "name", "time_zone" ON "organization_team"
    FOR EACH ROW WHEN ({TEAM_CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ")})
    EXECUTE FUNCTION "devices_sort_keys_team"()
    """,
    # The license's descending order with the devices without one last (the
    # ascending order's index, 0019's AddIndex, puts them last already).
    """
    CREATE INDEX "devices_dev_reg_lic_desc_idx" ON "devices_device"
      ("company_id", "sort_license" DESC NULLS LAST, "nickname" DESC, "id" DESC) WHERE "registered_at" IS NOT NULL
    """,
]
POSTGRESQL_BACKWARDS = [
    'DROP INDEX IF EXISTS "devices_dev_reg_lic_desc_idx"',
    'DROP TRIGGER IF EXISTS "devices_sort_keys_set" ON "devices_device"',
    'DROP TRIGGER IF EXISTS "devices_sort_keys_team" ON "organization_team"',
    'DROP FUNCTION IF EXISTS "devices_sort_keys_set"()',
    'DROP FUNCTION IF EXISTS "devices_sort_keys_team"()',
]

BACKFILL = [
    """
    UPDATE "devices_device" SET "sort_team" = (SELECT t."name" FROM "organization_team" t WHERE t."id" = "team_id"),
      "sort_time_zone" = COALESCE(NULLIF("time_zone", ''),
        (SELECT t."time_zone" FROM "organization_team" t WHERE t."id" = "team_id")),
      "sort_license" = (SELECT l."number" FROM "licensing_license" l WHERE l."id" = "license_id")
    """,
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": SQLITE_FORWARDS, "postgresql": POSTGRESQL_FORWARDS}.get(vendor, [])
    if vendor == "postgresql":
        statements = statements[:1] + BACKFILL + statements[1:]
    else:
        statements = BACKFILL + statements
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE_BACKWARDS, "postgresql": POSTGRESQL_BACKWARDS}.get(vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0018_pending_version_triggers"),
        ("licensing", "0004_license_tally"),
        ("organization", "0004_client_unique_name_per_type"),
        ("tenancy", "0007_company_pending_version"),
    ]

    operations = [
        migrations.AddField(
            model_name="device",
            name="sort_license",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="device",
            name="sort_team",
            field=models.CharField(editable=False, max_length=100, null=True),
        ),
        migrations.AddField(
            model_name="device",
            name="sort_time_zone",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AddIndex(
            model_name="device",
            index=models.Index(
                condition=models.Q(("registered_at__isnull", False)),
                fields=["company", "sort_team", "nickname", "id"],
                name="devices_dev_reg_team_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="device",
            index=models.Index(
                condition=models.Q(("registered_at__isnull", False)),
                fields=["company", "sort_license", "nickname", "id"],
                name="devices_dev_reg_lic_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="device",
            index=models.Index(
                condition=models.Q(("registered_at__isnull", False)),
                fields=["company", "sort_time_zone", "nickname", "id"],
                name="devices_dev_reg_tz_idx",
            ),
        ),
    ]
