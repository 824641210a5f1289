"""
Operators read every company's invitations in the Django admin (which runs
with scopes disabled for staff). The rows are read-only here: invitations
are sent, resent and revoked by the company's Administrators on the Users
page, through the services, and neither the nonce nor a link is shown.
"""

from django.contrib import admin
from django.http import HttpRequest

from backoffice.invitations.models import Invitation


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "company", "role", "state", "invited_by", "sent_at", "expires_at", "accepted_at")
    list_filter = ("state", "role", "company")
    search_fields = ("email", "full_name")
    list_select_related = ("company", "invited_by")
    ordering = ("-sent_at", "-id")
    fields = (
        "company",
        "public_id",
        "email",
        "full_name",
        "role",
        "team",
        "invited_by",
        "state",
        "created_at",
        "sent_at",
        "expires_at",
        "accepted_at",
        "accepted_user",
        "revoked_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False
