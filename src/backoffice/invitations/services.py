"""
Writes on invitations: send (or send again), revoke, accept, and the email.

Only a company's Administrators invite. The answer to "invite this address"
does not tell whether the address belongs to someone else: an address that
is unused, a user of another company or an operator gets the same invitation
and the same email (docs/accounts.md). Only an address that is already a user
of the inviting company is refused, since that tells the Administrator
nothing they cannot see on their Users page. Nothing is reserved at invite
time: the user is created when the owner of the mailbox accepts, and an
address that has an account by then is refused at acceptance.
"""

import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from backoffice.audit.services import audit_changes, audit_initial, audit_record
from backoffice.core.models import CompanyOwnedModel
from backoffice.core.ratelimit import Limit, Reservation, ratelimit_count_event, ratelimit_reserve
from backoffice.core.text import TextKind, text_problem
from backoffice.invitations.choices import InvitationState
from backoffice.invitations.models import Invitation
from backoffice.invitations.selectors import invitation_for_link, user_of_company_has_email
from backoffice.invitations.tokens import link_token, nonce_new
from backoffice.notifications.models import OutboxEmail
from backoffice.notifications.services import (
    RenderedEmail,
    outbox_email_obsolete,
    outbox_invitation_email_queue,
)
from backoffice.tenancy.choices import Role
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.scoping import company_scope
from backoffice.tenancy.selectors import user_email_taken
from backoffice.tenancy.services import EMAIL_MAX_LENGTH, FULL_NAME_MAX_LENGTH, acting_in_company, taken_meanwhile
from backoffice.tenancy.validation import password_check

ALREADY_A_USER = "This address is already a user of your company."
ACCOUNT_EXISTS = (
    "This address already has a Back Office account. An account belongs to one company; "
    "ask your administrator to invite another address, or sign in."
)
NOT_PENDING = "This invitation was already accepted or revoked."

# Invitation emails (first sends and resends) a company may send in an hour,
# to one address and in all, so that the Back Office cannot be used to flood
# a mailbox or relay company-branded email.
EMAILS_PER_ADDRESS_PER_HOUR = 10
EMAILS_PER_COMPANY_PER_HOUR = 200
EMAIL_WINDOW_SECONDS = 3600


class InvitationLinkDead(Exception):
    """
    The link does not lead to an invitation that can be accepted now: unknown,
    a wrong token, used, revoked, replaced by a Resend, or expired. One answer
    for all, so that a link tells nothing about why.
    """


def invitation_valid_for() -> datetime.timedelta:
    """How long an invitation's link works after it is sent (``INVITATION_VALID_HOURS``)."""
    return datetime.timedelta(hours=settings.INVITATION_VALID_HOURS)


def _fields(
    *, company: Company, email: str, full_name: str, role: str, team: CompanyOwnedModel | None
) -> tuple[str, str, CompanyOwnedModel | None]:
    """Check what an invitation names; return the email, name and team to store, or raise ``ValidationError``."""
    email = email.strip().lower()
    full_name = full_name.strip()
    errors: dict[str, list[str]] = {}
    if not email:
        errors["email"] = ["Enter an email address."]
    elif len(email) > EMAIL_MAX_LENGTH:
        errors["email"] = [f"Ensure this value has at most {EMAIL_MAX_LENGTH} characters (it has {len(email)})."]
    elif problem := text_problem(email):
        errors["email"] = [f"Email {problem}."]
    else:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = ["Enter a valid email address."]
        else:
            if user_of_company_has_email(company=company, email=email):
                errors["email"] = [ALREADY_A_USER]
    if len(full_name) > FULL_NAME_MAX_LENGTH:
        errors["full_name"] = [f"Ensure this value has at most {FULL_NAME_MAX_LENGTH} characters."]
    elif problem := text_problem(full_name, TextKind.NAME):
        errors["full_name"] = [f"Name {problem}."]
    if role not in Role.values:
        errors["role"] = ["Choose a role."]
    elif role != Role.TEAM_ADMINISTRATOR:
        team = None
    elif team is None:
        errors["team"] = ["A Team Administrator needs a team."]
    elif team.company_id != company.pk:
        errors["team"] = ["Choose one of your company's teams."]
    if errors:
        raise ValidationError(errors)
    return email, full_name, team


