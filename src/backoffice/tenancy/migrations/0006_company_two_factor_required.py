"""
``Company.two_factor_required``: who in the company must sign in with a
second factor.

On SQLite the column is added with ``ALTER TABLE ... ADD COLUMN`` rather than
Django's table rebuild, which fails on the license tally triggers of
``devices 0013`` that read this table.
"""

from django.db import migrations, models

CHOICES = [
    ("optional", "Nobody (each person may add it)"),
    ("administrators", "Administrators and Team Administrators"),
    ("everyone", "Everyone"),
]


def _field() -> models.CharField:
    return models.CharField(
        "Require two-factor sign-in for",
        max_length=16,
        choices=CHOICES,
        default="optional",
        help_text=(
            "Whoever this covers adds an authenticator app or a passkey at their next sign-in, "
            "before they can use the Back Office."
        ),
    )


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            'ALTER TABLE "tenancy_company" ADD COLUMN "two_factor_required" varchar(16) NOT NULL DEFAULT \'optional\''
        )
        return
    company = apps.get_model("tenancy", "Company")
    field = _field()
    field.contribute_to_class(company, "two_factor_required")
    schema_editor.add_field(company, field)


def drop_column(apps, schema_editor):
    schema_editor.execute('ALTER TABLE "tenancy_company" DROP COLUMN "two_factor_required"')


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0005_user_session_epoch")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddField(model_name="company", name="two_factor_required", field=_field())],
            database_operations=[migrations.RunPython(add_column, drop_column, elidable=False)],
        ),
    ]
