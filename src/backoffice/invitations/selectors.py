"""Reads on invitations."""

import datetime
import uuid

from django.db.models import QuerySet
from django.http import Http404

from backoffice.invitations.choices import InvitationState
from backoffice.invitations.models import Invitation
from backoffice.invitations.tokens import link_token_matches
from backoffice.tenancy.choices import Role
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.scoping import scopes_disabled


def invitation_pending_list() -> QuerySet[Invitation]:
    """The scoped company's pending invitations (expired ones too: Resend renews them), newest first."""
    return (
        Invitation.objects.filter(state=InvitationState.PENDING)
        .select_related("team", "invited_by")
        .order_by("-sent_at", "-id")
    )


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def invitation_get_for_company(*, public_id: object) -> Invitation:
    """The scoped company's invitation ``public_id``; Http404 alike for missing, malformed and another company's."""
    found = _uuid(public_id)
    invitation = Invitation.objects.filter(public_id=found).first() if found is not None else None
    if invitation is None:
        raise Http404("No such invitation")
    return invitation


def invitation_for_link(
    *, public_id: object, token: str, now: datetime.datetime, lock: bool = False
) -> Invitation | None:
    """
    The invitation a link names, if the link still works at ``now``: the
    token matches the current nonce, the invitation is pending and not
    expired, and a Team Administrator's invitation still has its team. None
    otherwise, whatever the reason. The link carries no company, so this
    looks across companies; ``lock`` takes a row lock on the invitation (in
    the caller's transaction) before it is judged.
    """
    found = _uuid(public_id)
    if found is None:
        return None
    with scopes_disabled():
        invitations = Invitation.objects.filter(public_id=found)
        if lock:
            invitations = invitations.select_for_update()
        invitation = invitations.first()
    if invitation is None:
        return None
    if not link_token_matches(public_id=invitation.public_id, nonce=invitation.nonce, token=str(token)):
        return None
    if not invitation.is_open(now):
        return None
    if invitation.role == Role.TEAM_ADMINISTRATOR and invitation.team_id is None:
        return None
    return invitation


def user_of_company_has_email(*, company: Company, email: str) -> bool:
    """Whether a user of ``company`` signs in with ``email`` (other companies' users are not told)."""
    return User.objects.filter(company=company, email__iexact=email).exists()