def _as_shown(invitation: Invitation) -> dict[str, object]:
    """An invitation as the invite form reads, for the audit trail."""
    return {
        "Email": invitation.email,
        "Name": invitation.full_name,
        "Role": invitation.get_role_display(),
        "Team": invitation.team.name if invitation.team is not None else None,  # type: ignore[attr-defined]
    }


def _audit_data(invitation: Invitation) -> dict[str, object]:
    # Ids and names only: never the nonce, never the link's token.
    return {
        "invitation_id": str(invitation.public_id),
        "email": invitation.email,
        "role": invitation.role,
        "team_id": invitation.team_id,
    }


def _email_slot_reserve(*, company: Company, email: str) -> Reservation:
    """
    Take a slot for one invitation email to ``email`` before anything is
    written; raise ``ValidationError`` when the hour's allowance is used.
    The limit is the same whoever has the address, so it tells nothing.
    """
    reservation = ratelimit_reserve(
        Limit("invitation-email", f"company:{company.pk}:{email}", EMAILS_PER_ADDRESS_PER_HOUR, EMAIL_WINDOW_SECONDS),
        Limit("invitation-email", f"company:{company.pk}", EMAILS_PER_COMPANY_PER_HOUR, EMAIL_WINDOW_SECONDS),
    )
    if not reservation.allowed:
        minutes = max(1, round(reservation.retry_after_seconds / 60))
        raise ValidationError(
            "Too many invitation emails to this address or from your company in the last hour; "
            + ngettext("try again in %(n)d minute.", "try again in %(n)d minutes.", minutes) % {"n": minutes}
        )
    return reservation


def _send_email(invitation: Invitation, *, now: datetime.datetime) -> None:
    """Queue the invitation's email, in place of any still waiting (whose link a new nonce would kill)."""
    outbox_email_obsolete(invitation_ids=[invitation.pk])
    outbox_invitation_email_queue(
        company=invitation.company, invitation_id=invitation.pk, recipient=invitation.email, now=now
    )


@transaction.atomic
def invitation_send(
    *, acting_user: User, email: str, full_name: str, role: str, team: CompanyOwnedModel | None
) -> Invitation:
    """
    Invite ``email`` to become a user of the acting Administrator's company
    with ``role`` (and ``team`` for a Team Administrator), and queue the email
    with the link. Inviting an address that has a pending invitation of this
    company sends that one again, with this name, role and team (see
    ``invitation_resend``): the same answer either way. Refused only for bad
    input, for an address that is a user of this company, and beyond
    ``EMAILS_PER_ADDRESS_PER_HOUR`` emails to one address or
    ``EMAILS_PER_COMPANY_PER_HOUR`` in all in an hour.
    """
    with acting_in_company(acting_user, None, Role.ADMINISTRATOR) as company:
        email, full_name, team = _fields(company=company, email=email, full_name=full_name, role=role, team=team)
        ratelimit_count_event(_email_slot_reserve(company=company, email=email))
        now = timezone.now()
        pending = Invitation.objects.select_for_update().filter(email=email, state=InvitationState.PENDING).first()
        if pending is None:
            invitation = Invitation(
                company=company,
                email=email,
                full_name=full_name,
                role=role,
                team_id=team.pk if team is not None else None,
                invited_by=acting_user,
                sent_at=now,
                expires_at=now + invitation_valid_for(),
            )
            try:
                with transaction.atomic():
                    invitation.save(force_insert=True)
            except IntegrityError:
                # Another Administrator invited the address meanwhile: theirs is sent again.
                pending = Invitation.objects.select_for_update().get(email=email, state=InvitationState.PENDING)
            else:
                _send_email(invitation, now=now)
                audit_record(
                    company=company,
                    actor=acting_user,
                    action="invitation.sent",
                    obj=invitation,
                    summary=f"Invitation sent to {email} as {invitation.get_role_display()}",
                    changes=audit_initial(_as_shown(invitation)),
                    data=_audit_data(invitation),
                )
                return invitation
        return _renew(acting_user=acting_user, invitation=pending, now=now, full_name=full_name, role=role, team=team)


