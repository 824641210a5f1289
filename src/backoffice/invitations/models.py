"""Invitations of people to become Back Office users of a company."""

import datetime
import uuid

from django.db import models

from backoffice.core.models import CompanyOwnedModel
from backoffice.invitations.choices import InvitationState
from backoffice.invitations.tokens import nonce_new
from backoffice.tenancy.choices import Role


class Invitation(CompanyOwnedModel):
    """
    An Administrator's invitation of an email address to become a user of the
    company with a role (and, for a Team Administrator, a team).

    No user exists until the owner of the mailbox accepts: an invitation
    reserves nothing, so no company can hold an address it does not own. The
    link's token is derived from ``public_id`` and ``nonce`` and never stored
    (``tokens``). At most one invitation of an address is pending per company;
    inviting it again resends that one.

    The team is set to NULL if it is deleted: a Team Administrator's
    invitation without a team can no longer be accepted (its link is dead).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(max_length=254)
    full_name = models.CharField(max_length=120, blank=True)
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.VIEWER)
    team = models.ForeignKey(
        "organization.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations"
    )
    invited_by = models.ForeignKey(
        "tenancy.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations_sent"
    )
    nonce = models.CharField(max_length=64, default=nonce_new, editable=False)
    state = models.CharField(max_length=16, choices=InvitationState.choices, default=InvitationState.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(help_text="When the latest email (the first or a Resend) was queued.")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        "tenancy.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations_accepted"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "email"],
                condition=models.Q(state="pending"),
                name="invitations_invitation_one_pending_per_email",
                violation_error_message="This address already has a pending invitation.",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} ({self.get_state_display()})"

    def is_open(self, now: datetime.datetime) -> bool:
        """Whether the link still works at ``now``: pending and not expired."""
        return self.state == InvitationState.PENDING and now < self.expires_at
