"""The outbox: emails written in the same transaction as what they announce."""

from django.db import models

from backoffice.core.models import CompanyOwnedModel
from backoffice.notifications.choices import EmailState


class OutboxEmail(CompanyOwnedModel):
    """
    An email waiting to be sent, or its outcome.

    The body is not stored: it contains a secret (a registration code, an
    invitation link), which must not sit in the database in clear. The worker
    renders it at send time (``services.outbox_renderer_register``); an email
    whose secret is no longer valid is not sent.

    An email is about exactly one thing: one code (``registration_code``),
    every code of one batch of devices added together (``batch_id``, shared
    by those codes: one email per recipient lists them all, rendered at send
    time from the codes still usable then, and is obsolete when none is), or
    one invitation of a Back Office user (``invitation``).
    """

    registration_code = models.ForeignKey(
        "devices.RegistrationCode", on_delete=models.CASCADE, related_name="emails", null=True, blank=True
    )
    batch_id = models.UUIDField(null=True, blank=True, db_index=True)
    invitation = models.ForeignKey(
        "invitations.Invitation", on_delete=models.CASCADE, related_name="emails", null=True, blank=True
    )
    recipient = models.EmailField(max_length=254)
    state = models.CharField(max_length=16, choices=EmailState.choices, default=EmailState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="notif_outbox_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(registration_code__isnull=False, batch_id__isnull=True, invitation__isnull=True)
                | models.Q(registration_code__isnull=True, batch_id__isnull=False, invitation__isnull=True)
                | models.Q(registration_code__isnull=True, batch_id__isnull=True, invitation__isnull=False),
                name="notif_outbox_code_or_batch",
                violation_error_message=(
                    "An email is about exactly one of: a registration code, a batch, an invitation."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Email to {self.recipient} ({self.state})"
