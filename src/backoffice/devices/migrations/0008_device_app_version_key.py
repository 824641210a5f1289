"""
The ReconPro version's sort key (``Device.app_version_key``), so that the
Active Devices list sorts versions as versions ("6.10" after "6.9"), filled
for the rows already stored; indexes for sorting by version and by last seen.

On SQLite the column is added with ``ALTER TABLE ... ADD COLUMN`` rather than
Django's table rebuild, which would drop the company-consistency and
wholesale-only triggers of 0003 and 0006.
"""

import re

from django.db import migrations, models

_PARTS = re.compile(r"[0-9]+|[^0-9]+")
KEY_MAX_LENGTH = 200


def version_sort_key(version):
    """A copy of ``devices.models.version_sort_key`` as it was when this migration was written."""
    parts = []
    for part in _PARTS.findall(version):
        if part[0] in "0123456789":
            digits = part.lstrip("0") or "0"
            parts.append(f"{len(digits):02d}{digits}")
        else:
            parts.append(part.lower())
    return "".join(parts)[:KEY_MAX_LENGTH]


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f'ALTER TABLE "devices_device" ADD COLUMN "app_version_key" varchar({KEY_MAX_LENGTH}) NOT NULL DEFAULT \'\''
        )
        return
    device = apps.get_model("devices", "Device")
    field = models.CharField(blank=True, default="", editable=False, max_length=KEY_MAX_LENGTH)
    field.contribute_to_class(device, "app_version_key")
    schema_editor.add_field(device, field)


def drop_column(apps, schema_editor):
    schema_editor.execute('ALTER TABLE "devices_device" DROP COLUMN "app_version_key"')


def fill_keys(apps, schema_editor):
    device = apps.get_model("devices", "Device")
    manager = device._base_manager.using(schema_editor.connection.alias)
    versions = manager.exclude(app_version="").values_list("app_version", flat=True).distinct()
    for version in list(versions):
        manager.filter(app_version=version).update(app_version_key=version_sort_key(version))


class Migration(migrations.Migration):
    dependencies = [("devices", "0007_device_search_trigram_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="device",
                    name="app_version_key",
                    field=models.CharField(blank=True, editable=False, max_length=KEY_MAX_LENGTH),
                ),
            ],
            database_operations=[migrations.RunPython(add_column, drop_column, elidable=False)],
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=False),
        migrations.AddIndex(
            model_name="device",
            index=models.Index(fields=["company", "app_version_key"], name="devices_dev_company_verkey_idx"),
        ),
        migrations.AddIndex(
            model_name="device",
            index=models.Index(fields=["company", "last_check_in_at"], name="devices_dev_company_seen_idx"),
        ),
    ]