def _renew(
    *,
    acting_user: User,
    invitation: Invitation,
    now: datetime.datetime,
    full_name: str | None = None,
    role: str | None = None,
    team: CompanyOwnedModel | None = None,
) -> Invitation:
    """
    Send a locked pending invitation again: a new nonce (every link sent
    before stops working), a new expiry, a new email; with ``role`` given,
    the name, role and team of a second invite replace the first's.
    """
    shown_before = _as_shown(invitation)
    if role is not None:
        invitation.full_name = full_name or ""
        invitation.role = role
        invitation.team = team  # type: ignore[assignment]
    invitation.nonce = nonce_new()
    invitation.invited_by = acting_user
    invitation.sent_at = now
    invitation.expires_at = now + invitation_valid_for()
    invitation.save(update_fields=["full_name", "role", "team", "nonce", "invited_by", "sent_at", "expires_at"])
    _send_email(invitation, now=now)
    audit_record(
        company=invitation.company,
        actor=acting_user,
        action="invitation.resent",
        obj=invitation,
        summary=f"Invitation sent again to {invitation.email}; the earlier link no longer works",
        changes=audit_changes(shown_before, _as_shown(invitation)),
        data=_audit_data(invitation),
    )
    return invitation


@transaction.atomic
def invitation_resend(*, acting_user: User, invitation: Invitation) -> Invitation:
    """
    Send a pending invitation (expired or not) again with a new link, valid
    for ``INVITATION_VALID_HOURS`` from now; the earlier link stops working.
    Refused with a ``ValidationError`` once it was accepted or revoked, and
    beyond the hour's allowance of emails (see ``invitation_send``).
    """
    with acting_in_company(acting_user, None, Role.ADMINISTRATOR) as company:
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.state != InvitationState.PENDING:
            raise ValidationError(NOT_PENDING)
        ratelimit_count_event(_email_slot_reserve(company=company, email=invitation.email))
        return _renew(acting_user=acting_user, invitation=invitation, now=timezone.now())


@transaction.atomic
def invitation_revoke(*, acting_user: User, invitation: Invitation) -> Invitation:
    """
    Revoke a pending invitation: its link stops working at once and an email
    not sent yet is not sent. Refused with a ``ValidationError`` once it was
    accepted or revoked.
    """
    with acting_in_company(acting_user, None, Role.ADMINISTRATOR) as company:
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.state != InvitationState.PENDING:
            raise ValidationError(NOT_PENDING)
        invitation.state = InvitationState.REVOKED
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["state", "revoked_at"])
        outbox_email_obsolete(invitation_ids=[invitation.pk])
        audit_record(
            company=company,
            actor=acting_user,
            action="invitation.revoked",
            obj=invitation,
            summary=f"Invitation of {invitation.email} revoked",
            data=_audit_data(invitation),
        )
    return invitation


