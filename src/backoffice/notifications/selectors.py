"""Reads on outbox emails."""

from django.http import Http404

from backoffice.notifications.models import OutboxEmail
from backoffice.tenancy.models import User


def outbox_email_get_for_company(*, user: User, pk: object) -> OutboxEmail:
    """
    Return the email ``pk`` if ``user`` may see its device; Http404 alike for
    a missing email, another company's and (Team Administrator) another team's.
    """
    emails = OutboxEmail.objects.select_related("registration_code__device")
    if user.is_team_administrator:
        emails = emails.filter(registration_code__device__team_id=user.team_id or 0)
    try:
        return emails.get(pk=int(str(pk)))
    except (OutboxEmail.DoesNotExist, ValueError, TypeError):
        raise Http404("No such email") from None
