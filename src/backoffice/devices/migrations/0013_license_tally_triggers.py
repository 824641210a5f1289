"""
The license tally (``licensing.LicenseTally``): one row per company,
suspension, expiry date and holding with how many licenses share them, kept
by triggers on ``licensing_license`` (a license issued, changed or deleted)
and on ``devices_device`` (a device taking or leaving a license), and filled
here from the licenses already stored. The triggers live in this app because
it is the one that knows both tables.

PostgreSQL: statement-level triggers over the transition tables, applying
one upsert in key order. A device statement first locks the licenses whose
holding it changes (FOR SHARE, in id order), so that a concurrent change of
such a license waits for it and then sees the new holder. Lock order: the
device rows, the licenses they take or leave, the license tally's rows, then
the device tally's (the triggers fire in name order). SQLite (one writer at
a time): row triggers. No table is rebuilt.
"""

from django.db import migrations

TALLY = '"licensing_licensetally"'
KEY = '"company_id", "is_suspended", "expires_on", "held"'
NO_EXPIRY = "'9999-12-31'"


def _held(row):
    return f'EXISTS (SELECT 1 FROM "devices_device" d WHERE d."license_id" = {row}."id")'


def _state(row, held):
    return f'{row}."company_id", {row}."is_suspended", COALESCE({row}."expires_on", {NO_EXPIRY}), {held}'


def _match(row, held):
    return f"({KEY}) = (SELECT {_state(row, held)})"


def _license_of(device_row, held, sign):
    """SQLite: move the license that ``device_row`` holds to or from the held column."""
    license_state = _state("l", held)
    if sign > 0:
        return (
            f'INSERT INTO {TALLY} ({KEY}, "n") SELECT {license_state}, 1 FROM "licensing_license" l '
            f'WHERE l."id" = {device_row}."license_id" '
            # Not while the company itself is being deleted (a test database's flush).
            f'AND EXISTS (SELECT 1 FROM "tenancy_company" c WHERE c."id" = l."company_id") '
            f'ON CONFLICT ({KEY}) DO UPDATE SET "n" = "n" + 1;'
        )
    return (
        f'UPDATE {TALLY} SET "n" = "n" - 1 WHERE ({KEY}) = '
        f'(SELECT {license_state} FROM "licensing_license" l WHERE l."id" = {device_row}."license_id");'
    )


SQLITE_FORWARDS = [
    f"""
    CREATE TRIGGER "licensing_tally_insert" AFTER INSERT ON "licensing_license"
    BEGIN
      INSERT INTO {TALLY} ({KEY}, "n") SELECT {_state("NEW", _held("NEW"))}, 1 WHERE 1
      ON CONFLICT ({KEY}) DO UPDATE SET "n" = "n" + 1;
    END
    """,
    f"""
    CREATE TRIGGER "licensing_tally_delete" AFTER DELETE ON "licensing_license"
    BEGIN
      UPDATE {TALLY} SET "n" = "n" - 1 WHERE {_match("OLD", _held("OLD"))};
      -- One writer at a time: rows that count nothing can go (a test
      -- database's flush, which empties the tables in any order, needs it).
      DELETE FROM {TALLY} WHERE "n" = 0;
    END
    """,
    f"""
    CREATE TRIGGER "licensing_tally_update" AFTER UPDATE OF "company_id", "is_suspended", "expires_on"
    ON "licensing_license"
    WHEN OLD."company_id" IS NOT NEW."company_id" OR OLD."is_suspended" IS NOT NEW."is_suspended"
      OR OLD."expires_on" IS NOT NEW."expires_on"
    BEGIN
      UPDATE {TALLY} SET "n" = "n" - 1 WHERE {_match("OLD", _held("OLD"))};
      INSERT INTO {TALLY} ({KEY}, "n") SELECT {_state("NEW", _held("NEW"))}, 1 WHERE 1
      ON CONFLICT ({KEY}) DO UPDATE SET "n" = "n" + 1;
    END
    """,
    f"""
    CREATE TRIGGER "devices_license_held_insert" AFTER INSERT ON "devices_device"
    WHEN NEW."license_id" IS NOT NULL
    BEGIN
      {_license_of("NEW", 0, -1)}
      {_license_of("NEW", 1, 1)}
    END
    """,
    f"""
    CREATE TRIGGER "devices_license_held_delete" AFTER DELETE ON "devices_device"
    WHEN OLD."license_id" IS NOT NULL
    BEGIN
      {_license_of("OLD", 1, -1)}
      {_license_of("OLD", 0, 1)}
    END
    """,
    f"""
    CREATE TRIGGER "devices_license_held_update" AFTER UPDATE OF "license_id" ON "devices_device"
    WHEN OLD."license_id" IS NOT NEW."license_id"
    BEGIN
      {_license_of("OLD", 1, -1)}
      {_license_of("OLD", 0, 1)}
      {_license_of("NEW", 0, -1)}
      {_license_of("NEW", 1, 1)}
    END
    """,
]
SQLITE_BACKWARDS = [
    f'DROP TRIGGER IF EXISTS "{name}"'
    for name in (
        "licensing_tally_insert",
        "licensing_tally_delete",
        "licensing_tally_update",
        "devices_license_held_insert",
        "devices_license_held_delete",
        "devices_license_held_update",
    )
]


def _licenses(rows, sign):
    return f'SELECT {_state("r", _held("r"))}, {sign} AS "d" FROM {rows} r'


