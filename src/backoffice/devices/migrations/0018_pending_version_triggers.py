"""
``Company.pending_version`` kept by the database: raised by every write
that changes what the company's Pending Registrations section (and the
license counts beside it) shows, whoever makes it (a service, the Django
admin, the device API, the outbox worker, housekeeping). The section's poll
compares it with the version its ETag names and answers "not modified"
without reading anything else (``devices.views.pending_registrations``).

What the section shows, and so what raises it: a device added or deleted, or
its nickname, recipients, team, license, registration or company changed; a
registration code added, changed (used, revoked, its copy dropped) or
deleted; a registration email (one with a code or a batch) queued, changed
(sent, failed, retried) or deleted; a team renamed; a license issued,
changed or deleted. A check-in (the devices' last-seen and app columns)
raises nothing.

PostgreSQL: deferred constraint triggers (``DEFERRABLE INITIALLY
DEFERRED``), so the company row is written once, at commit, after every
other lock the transaction takes (the lock order's last step, and the
company row is never held while the transaction waits for another row);
the first event of a company in a statement raises it and marks the
statement (a transaction-local setting), the others find the mark: at
commit, once per transaction. (The tests, whose transactions never commit,
make these triggers immediate: once per statement.) SQLite
(one writer at a time): row triggers that raise it at once.

Django saves every column of a company it loaded earlier (the settings page,
the admin): on both databases a save that would lower the version keeps the
stored one, so a stale copy can never roll it back. No table is rebuilt.
"""

from django.db import migrations

# (table, events with their conditions): an UPDATE raises the version only
# when a column the section shows (or matches its search on) changed.
_EMAIL_OF_A_CODE = '{row}."registration_code_id" IS NOT NULL OR {row}."batch_id" IS NOT NULL'
WATCHED = {
    "devices_device": {
        "insert": "",
        "delete": "",
        "update": ("nickname", "recipients", "team_id", "license_id", "registered_at", "company_id"),
    },
    "devices_registrationcode": {
        "insert": "",
        "delete": "",
        "update": (
            "device_id",
            "expires_at",
            "used_at",
            "revoked_at",
            "batch_id",
            "company_id",
            # Only whether the copy is there matters; compared as "IS NULL" below.
            "sealed_code",
        ),
    },
    "notifications_outboxemail": {
        "insert": _EMAIL_OF_A_CODE.format(row="NEW"),
        "delete": _EMAIL_OF_A_CODE.format(row="OLD"),
        "update": (
            "registration_code_id",
            "batch_id",
            "recipient",
            "state",
            "attempts",
            "next_attempt_at",
            "last_error",
            "sent_at",
            "company_id",
        ),
    },
    "organization_team": {"update": ("name", "company_id")},
    "licensing_license": {
        "insert": "",
        "delete": "",
        "update": ("number", "license_type", "expires_on", "is_suspended", "company_id"),
    },
}


def _column(row, column):
    return f'({row}."{column}" IS NULL)' if column == "sealed_code" else f'{row}."{column}"'


def _changed(columns, distinct):
    return " OR ".join(f"{_column('OLD', c)} {distinct} {_column('NEW', c)}" for c in columns)


def _condition(table, event, distinct):
    spec = WATCHED[table][event]
    if event != "update":
        return spec
    condition = f"({_changed(spec, distinct)})"
    if table == "notifications_outboxemail":
        condition = f"({_EMAIL_OF_A_CODE.format(row='OLD')} OR {_EMAIL_OF_A_CODE.format(row='NEW')}) AND {condition}"
    return condition


def _triggers():
    for table, events in WATCHED.items():
        for event in events:
            yield f"{table}_pending_{event}", table, event


def _sqlite_bump(row):
    return f'UPDATE "tenancy_company" SET "pending_version" = "pending_version" + 1 WHERE "id" = {row}."company_id";'


