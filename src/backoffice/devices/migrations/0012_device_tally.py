"""
The registered-device tally (``DeviceTally``): one row per company, team,
platform, ReconPro version and license presence with how many registered
devices share them, kept by triggers on ``devices_device`` in the same
transaction as every write, and filled here from the devices already stored.

PostgreSQL: statement-level triggers over the transition tables, so a bulk
statement applies its changes as one upsert in key order (the tally rows are
always locked in the same order, after the device rows). SQLite (one writer
at a time): row triggers. Triggers only on ``devices_device``: no table is
rebuilt, so the triggers of 0003 and 0006 stay in place on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models

KEY = '"company_id", "team_id", "platform", "app_version", "app_version_key", "licensed"'
TALLY = '"devices_devicetally"'


def _key_of(row):
    return (
        f'{row}."company_id", {row}."team_id", {row}."platform", {row}."app_version", '
        f'{row}."app_version_key", {row}."license_id" IS NOT NULL'
    )


def _key_match(row):
    return (
        f'"company_id" = {row}."company_id" AND "team_id" = {row}."team_id" AND "platform" = {row}."platform" '
        f'AND "app_version" = {row}."app_version" AND "app_version_key" = {row}."app_version_key" '
        f'AND "licensed" = ({row}."license_id" IS NOT NULL)'
    )


_CHANGED = " OR ".join(
    [
        '(OLD."registered_at" IS NULL) IS NOT (NEW."registered_at" IS NULL)',
        '(OLD."license_id" IS NULL) IS NOT (NEW."license_id" IS NULL)',
        *(
            f'OLD."{column}" IS NOT NEW."{column}"'
            for column in ("company_id", "team_id", "platform", "app_version", "app_version_key")
        ),
    ]
)

SQLITE_FORWARDS = [
    f"""
    CREATE TRIGGER "devices_tally_insert" AFTER INSERT ON "devices_device"
    WHEN NEW."registered_at" IS NOT NULL
    BEGIN
      INSERT INTO {TALLY} ({KEY}, "n") VALUES ({_key_of("NEW")}, 1)
      ON CONFLICT ({KEY}) DO UPDATE SET "n" = "n" + 1;
    END
    """,
    f"""
    CREATE TRIGGER "devices_tally_delete" AFTER DELETE ON "devices_device"
    WHEN OLD."registered_at" IS NOT NULL
    BEGIN
      UPDATE {TALLY} SET "n" = "n" - 1 WHERE {_key_match("OLD")};
    END
    """,
    f"""
    CREATE TRIGGER "devices_tally_update" AFTER UPDATE OF
      "company_id", "team_id", "platform", "app_version", "app_version_key", "license_id", "registered_at"
    ON "devices_device" WHEN {_CHANGED}
    BEGIN
      UPDATE {TALLY} SET "n" = "n" - 1 WHERE OLD."registered_at" IS NOT NULL AND {_key_match("OLD")};
      INSERT INTO {TALLY} ({KEY}, "n") SELECT {_key_of("NEW")}, 1 WHERE NEW."registered_at" IS NOT NULL
      ON CONFLICT ({KEY}) DO UPDATE SET "n" = "n" + 1;
    END
    """,
]
SQLITE_BACKWARDS = [
    'DROP TRIGGER IF EXISTS "devices_tally_insert"',
    'DROP TRIGGER IF EXISTS "devices_tally_delete"',
    'DROP TRIGGER IF EXISTS "devices_tally_update"',
]


def _counted(rows, sign):
    return f'SELECT {_key_of(rows)}, {sign} AS "d" FROM {rows} WHERE {rows}."registered_at" IS NOT NULL'


# One function for the three statement triggers: the change of each tally
# row (+1 per device row that enters it, -1 per device row that leaves it),
# rows that do not change left out, applied as one upsert in key order.
_CHANGES = {
    "INSERT": _counted("new_rows", 1),
    "DELETE": _counted("old_rows", -1),
    "UPDATE": f"{_counted('new_rows', 1)} UNION ALL {_counted('old_rows', -1)}",
}


def _apply(operation):
    return f"""
        INSERT INTO {TALLY} ({KEY}, "n")
        SELECT {KEY}, SUM("d") FROM ({_CHANGES[operation]}) AS "change" ("company_id", "team_id", "platform",
          "app_version", "app_version_key", "licensed", "d")
        GROUP BY {KEY} HAVING SUM("d") <> 0 ORDER BY {KEY}
        ON CONFLICT ({KEY}) DO UPDATE SET "n" = {TALLY}."n" + EXCLUDED."n";"""


POSTGRESQL_FORWARDS = [
    # No device is written between the backfill and the triggers.
    'LOCK TABLE "devices_device" IN SHARE ROW EXCLUSIVE MODE',
    f"""
    CREATE FUNCTION "devices_tally_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN {_apply("INSERT")}
      ELSIF TG_OP = 'DELETE' THEN {_apply("DELETE")}
      ELSE
        -- Most updates (a check-in) change no key: nothing to do. The keys
        -- compared as multisets (no join of the two tables, which a bulk
        -- UPDATE of many rows would make quadratic).
        IF NOT EXISTS (SELECT "company_id", "team_id", "platform", "app_version", "app_version_key", "license_id" IS NULL, "registered_at" IS NULL FROM new_rows EXCEPT ALL SELECT "company_id", "team_id", "platform", "app_version", "app_version_key", "license_id" IS NULL, "registered_at" IS NULL FROM old_rows) THEN RETURN NULL; END IF;
        {_apply("UPDATE")}
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER "devices_tally_insert" AFTER INSERT ON "devices_device"
    REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "devices_tally_apply"()
    """,
    """
    CREATE TRIGGER "devices_tally_delete" AFTER DELETE ON "devices_device"
    REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "devices_tally_apply"()
    """,
    """
    CREATE TRIGGER "devices_tally_update" AFTER UPDATE ON "devices_device"
    REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows"
    FOR EACH STATEMENT EXECUTE FUNCTION "devices_tally_apply"()
    """,
]
POSTGRESQL_BACKWARDS = [
    'DROP TRIGGER IF EXISTS "devices_tally_insert" ON "devices_device"',
    'DROP TRIGGER IF EXISTS "devices_tally_delete" ON "devices_device"',
    'DROP TRIGGER IF EXISTS "devices_tally_update" ON "devices_device"',
    'DROP FUNCTION IF EXISTS "devices_tally_apply"()',
]

BACKFILL = f"""
    INSERT INTO {TALLY} ({KEY}, "n")
    SELECT "company_id", "team_id", "platform", "app_version", "app_version_key", "license_id" IS NOT NULL, COUNT(*)
    FROM "devices_device" WHERE "registered_at" IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE_FORWARDS, "postgresql": POSTGRESQL_FORWARDS}.get(vendor, []):
        schema_editor.execute(statement)
    schema_editor.execute(BACKFILL)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE_BACKWARDS, "postgresql": POSTGRESQL_BACKWARDS}.get(vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0011_registrationcode_batch_id"),
        ("organization", "0004_client_unique_name_per_type"),
        ("tenancy", "0004_company_audit_log_for_viewers"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeviceTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("platform", models.CharField(blank=True, max_length=64)),
                ("app_version", models.CharField(blank=True, max_length=64)),
                ("app_version_key", models.CharField(blank=True, max_length=200)),
                ("licensed", models.BooleanField()),
                ("n", models.IntegerField(default=0)),
                (
                    "company",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenancy.company"
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="organization.team"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("company", "team", "platform", "app_version", "app_version_key", "licensed"),
                        name="devices_tally_key",
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