_LICENSE_CHANGES = {
    "INSERT": _licenses("new_rows", 1),
    "DELETE": _licenses("old_rows", -1),
    "UPDATE": f"{_licenses('new_rows', 1)} UNION ALL {_licenses('old_rows', -1)}",
}


def _holdings(rows, sign):
    """A device statement's rows as changes of their licenses: +1 held, -1 free per new row; the reverse per old."""
    return (
        f'SELECT "license_id", true AS "held", {sign} AS "d" FROM {rows} WHERE "license_id" IS NOT NULL '
        f'UNION ALL SELECT "license_id", false, {-sign} FROM {rows} WHERE "license_id" IS NOT NULL'
    )


_HOLDING_CHANGES = {
    "INSERT": _holdings("new_rows", 1),
    "DELETE": _holdings("old_rows", -1),
    "UPDATE": f"{_holdings('new_rows', 1)} UNION ALL {_holdings('old_rows', -1)}",
}

_UPSERT = f'ON CONFLICT ({KEY}) DO UPDATE SET "n" = {TALLY}."n" + EXCLUDED."n";'


def _apply_licenses(operation):
    return f"""
        INSERT INTO {TALLY} ({KEY}, "n")
        SELECT {KEY}, SUM("d") FROM ({_LICENSE_CHANGES[operation]}) AS "change" ({KEY}, "d")
        GROUP BY {KEY} HAVING SUM("d") <> 0 ORDER BY {KEY}
        {_UPSERT}"""


def _apply_holdings(operation):
    # Most updates (a check-in) leave the license column alone: nothing to do, cheaply.
    skip = (
        # (multisets compared, no join of the two tables)
        'IF NOT EXISTS (SELECT "license_id" FROM new_rows EXCEPT ALL SELECT "license_id" FROM old_rows) '
        "THEN RETURN NULL; END IF;"
        if operation == "UPDATE"
        else ""
    )
    changed = (
        f'SELECT "license_id", "held", SUM("d") AS "d" FROM ({_HOLDING_CHANGES[operation]}) AS "c" '
        f'GROUP BY "license_id", "held" HAVING SUM("d") <> 0'
    )
    return f"""
        {skip}
        PERFORM 1 FROM "licensing_license" l WHERE l."id" IN (SELECT "license_id" FROM ({changed}) AS "c")
        ORDER BY l."id" FOR SHARE OF l;
        INSERT INTO {TALLY} ({KEY}, "n")
        SELECT {_state("l", 'c."held"')}, SUM(c."d") FROM ({changed}) AS c
        JOIN "licensing_license" l ON l."id" = c."license_id"
        GROUP BY 1, 2, 3, 4 HAVING SUM(c."d") <> 0 ORDER BY 1, 2, 3, 4
        {_UPSERT}"""


def _function(name, apply):
    return f"""
    CREATE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN {apply("INSERT")}
      ELSIF TG_OP = 'DELETE' THEN {apply("DELETE")}
      ELSE {apply("UPDATE")}
      END IF;
      RETURN NULL;
    END $$
    """


def _triggers(prefix, table, function):
    return [
        f"""CREATE TRIGGER "{prefix}_insert" AFTER INSERT ON "{table}"
        REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "{function}"()""",
        f"""CREATE TRIGGER "{prefix}_delete" AFTER DELETE ON "{table}"
        REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "{function}"()""",
        f"""CREATE TRIGGER "{prefix}_update" AFTER UPDATE ON "{table}"
        REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows"
        FOR EACH STATEMENT EXECUTE FUNCTION "{function}"()""",
    ]


POSTGRESQL_FORWARDS = [
    # No license nor device is written between the backfill and the triggers.
    'LOCK TABLE "licensing_license", "devices_device" IN SHARE ROW EXCLUSIVE MODE',
    _function("licensing_tally_apply", _apply_licenses),
    _function("devices_license_held_apply", _apply_holdings),
    *_triggers("licensing_tally", "licensing_license", "licensing_tally_apply"),
    *_triggers("devices_license_held", "devices_device", "devices_license_held_apply"),
]
POSTGRESQL_BACKWARDS = [
    *(
        f'DROP TRIGGER IF EXISTS "licensing_tally_{event}" ON "licensing_license"'
        for event in ("insert", "delete", "update")
    ),
    *(
        f'DROP TRIGGER IF EXISTS "devices_license_held_{event}" ON "devices_device"'
        for event in ("insert", "delete", "update")
    ),
    'DROP FUNCTION IF EXISTS "licensing_tally_apply"()',
    'DROP FUNCTION IF EXISTS "devices_license_held_apply"()',
]

BACKFILL = f"""
    INSERT INTO {TALLY} ({KEY}, "n")
    SELECT {_state("l", _held("l"))}, COUNT(*) FROM "licensing_license" l
    GROUP BY 1, 2, 3, 4
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE_FORWARDS, "postgresql": POSTGRESQL_FORWARDS}.get(vendor, []):
        schema_editor.execute(statement)
    schema_editor.execute(BACKFILL)


def backwards(apps, schema_editor):
    schema_editor.execute(f"DELETE FROM {TALLY}")
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE_BACKWARDS, "postgresql": POSTGRESQL_BACKWARDS}.get(vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0012_device_tally"),
        ("licensing", "0004_license_tally"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
