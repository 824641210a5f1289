"""Sign-in, Back Office users and company settings. Views parse, call a service or selector, render."""

from typing import Any

from allauth.usersessions.views import ListUserSessionsView
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from backoffice.core.http import client_address, user_agent_summary
from backoffice.tenancy import services
from backoffice.tenancy.choices import Functionality
from backoffice.tenancy.forms import (
    CompanySettingsForm,
    UserUpdateForm,
    add_service_errors,
)
from backoffice.tenancy.http import CompanyRequest
from backoffice.tenancy.models import Company
from backoffice.tenancy.permissions import administrator_required, company_member_required
from backoffice.tenancy.selectors import user_get_for_company


class SessionsView(ListUserSessionsView):
    """
    The signed-in user's sessions (django-allauth's page) with their last
    sign-in; "Sign out everywhere else" is an event in the audit log.
    """

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        for session in context["sessions"]:
            session.client = user_agent_summary(session.user_agent)
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.account_event_record(
            user=self.request.user,  # type: ignore[arg-type]
            action="user.signed_out_everywhere",
            address=client_address(self.request),
        )
        return response


def not_offered(request: HttpRequest) -> HttpResponse:
    """An allauth page the Back Office does not offer."""
    raise Http404


# Users: the Users page and its invitations are the invitations app's
# (``invitations.views``); here, the changes of an existing user.


@administrator_required
def user_edit(request: CompanyRequest, pk: int) -> HttpResponse:
    edited = user_get_for_company(user=request.user, pk=pk)
    editing_self = edited.pk == request.user.pk
    form = UserUpdateForm(
        request.POST or None, user=request.user, editing_self=editing_self, initial=UserUpdateForm.initial_for(edited)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(
                acting_user=request.user,
                user=edited,
                full_name=form.cleaned_data["full_name"],
                role=form.cleaned_data["role"],
                team=form.cleaned_data["team"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"User {edited.email} saved.")
            return redirect("invitations:users")
    return render(request, "tenancy/user_form.html", {"form": form, "edited": edited, "editing_self": editing_self})


@require_POST
@administrator_required
def user_deactivate(request: CompanyRequest, pk: int) -> HttpResponse:
    edited = user_get_for_company(user=request.user, pk=pk)
    try:
        services.user_deactivate(acting_user=request.user, user=edited)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"User {edited.email} deactivated: they can no longer sign in.")
    return redirect("invitations:users")


@require_POST
@administrator_required
def user_reactivate(request: CompanyRequest, pk: int) -> HttpResponse:
    edited = user_get_for_company(user=request.user, pk=pk)
    services.user_reactivate(acting_user=request.user, user=edited)
    messages.success(request, f"User {edited.email} reactivated.")
    return redirect("invitations:users")


# Company settings


@company_member_required
def company_settings(request: CompanyRequest) -> HttpResponseBase:
    """
    Everyone sees the settings; an Administrator can change them. A POST from
    another role is refused with 403 before anything is read or written.
    """
    if request.method == "POST":
        return _company_settings_save(request)
    return _company_settings_page(request, CompanySettingsForm(initial=_company_settings_initial(request.company)))


def _company_settings_initial(company: Company) -> dict[str, object]:
    """What the form starts from: also on POST, so that a stored time-zone alias stays valid."""
    return {
        "default_time_zone": company.default_time_zone,
        "default_functionality": company.default_functionality,
        "expired_code_grace_days": company.expired_code_grace_days,
        "audit_log_for_viewers": company.audit_log_for_viewers,
        "two_factor_required": company.two_factor_required,
    }


@administrator_required
def _company_settings_save(request: CompanyRequest) -> HttpResponse:
    form = CompanySettingsForm(request.POST, initial=_company_settings_initial(request.company))
    if form.is_valid():
        try:
            services.company_settings_update(
                acting_user=request.user,
                default_time_zone=form.cleaned_data["default_time_zone"],
                default_functionality=form.cleaned_data["default_functionality"],
                expired_code_grace_days=form.cleaned_data["expired_code_grace_days"],
                audit_log_for_viewers=form.cleaned_data["audit_log_for_viewers"],
                two_factor_required=form.cleaned_data["two_factor_required"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Company settings saved.")
            return redirect("tenancy:settings")
    return _company_settings_page(request, form)


def _company_settings_page(request: CompanyRequest, form: CompanySettingsForm) -> HttpResponse:
    return render(
        request,
        "tenancy/settings.html",
        {
            "form": form,
            "functionality_labels": [
                label for value, label in Functionality.choices if value in request.company.default_functionality
            ],
        },
    )
