"""Audit events: who did what, when. Never a code or a credential."""

from django.db import models

from backoffice.core.models import CompanyOwnedModel


class AuditEvent(CompanyOwnedModel):
    """
    One recorded action. ``data`` holds ids and names, never secrets.

    ``changes`` lists what an edit changed, one entry per field in the order
    of the form: ``{"field": "Team", "old": "Downtown", "new": "Fleet
    Services"}`` with values as the administrator saw them (labels, names),
    so the trail stays readable after the objects it names are gone.
    ``device_id`` and ``team_id`` are plain numbers, not foreign keys: the
    audit app sits below devices and organization, and an event outlives the
    device or team it is about. They back the audit log's filters and the
    device page's trail. ``batch_id`` groups the events of one bulk action.
    """

    action = models.CharField(max_length=64)
    actor = models.ForeignKey("tenancy.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_label = models.CharField(max_length=254, blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    changes = models.JSONField(default=list, blank=True)
    device_id = models.BigIntegerField(null=True, blank=True)
    team_id = models.BigIntegerField(null=True, blank=True)
    # One id for every event of one bulk action: the batch's own event and one per object.
    batch_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Keyset paging of the audit log, newest first, within a company and
        # within each of its filters (device, team, action, actor).
        indexes = [
            models.Index(fields=["company", "-created_at", "-id"], name="audit_event_company_time_idx"),
            models.Index(fields=["company", "device_id", "-created_at", "-id"], name="audit_event_device_time_idx"),
            models.Index(fields=["company", "team_id", "-created_at", "-id"], name="audit_event_team_time_idx"),
            models.Index(fields=["company", "action", "-created_at", "-id"], name="audit_event_action_time_idx"),
            models.Index(fields=["company", "actor", "-created_at", "-id"], name="audit_event_actor_time_idx"),
            models.Index(fields=["company", "batch_id"], name="audit_event_batch_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.summary}"
