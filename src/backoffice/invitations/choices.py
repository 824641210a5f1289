from django.db import models


class InvitationState(models.TextChoices):
    """
    What became of an invitation. "Expired" is not a state: a pending
    invitation whose ``expires_at`` has passed is expired (see
    ``Invitation.is_open``), and Resend renews it.
    """

    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
