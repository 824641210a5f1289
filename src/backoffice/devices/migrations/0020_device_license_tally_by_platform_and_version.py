"""
The registered devices' license tally (``DeviceLicenseTally``) keyed by the
platform and the ReconPro version too, so that the Active Devices page can
sum every filter's counts, its total and its versions chart from it for a
search by the filters alone (team, platform, version, license status),
whatever they combine.

The triggers of 0015 are replaced by the same ones with the longer key (a
device's platform or version changing now moves it between rows as its team
does), the rows are counted again from the devices. PostgreSQL:
statement-level triggers; a device statement first locks (FOR SHARE, in id
order) the licenses of the rows whose key changes. Lock order as in 0015:
the device rows, their licenses, the license tally's rows, this tally's
rows, then the device tally's. SQLite (one writer at a time): row triggers.
The tally table is rebuilt on SQLite (its new columns have a default); no
trigger is on it, and ``devices_device`` is not rebuilt.
"""

# Generated on 2026-12-03 17:57

from django.db import migrations, models


TALLY = '"devices_devicelicensetally"'
KEY = '"company_id", "team_id", "platform", "app_version", "app_version_key", "licensed", "is_suspended", "expires_on"'
NO_EXPIRY = "'9999-12-31'"
_UPSERT = f'ON CONFLICT ({KEY}) DO UPDATE SET "n" = {TALLY}."n" + EXCLUDED."n"'
_DEVICE_KEY_COLUMNS = ("company_id", "team_id", "platform", "app_version", "app_version_key", "license_id")


def _device_state(row):
    """The tally key of device ``row``, its license joined as ``l`` (LEFT JOIN)."""
    return (
        f'{row}."company_id", {row}."team_id", {row}."platform", {row}."app_version", {row}."app_version_key", '
        f'l."id" IS NOT NULL, COALESCE(l."is_suspended", false), COALESCE(l."expires_on", {NO_EXPIRY})'
    )


def _sqlite_state(row):
    return _device_state(row).replace("false", "0")


def _sqlite_add(row, sign):
    if sign > 0:
        return (
            f'INSERT INTO {TALLY} ({KEY}, "n") SELECT {_sqlite_state(row)}, 1 FROM (SELECT 1) '
            f'LEFT JOIN "licensing_license" l ON l."id" = {row}."license_id" WHERE 1 '
            f'ON CONFLICT ({KEY}) DO UPDATE SET "n" = "n" + 1;'
        )
    return (
        f'UPDATE {TALLY} SET "n" = "n" - 1 WHERE ({KEY}) = (SELECT {_sqlite_state(row)} FROM (SELECT 1) '
        f'LEFT JOIN "licensing_license" l ON l."id" = {row}."license_id");'
    )


_SQLITE_CHANGED = " OR ".join(
    [
        '(OLD."registered_at" IS NULL) IS NOT (NEW."registered_at" IS NULL)',
        *(f'OLD."{column}" IS NOT NEW."{column}"' for column in _DEVICE_KEY_COLUMNS),
    ]
)


def _sqlite_license(row, held_state, sign):
    """Move the registered holder of license ``row`` into or out of its state ``held_state`` (``OLD``/``NEW``)."""
    state = (
        f'd."company_id", d."team_id", d."platform", d."app_version", d."app_version_key", 1, '
        f'{held_state}."is_suspended", COALESCE({held_state}."expires_on", {NO_EXPIRY})'
    )
    holder = f'FROM "devices_device" d WHERE d."license_id" = {row}."id" AND d."registered_at" IS NOT NULL'
    if sign > 0:
        return (
            f'INSERT INTO {TALLY} ({KEY}, "n") SELECT {state}, 1 {holder} '
            f'ON CONFLICT ({KEY}) DO UPDATE SET "n" = "n" + 1;'
        )
    return f'UPDATE {TALLY} SET "n" = "n" - 1 WHERE ({KEY}) = (SELECT {state} {holder});'


_SQLITE_UPDATE_OF = ", ".join(f'"{column}"' for column in (*_DEVICE_KEY_COLUMNS, "registered_at"))