@transaction.atomic
def invitation_accept(*, public_id: str, token: str, full_name: str, password: str) -> User:
    """
    Accept the invitation the link (``public_id``, ``token``) names: create
    the user in its company with its role and team, the name and password
    the invited person chose, and mark the invitation accepted, so that the
    link is dead. The person has no account yet: the link's token is their
    authority, and the audit event names the new user as actor.

    Raise ``InvitationLinkDead`` when the link does not lead to an open
    invitation (checked under a row lock on the invitation, so that of two
    acceptances at once one wins and the other finds it used), and
    ``ValidationError`` for a bad name or password, or when the address
    already has an account of any company (``ACCOUNT_EXISTS``); nothing
    changes then.
    """
    invitation = invitation_for_link(public_id=public_id, token=token, now=timezone.now(), lock=True)
    if invitation is None:
        raise InvitationLinkDead
    company = Company.objects.get(pk=invitation.company_id)
    with company_scope(company):
        email = invitation.email
        if user_email_taken(email=email):
            raise ValidationError(ACCOUNT_EXISTS, code="account_exists")
        full_name = full_name.strip()
        errors: dict[str, list[str]] = {}
        if len(full_name) > FULL_NAME_MAX_LENGTH:
            errors["full_name"] = [f"Ensure this value has at most {FULL_NAME_MAX_LENGTH} characters."]
        elif problem := text_problem(full_name, TextKind.NAME):
            errors["full_name"] = [f"Name {problem}."]
        user = User(email=email, full_name=full_name, company=company, role=invitation.role, is_active=True)
        user.team_id = invitation.team_id
        try:
            password_check(password, user=user)
        except ValidationError as error:
            errors["password"] = error.messages
        if errors:
            raise ValidationError(errors)
        user.set_password(password)
        account_exists = ValidationError(ACCOUNT_EXISTS, code="account_exists")
        with taken_meanwhile(account_exists, taken=lambda: user_email_taken(email=email)):
            user.save()
        now = timezone.now()
        invitation.state = InvitationState.ACCEPTED
        invitation.accepted_at = now
        invitation.accepted_user = user
        invitation.save(update_fields=["state", "accepted_at", "accepted_user"])
        outbox_email_obsolete(invitation_ids=[invitation.pk])
        audit_record(
            company=company,
            actor=user,
            action="invitation.accepted",
            obj=user,
            summary=f"{email} accepted the invitation and joined as {user.get_role_display()}",
            changes=audit_initial({"Email": email, "Name": user.full_name, "Role": user.get_role_display()}),
            data={**_audit_data(invitation), "user_id": user.pk},
            team_id=user.team_id,
        )
    return user


def invitation_link(invitation: Invitation) -> tuple[str, str]:
    """
    The absolute link of the invitation with its current nonce (only the
    email carries it), and its token. The token is in the query string, never
    in the path: the production servers' access logs and Django's log of
    refused requests record the path only (docs/accounts.md).
    """
    token = link_token(public_id=invitation.public_id, nonce=invitation.nonce)
    path = reverse("invitations:invitation_accept", args=[str(invitation.public_id)])
    return f"{settings.PUBLIC_BASE_URL}{path}?{urlencode({'token': token})}", token


def _one_line(text: str) -> str:
    """A name on one line: a line break must reach neither a header nor a line of its own in a body."""
    return " ".join(text.split())


def invitation_email_render(email: OutboxEmail, now: datetime.datetime) -> RenderedEmail | None:
    """
    Render a queued invitation email (the outbox's renderer for invitations,
    registered by this app) with the link of the invitation's current nonce;
    None once the invitation is no longer open (accepted, revoked or
    expired), so the email becomes obsolete. Runs with scopes disabled.
    """
    invitation = Invitation.objects.select_related("company", "invited_by").get(pk=email.invitation_id or 0)
    if not invitation.is_open(now):
        return None
    company = invitation.company
    link, token = invitation_link(invitation)
    inviter = invitation.invited_by
    context = {
        "company_name": _one_line(company.name),
        "inviter": _one_line(inviter.display_name) if inviter is not None else "An administrator",
        "role": invitation.get_role_display(),
        "team_name": _one_line(invitation.team.name) if invitation.team is not None else "",  # type: ignore[attr-defined]
        "full_name": _one_line(invitation.full_name),
        "link": link,
        "expires_at": invitation.expires_at,
        "time_zone": company.zone.key,
    }
    with timezone.override(company.zone):
        text = render_to_string("invitations/invitation_email.txt", context)
        html = render_to_string("invitations/invitation_email.html", context)
    message = EmailMultiAlternatives(
        subject=f"Your invitation to the ReconPro Back Office of {context['company_name']}",
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.recipient],
    )
    message.attach_alternative(html, "text/html")
    return RenderedEmail(
        message=message,
        label=f"Invitation email for {invitation.email}",
        audit_data={"invitation_id": str(invitation.public_id), "team_id": invitation.team_id},
        secrets=(token, link),
    )