def _sqlite_trigger(name, table, event):
    condition = _condition(table, event, "IS NOT")
    when = f"WHEN {condition}" if condition else ""
    bumps = {
        "insert": _sqlite_bump("NEW"),
        "delete": _sqlite_bump("OLD"),
        "update": _sqlite_bump("NEW")
        + f' {_sqlite_bump("OLD")[:-1]} AND OLD."company_id" IS NOT NEW."company_id";',
    }[event]
    return f'CREATE TRIGGER "{name}" AFTER {event.upper()} ON "{table}" {when} BEGIN {bumps} END'


SQLITE_FORWARDS = [
    *(_sqlite_trigger(*trigger) for trigger in _triggers()),
    """
    CREATE TRIGGER "tenancy_company_pending_kept" AFTER UPDATE OF "pending_version" ON "tenancy_company"
    WHEN NEW."pending_version" < OLD."pending_version"
    BEGIN
      UPDATE "tenancy_company" SET "pending_version" = OLD."pending_version" WHERE "id" = NEW."id";
    END
    """,
]
SQLITE_BACKWARDS = [
    *(f'DROP TRIGGER IF EXISTS "{name}"' for name, _, _ in _triggers()),
    'DROP TRIGGER IF EXISTS "tenancy_company_pending_kept"',
]

POSTGRESQL_FUNCTIONS = [
    """
    CREATE FUNCTION "tenancy_company_pending_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      companies bigint[];
      company bigint;
    BEGIN
      IF TG_OP = 'INSERT' THEN companies := ARRAY[NEW."company_id"];
      ELSIF TG_OP = 'DELETE' THEN companies := ARRAY[OLD."company_id"];
      ELSE companies := ARRAY[NEW."company_id", OLD."company_id"];
      END IF;
      FOREACH company IN ARRAY companies LOOP
        -- The mark names the statement: at commit every deferred event fires in the
        -- COMMIT's, so the version rises once per transaction.
        IF current_setting('backoffice.pending_raised_' || company, true)
           IS DISTINCT FROM statement_timestamp()::text THEN
          PERFORM set_config('backoffice.pending_raised_' || company, statement_timestamp()::text, true);
          UPDATE "tenancy_company" SET "pending_version" = "pending_version" + 1 WHERE "id" = company;
        END IF;
      END LOOP;
      RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION "tenancy_company_pending_kept"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW."pending_version" := OLD."pending_version";
      RETURN NEW;
    END $$
    """,
]


def _postgresql_trigger(name, table, event):
    condition = _condition(table, event, "IS DISTINCT FROM")
    when = f"WHEN ({condition})" if condition else ""
    return (
        f'CREATE CONSTRAINT TRIGGER "{name}" AFTER {event.upper()} ON "{table}" '
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {when} "
        'EXECUTE FUNCTION "tenancy_company_pending_bump"()'
    )


POSTGRESQL_FORWARDS = [
    *POSTGRESQL_FUNCTIONS,
    *(_postgresql_trigger(*trigger) for trigger in _triggers()),
    """
    CREATE TRIGGER "tenancy_company_pending_kept" BEFORE UPDATE ON "tenancy_company"
    FOR EACH ROW WHEN (NEW."pending_version" < OLD."pending_version")
    EXECUTE FUNCTION "tenancy_company_pending_kept"()
    """,
]
POSTGRESQL_BACKWARDS = [
    *(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"' for name, table, _ in _triggers()),
    'DROP TRIGGER IF EXISTS "tenancy_company_pending_kept" ON "tenancy_company"',
    'DROP FUNCTION IF EXISTS "tenancy_company_pending_bump"()',
    'DROP FUNCTION IF EXISTS "tenancy_company_pending_kept"()',
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE_FORWARDS, "postgresql": POSTGRESQL_FORWARDS}.get(vendor, []):
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE_BACKWARDS, "postgresql": POSTGRESQL_BACKWARDS}.get(vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0017_device_last_seen_latest_first_index"),
        ("licensing", "0004_license_tally"),
        ("notifications", "0005_outboxemail_invitation"),
        ("organization", "0004_client_unique_name_per_type"),
        ("tenancy", "0007_company_pending_version"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
