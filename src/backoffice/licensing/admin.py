"""
Operators' admin for licenses. New licenses are issued with
``manage.py issue_licenses``; here operators read them and suspend or
unsuspend them (actions that go through the licensing services).
"""

import uuid
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import ngettext

from backoffice.licensing.models import License
from backoffice.licensing.services import license_suspend, license_unsuspend, license_update
from backoffice.tenancy.models import User
from backoffice.tenancy.service_admin import ServiceModelAdmin


@admin.register(License)
class LicenseAdmin(ServiceModelAdmin):
    list_display = ("number", "company", "license_type", "status_label", "expires_on", "is_suspended")
    list_filter = ("company", "license_type", "is_suspended")
    search_fields = ("number",)
    list_select_related = ("company",)
    readonly_fields = ("company", "number", "is_suspended", "created_at", "changed_at")
    fields = ("company", "number", "license_type", "expires_on", "is_suspended", "created_at", "changed_at")
    actions = ("suspend", "unsuspend")

    @admin.display(description="status")
    def status_label(self, obj: License) -> str:
        return obj.get_status_display()

    def service_save(self, *, acting_user: User, original: License | None, data: dict[str, Any]) -> License:
        # Only changes reach here: licenses are not added in the admin.
        return license_update(
            acting_user=acting_user,
            license=original,  # type: ignore[arg-type]
            license_type=data["license_type"],
            expires_on=data["expires_on"],
        )

    def has_delete_permission(self, request: HttpRequest, obj: License | None = None) -> bool:
        # A license that was issued stays on record; suspend it instead.
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Numbers must continue the company's sequence: issue_licenses does that.
        return False

    @admin.action(description="Suspend selected licenses")
    def suspend(self, request: HttpRequest, queryset: QuerySet[License]) -> None:
        batch_id = uuid.uuid4()  # one bulk action: its events share the batch
        for lic in queryset.select_related("company"):
            license_suspend(acting_user=request.user, license=lic, batch_id=batch_id)  # type: ignore[arg-type]
        count = queryset.count()
        self.message_user(
            request,
            ngettext("Suspended %(count)d license.", "Suspended %(count)d licenses.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description="Unsuspend selected licenses")
    def unsuspend(self, request: HttpRequest, queryset: QuerySet[License]) -> None:
        batch_id = uuid.uuid4()
        for lic in queryset.select_related("company"):
            license_unsuspend(acting_user=request.user, license=lic, batch_id=batch_id)  # type: ignore[arg-type]
        count = queryset.count()
        self.message_user(
            request,
            ngettext("Unsuspended %(count)d license.", "Unsuspended %(count)d licenses.", count) % {"count": count},
            messages.SUCCESS,
        )
