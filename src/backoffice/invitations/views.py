"""
The Users page with its invitations, and the invitation link's page.
Views parse, call a service or selector, render.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from backoffice.invitations import services
from backoffice.invitations.forms import AcceptForm, InvitationForm
from backoffice.invitations.selectors import invitation_for_link, invitation_get_for_company, invitation_pending_list
from backoffice.tenancy.forms import add_service_errors
from backoffice.tenancy.http import CompanyRequest
from backoffice.tenancy.permissions import administrator_required, company_member_required
from backoffice.tenancy.selectors import user_email_taken, user_list

LINK_DEAD = (
    "This invitation link is no longer valid: it was used, revoked, replaced by a newer one, or expired. "
    "Ask your administrator for a new invitation."
)


def _sent_message() -> str:
    # The same words whoever the address belongs to, and without the address (docs/accounts.md).
    return f"Invitation sent. The link stays valid for {settings.INVITATION_VALID_HOURS} hours."


@company_member_required
def users(request: CompanyRequest) -> HttpResponse:
    """
    Every role sees the company's users and pending invitations; only
    Administrators get the controls that change them.
    """
    members = list(user_list(user=request.user))
    for member in members:
        member.two_factor_required = request.company.requires_two_factor(member.role)  # type: ignore[attr-defined]
    return render(
        request,
        "invitations/users.html",
        {"users": members, "invitations": invitation_pending_list(), "now": timezone.now()},
    )


@administrator_required
def invitation_add(request: CompanyRequest) -> HttpResponse:
    form = InvitationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_send(
                acting_user=request.user,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                role=form.cleaned_data["role"],
                team=form.cleaned_data["team"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _sent_message())
            return redirect("invitations:users")
    return render(
        request, "invitations/invitation_form.html", {"form": form, "valid_hours": settings.INVITATION_VALID_HOURS}
    )


@require_POST
@administrator_required
def invitation_resend(request: CompanyRequest, public_id: str) -> HttpResponse:
    invitation = invitation_get_for_company(public_id=public_id)
    try:
        services.invitation_resend(acting_user=request.user, invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{_sent_message()} The earlier link no longer works.")
    return redirect("invitations:users")


@require_POST
@administrator_required
def invitation_revoke(request: CompanyRequest, public_id: str) -> HttpResponse:
    invitation = invitation_get_for_company(public_id=public_id)
    try:
        services.invitation_revoke(acting_user=request.user, invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Invitation of {invitation.email} revoked: its link no longer works.")
    return redirect("invitations:users")


def _link_dead(request: HttpRequest) -> HttpResponse:
    return render(request, "invitations/accept.html", {"dead": LINK_DEAD}, status=410)


def _account_exists(request: HttpRequest) -> HttpResponse:
    return render(request, "invitations/accept.html", {"account_exists": services.ACCOUNT_EXISTS})


@never_cache
def invitation_accept(request: HttpRequest, public_id: str) -> HttpResponse:
    """
    The page the email's link opens (no sign-in needed: the token in the
    query string is the authority). A dead link, for whatever reason, gets
    one page with status 410; an address that already has an account gets a
    page that says so and changes nothing; otherwise the person sets their
    name and password, is signed in and lands on Active Devices.
    """
    token = request.GET.get("token", "")
    invitation = invitation_for_link(public_id=public_id, token=token, now=timezone.now())
    if invitation is None:
        return _link_dead(request)
    if user_email_taken(email=invitation.email):
        return _account_exists(request)
    form = AcceptForm(request.POST or None, email=invitation.email, initial={"full_name": invitation.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                public_id=public_id,
                token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password"],
            )
        except services.InvitationLinkDead:
            return _link_dead(request)
        except ValidationError as error:
            if getattr(error, "code", None) == "account_exists":
                return _account_exists(request)
            add_service_errors(form, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to the Back Office of {user.company.name}.")  # type: ignore[union-attr]
            return redirect("devices:active")
    return render(
        request,
        "invitations/accept.html",
        {"form": form, "invitation": invitation, "company_name": invitation.company.name},
    )
