"""
What an edit changed, the device and team an event is filed under, and the
batch it belongs to.

Events written before this migration are filed from what they already hold:
an event about a device (``object_type`` "devices.device") or naming one in
``data["device_id"]`` gets that device; an event about a team gets that team.
Older device events get no team: the team a device had then is not recorded.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import BigIntegerField
from django.db.models.functions import Cast


def backfill(apps, schema_editor):
    event = apps.get_model("audit", "AuditEvent")
    manager = event._base_manager.using(schema_editor.connection.alias)
    manager.filter(object_type="devices.device").exclude(object_id="").update(
        device_id=Cast("object_id", BigIntegerField())
    )
    manager.filter(object_type="organization.team").exclude(object_id="").update(
        team_id=Cast("object_id", BigIntegerField())
    )
    named = manager.filter(device_id__isnull=True, data__has_key="device_id")
    for device_id in set(named.values_list("data__device_id", flat=True)):
        if isinstance(device_id, int):
            named.filter(data__device_id=device_id).update(device_id=device_id)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_initial"),
        ("tenancy", "0004_company_audit_log_for_viewers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="batch_id",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="changes",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="device_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="team_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["company", "-created_at", "-id"], name="audit_event_company_time_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["company", "device_id", "-created_at", "-id"], name="audit_event_device_time_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["company", "team_id", "-created_at", "-id"], name="audit_event_team_time_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["company", "action", "-created_at", "-id"], name="audit_event_action_time_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["company", "actor", "-created_at", "-id"], name="audit_event_actor_time_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["company", "batch_id"], name="audit_event_batch_idx"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
    ]