SQLITE_FORWARDS = [
    f"""
    CREATE TRIGGER "devices_license_tally_insert" AFTER INSERT ON "devices_device"
    WHEN NEW."registered_at" IS NOT NULL
    BEGIN {_sqlite_add("NEW", 1)} END
    """,
    f"""
    CREATE TRIGGER "devices_license_tally_delete" AFTER DELETE ON "devices_device"
    WHEN OLD."registered_at" IS NOT NULL
    BEGIN {_sqlite_add("OLD", -1)} END
    """,
    f"""
    CREATE TRIGGER "devices_license_tally_update" AFTER UPDATE OF {_SQLITE_UPDATE_OF} ON "devices_device"
    WHEN {_SQLITE_CHANGED}
    BEGIN
      {_sqlite_add("OLD", -1)[:-1]} AND OLD."registered_at" IS NOT NULL;
      {_sqlite_add("NEW", 1).replace("WHERE 1", 'WHERE NEW."registered_at" IS NOT NULL')}
    END
    """,
    f"""
    CREATE TRIGGER "devices_license_tally_license" AFTER UPDATE OF "is_suspended", "expires_on"
    ON "licensing_license"
    WHEN OLD."is_suspended" IS NOT NEW."is_suspended" OR OLD."expires_on" IS NOT NEW."expires_on"
    BEGIN
      {_sqlite_license("OLD", "OLD", -1)}
      {_sqlite_license("NEW", "NEW", 1)}
    END
    """,
]
SQLITE_DROP = [
    f'DROP TRIGGER IF EXISTS "devices_license_tally_{name}"' for name in ("insert", "delete", "update", "license")
]


def _counted(rows, sign):
    return (
        f'SELECT {_device_state("r")}, {sign} AS "d", r."license_id" FROM {rows} r '
        f'LEFT JOIN "licensing_license" l ON l."id" = r."license_id" WHERE r."registered_at" IS NOT NULL'
    )


_CHANGES = {
    "INSERT": _counted("new_rows", 1),
    "DELETE": _counted("old_rows", -1),
    "UPDATE": f"{_counted('new_rows', 1)} UNION ALL {_counted('old_rows', -1)}",
}
_COLUMNS = f'{KEY}, "d", "license_id"'

_ROW_KEY = ", ".join(f'"{column}"' for column in _DEVICE_KEY_COLUMNS) + ', "registered_at" IS NULL AS "pending"'
# The licenses of the device rows whose tally key changes, to lock first:
# for an UPDATE, the keys found on one side and not on the other (multiset
# differences, hashed, never a join of the two tables).
_TOUCHED = {
    "INSERT": 'SELECT "license_id" FROM new_rows WHERE "registered_at" IS NOT NULL',
    "DELETE": 'SELECT "license_id" FROM old_rows WHERE "registered_at" IS NOT NULL',
    "UPDATE": (
        f'SELECT "license_id" FROM (SELECT {_ROW_KEY} FROM new_rows EXCEPT ALL SELECT {_ROW_KEY} FROM old_rows) AS "a" '
        f'UNION SELECT "license_id" FROM (SELECT {_ROW_KEY} FROM old_rows EXCEPT ALL SELECT {_ROW_KEY} FROM new_rows) AS "b"'
    ),
}
_UNCHANGED = f"NOT EXISTS (SELECT {_ROW_KEY} FROM new_rows EXCEPT ALL SELECT {_ROW_KEY} FROM old_rows)"


def _apply_devices(operation):
    # The licenses are locked first, then the changes read with their state
    # as it is now (each statement of the function sees what has committed).
    return f"""
        PERFORM 1 FROM "licensing_license" l WHERE l."id" IN ({_TOUCHED[operation]})
        ORDER BY l."id" FOR SHARE OF l;
        INSERT INTO {TALLY} ({KEY}, "n")
        SELECT {KEY}, SUM("d") FROM ({_CHANGES[operation]}) AS "c" ({_COLUMNS})
        GROUP BY {KEY} HAVING SUM("d") <> 0 ORDER BY {KEY}
        {_UPSERT};"""


