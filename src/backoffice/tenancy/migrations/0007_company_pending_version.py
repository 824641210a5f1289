"""
``Company.pending_version``: a counter the database raises in the
transaction of every write that changes what the company's Pending
Registrations section shows (the triggers of ``devices 0018``), so that the
section's poll answers "not modified" from the company row that every
signed-in request reads anyway.

On SQLite the column is added with ``ALTER TABLE ... ADD COLUMN`` rather than
Django's table rebuild, which fails on the license tally triggers of
``devices 0013`` that read this table.
"""

from django.db import migrations, models


def _field() -> models.BigIntegerField:
    return models.BigIntegerField(
        default=0,
        editable=False,
        help_text="Raised by the database whenever the Pending Registrations section would show something else.",
    )


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute('ALTER TABLE "tenancy_company" ADD COLUMN "pending_version" bigint NOT NULL DEFAULT 0')
        return
    company = apps.get_model("tenancy", "Company")
    field = _field()
    field.contribute_to_class(company, "pending_version")
    schema_editor.add_field(company, field)


def drop_column(apps, schema_editor):
    schema_editor.execute('ALTER TABLE "tenancy_company" DROP COLUMN "pending_version"')


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0006_company_two_factor_required")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddField(model_name="company", name="pending_version", field=_field())],
            database_operations=[migrations.RunPython(add_column, drop_column, elidable=False)],
        ),
    ]
