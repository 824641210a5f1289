"""
``User.session_epoch``: raised when an administrator changes a user's role or
team or deactivates them, so that every session signed in before ends.

On SQLite the column is added with ``ALTER TABLE ... ADD COLUMN`` rather than
Django's table rebuild, which would drop the company-consistency triggers of
``devices 0003`` on this table.
"""

from django.db import migrations, models


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            'ALTER TABLE "tenancy_user" ADD COLUMN "session_epoch" integer unsigned NOT NULL DEFAULT 0 '
            'CHECK ("session_epoch" >= 0)'
        )
        return
    user = apps.get_model("tenancy", "User")
    field = models.PositiveIntegerField(default=0, editable=False)
    field.contribute_to_class(user, "session_epoch")
    schema_editor.add_field(user, field)


def drop_column(apps, schema_editor):
    schema_editor.execute('ALTER TABLE "tenancy_user" DROP COLUMN "session_epoch"')


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0004_company_audit_log_for_viewers")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="user",
                    name="session_epoch",
                    field=models.PositiveIntegerField(default=0, editable=False),
                ),
            ],
            database_operations=[migrations.RunPython(add_column, drop_column, elidable=False)],
        ),
    ]