def _apply_licenses():
    def holders(rows, sign):
        return (
            f'SELECT d."company_id", d."team_id", d."platform", d."app_version", d."app_version_key", true, '
            f'r."is_suspended", COALESCE(r."expires_on", {NO_EXPIRY}), {sign} '
            f'FROM {rows} r JOIN "devices_device" d ON d."license_id" = r."id" WHERE d."registered_at" IS NOT NULL'
        )

    return f"""
        INSERT INTO {TALLY} ({KEY}, "n")
        SELECT {KEY}, SUM("d") FROM ({holders("new_rows", 1)} UNION ALL {holders("old_rows", -1)})
          AS "c" ({KEY}, "d")
        GROUP BY {KEY} HAVING SUM("d") <> 0 ORDER BY {KEY}
        {_UPSERT};"""


POSTGRESQL_DROP = [
    *(
        f'DROP TRIGGER IF EXISTS "devices_license_tally_{event}" ON "devices_device"'
        for event in ("insert", "delete", "update")
    ),
    'DROP TRIGGER IF EXISTS "devices_license_tally_license" ON "licensing_license"',
    'DROP FUNCTION IF EXISTS "devices_license_tally_apply"()',
    'DROP FUNCTION IF EXISTS "devices_license_tally_license_apply"()',
]
POSTGRESQL_FORWARDS = [
    f"""
    CREATE FUNCTION "devices_license_tally_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN {_apply_devices("INSERT")}
      ELSIF TG_OP = 'DELETE' THEN {_apply_devices("DELETE")}
      ELSE
        -- Most updates (a check-in) change no key: nothing to do. The keys
        -- compared as multisets (no join of the two tables).
        IF {_UNCHANGED} THEN RETURN NULL; END IF;
        {_apply_devices("UPDATE")}
      END IF;
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION "devices_license_tally_license_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {_apply_licenses()}
      RETURN NULL;
    END $$
    """,
    """CREATE TRIGGER "devices_license_tally_insert" AFTER INSERT ON "devices_device"
    REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "devices_license_tally_apply"()""",
    """CREATE TRIGGER "devices_license_tally_delete" AFTER DELETE ON "devices_device"
    REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "devices_license_tally_apply"()""",
    """CREATE TRIGGER "devices_license_tally_update" AFTER UPDATE ON "devices_device"
    REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows"
    FOR EACH STATEMENT EXECUTE FUNCTION "devices_license_tally_apply"()""",
    """CREATE TRIGGER "devices_license_tally_license" AFTER UPDATE ON "licensing_license"
    REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows"
    FOR EACH STATEMENT EXECUTE FUNCTION "devices_license_tally_license_apply"()""",
]

BACKFILL = f"""
    INSERT INTO {TALLY} ({KEY}, "n")
    SELECT {_device_state("r")}, COUNT(*) FROM "devices_device" r
    LEFT JOIN "licensing_license" l ON l."id" = r."license_id"
    WHERE r."registered_at" IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""


def drop_old(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # No device or license is written until the new triggers and rows are in.
        schema_editor.execute('LOCK TABLE "licensing_license", "devices_device" IN SHARE ROW EXCLUSIVE MODE')
    for statement in {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}.get(vendor, []):
        schema_editor.execute(statement)


def create_new(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE_FORWARDS, "postgresql": POSTGRESQL_FORWARDS}.get(vendor, []):
        schema_editor.execute(statement)
    schema_editor.execute(f"DELETE FROM {TALLY}")
    schema_editor.execute(BACKFILL.replace("false", "0") if vendor == "sqlite" else BACKFILL)


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0019_device_sort_keys"),
        ("organization", "0004_client_unique_name_per_type"),
        ("tenancy", "0007_company_pending_version"),
    ]

    # Forwards only: going back to 0015's key would need its triggers again.
    operations = [
        migrations.RunPython(drop_old, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="devicelicensetally",
            name="devices_license_tally_key",
        ),
        migrations.AddField(
            model_name="devicelicensetally",
            name="app_version",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="devicelicensetally",
            name="app_version_key",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.AddField(
            model_name="devicelicensetally",
            name="platform",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddConstraint(
            model_name="devicelicensetally",
            constraint=models.UniqueConstraint(
                fields=(
                    "company",
                    "team",
                    "platform",
                    "app_version",
                    "app_version_key",
                    "licensed",
                    "is_suspended",
                    "expires_on",
                ),
                name="devices_license_tally_key2",
            ),
        ),
        migrations.RunPython(create_new, migrations.RunPython.noop),
    ]
