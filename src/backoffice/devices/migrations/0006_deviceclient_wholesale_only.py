"""
Only wholesale clients can be assigned to a device one by one, also in the
database: a DeviceClient row whose client is retail is refused, and a client
changed to retail leaves every device's Assigned Clients in the same statement
(docs/clients-and-functionality.md). Triggers only: no table is rebuilt, so
the company-consistency triggers of 0003 stay in place on SQLite.
"""

from django.db import migrations

SQLITE_FORWARDS = [
    """
    CREATE TRIGGER "devices_deviceclient_wholesale_only_insert" BEFORE INSERT ON "devices_deviceclient"
    WHEN (SELECT "client_type" FROM "organization_client" WHERE "id" = NEW."client_id") <> 'wholesale'
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: devices_deviceclient_wholesale_only'); END
    """,
    """
    CREATE TRIGGER "devices_deviceclient_wholesale_only_update" BEFORE UPDATE OF "client_id" ON "devices_deviceclient"
    WHEN (SELECT "client_type" FROM "organization_client" WHERE "id" = NEW."client_id") <> 'wholesale'
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: devices_deviceclient_wholesale_only'); END
    """,
    """
    CREATE TRIGGER "devices_client_retail_unassign" AFTER UPDATE OF "client_type" ON "organization_client"
    WHEN NEW."client_type" <> 'wholesale'
    BEGIN DELETE FROM "devices_deviceclient" WHERE "client_id" = NEW."id"; END
    """,
]
SQLITE_BACKWARDS = [
    'DROP TRIGGER IF EXISTS "devices_deviceclient_wholesale_only_insert"',
    'DROP TRIGGER IF EXISTS "devices_deviceclient_wholesale_only_update"',
    'DROP TRIGGER IF EXISTS "devices_client_retail_unassign"',
]

# The client row is read FOR SHARE, so a concurrent change of its type waits
# for the assignment to commit (and then removes it) instead of slipping past.
POSTGRESQL_FORWARDS = [
    """
    CREATE FUNCTION "devices_deviceclient_wholesale_only"() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE kind text;
    BEGIN
      SELECT "client_type" INTO kind FROM "organization_client" WHERE "id" = NEW."client_id" FOR SHARE;
      IF kind IS DISTINCT FROM 'wholesale' THEN
        RAISE EXCEPTION 'only wholesale clients can be assigned to a device'
          USING ERRCODE = 'check_violation', CONSTRAINT = 'devices_deviceclient_wholesale_only';
      END IF;
      RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER "devices_deviceclient_wholesale_only" BEFORE INSERT OR UPDATE OF "client_id"
    ON "devices_deviceclient" FOR EACH ROW EXECUTE FUNCTION "devices_deviceclient_wholesale_only"()
    """,
    """
    CREATE FUNCTION "devices_client_retail_unassign"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM "devices_deviceclient" WHERE "client_id" = NEW."id";
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER "devices_client_retail_unassign" AFTER UPDATE OF "client_type" ON "organization_client"
    FOR EACH ROW WHEN (NEW."client_type" <> 'wholesale') EXECUTE FUNCTION "devices_client_retail_unassign"()
    """,
]
POSTGRESQL_BACKWARDS = [
    'DROP TRIGGER IF EXISTS "devices_client_retail_unassign" ON "organization_client"',
    'DROP FUNCTION IF EXISTS "devices_client_retail_unassign"()',
    'DROP TRIGGER IF EXISTS "devices_deviceclient_wholesale_only" ON "devices_deviceclient"',
    'DROP FUNCTION IF EXISTS "devices_deviceclient_wholesale_only"()',
]


def forwards(apps, schema_editor):
    statements = {"sqlite": SQLITE_FORWARDS, "postgresql": POSTGRESQL_FORWARDS}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    statements = {"sqlite": SQLITE_BACKWARDS, "postgresql": POSTGRESQL_BACKWARDS}.get(
        schema_editor.connection.vendor, []
    )
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0005_registrationcode_live_expiry_index"),
        ("organization", "0003_area_company_consistency"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
