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

    An email is about one code (``registration_code``) or about every code
    of one batch of devices added together (``batch_id``, shared by those
    codes): one email per recipient lists them all, rendered at send time
    from the codes still usable then, and is obsolete when none is.
    """

    registration_code = models.ForeignKey(
        "devices.RegistrationCode", on_delete=models.CASCADE, related_name="emails", null=True, blank=True
    )
    batch_id = models.UUIDField(null=True, blank=True, db_index=True)
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
                condition=models.Q(registration_code__isnull=False, batch_id__isnull=True)
                | models.Q(registration_code__isnull=True, batch_id__isnull=False),
                name="notif_outbox_code_or_batch",
                violation_error_message="An email is about one registration code or one batch, not both.",
            ),
        ]

    def __str__(self) -> str:
        return f"Email to {self.recipient} ({self.state})"
