"""
Device.recipients: the addresses a device's registration code is emailed to.

SQLite adds a NOT NULL column by rebuilding the table, which drops its
triggers; the company-consistency triggers of 0003 are created again.
"""

from django.db import migrations, models

from backoffice.core.migration_operations import CompanyConsistentForeignKey

DEVICE_REFERENCES = (("team_id", "organization_team"), ("license_id", "licensing_license"))


def create_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for column, referenced_table in DEVICE_REFERENCES:
        operation = CompanyConsistentForeignKey("devices_device", column, referenced_table)
        operation.database_backwards("devices", schema_editor, None, None)
        operation.database_forwards("devices", schema_editor, None, None)


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0003_company_consistency"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, create_sqlite_triggers),
        migrations.AddField(
            model_name="device",
            name="recipients",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Addresses the registration code is emailed to; Replace emails them again.",
            ),
        ),
        migrations.RunPython(create_sqlite_triggers, migrations.RunPython.noop),
    ]
