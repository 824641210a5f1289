"""Audit events: who did what, when. Never a code or a credential."""

from django.db import models

from backoffice.core.models import CompanyOwnedModel


class AuditEvent(CompanyOwnedModel):
    """One recorded action. ``data`` holds ids and names, never secrets."""

    action = models.CharField(max_length=64)
    actor = models.ForeignKey("tenancy.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_label = models.CharField(max_length=254, blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.summary}"
