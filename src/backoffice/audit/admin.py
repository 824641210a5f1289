"""
Operators read every company's audit events in the Django admin (which runs
with scopes disabled for staff). The trail is read-only: no one adds,
changes or deletes an event by hand; old events go only by the retention
pruning.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backoffice.audit.actions import ACTIONS, audit_action_label
from backoffice.audit.models import AuditEvent


class ActionFilter(admin.SimpleListFilter):
    """The actions by their label, from the registry (not a scan of a table of millions)."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return sorted(ACTIONS.items(), key=lambda item: item[1])

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "company", "actor_label", "action_label", "object_type", "object_id", "summary")
    list_filter = ("company", ActionFilter, "created_at")
    search_fields = ("summary", "actor_label")
    date_hierarchy = "created_at"
    list_select_related = ("company",)
    ordering = ("-created_at", "-id")
    show_full_result_count = False  # a count of millions of rows on every page is the slow part
    fields = (
        "created_at",
        "company",
        "actor",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "device_id",
        "team_id",
        "batch_id",
        "summary",
        "changes",
        "data",
    )
    readonly_fields = fields

    @admin.display(description="Action", ordering="action")
    def action_label(self, event: AuditEvent) -> str:
        return audit_action_label(event.action)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
