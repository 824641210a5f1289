"""The outbox: emails written in the same transaction as what they announce."""

from django.db import models

from backoffice.core.models import CompanyOwnedModel
from backoffice.notifications.choices import EmailState


class OutboxEmail(CompanyOwnedModel):
    """
    A registration-code email waiting to be sent, or its outcome.

    The body is not stored: it contains the code, which must not sit in the
    database in clear. The worker renders it at send time from the code's
    encrypted copy; an email whose code is no longer valid is not sent.
    """

    registration_code = models.ForeignKey("devices.RegistrationCode", on_delete=models.CASCADE, related_name="emails")
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

    def __str__(self) -> str:
        return f"Email to {self.recipient} ({self.state})"
