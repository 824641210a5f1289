"""
Opens the signed-in user's company scope around every request, and sends a
person who must add a second factor to do so first.
"""

from collections.abc import Callable
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from backoffice.tenancy.scoping import company_scope, scopes_disabled


class CompanyScopeMiddleware:
    """
    Set ``request.company`` and run the view inside that company's scope.

    Requests without a company (anonymous visitors) run with no scope open, so
    any tenant query they reach raises instead of leaking data. Operators
    (staff users) on the Django admin, which lists every company's rows, run
    with scopes explicitly disabled. The device API opens its own scope from
    the authenticated device.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        company = None
        if user is not None and user.is_authenticated and user.is_active:
            company = user.company
        request.company = company  # type: ignore[attr-defined]
        if request.path.startswith("/admin/") and user is not None and user.is_authenticated and user.is_staff:
            with scopes_disabled():
                return self.get_response(request)
        if company is not None:
            # Dates on every page are shown in the company's time zone.
            with company_scope(company), timezone.override(company.zone):
                return self.get_response(request)
        return self.get_response(request)


# Pages a signed-in person who still has to add a second factor may open:
# the two-factor pages themselves, re-entering the password they ask for,
# signing out, and the static files.
TWO_FACTOR_SETUP_PATHS = ("/2fa/", "/reauthenticate/", "/logout/", "/static/")
SETUP_NEEDED = "Add a second factor to continue: {who}. An authenticator app or a passkey both work."


def two_factor_needed(user: Any, *, path: str) -> str:
    """
    Why ``user`` must add a second factor before opening ``path`` ("" when
    they need not): their company's policy covers their role, or they are an
    operator opening the Django admin (unless OPERATOR_TWO_FACTOR_REQUIRED is
    off, as in the demo).
    """
    if not user.is_authenticated or path.startswith(TWO_FACTOR_SETUP_PATHS):
        return ""
    company = user.company
    if company is not None:
        needed = company.requires_two_factor(user.role)
        who = f"{company.name} requires two-factor sign-in"
    else:
        needed = user.is_staff and path.startswith("/admin/") and settings.OPERATOR_TWO_FACTOR_REQUIRED
        who = "operators sign in to the admin with two-factor sign-in"
    if not needed or is_mfa_enabled(user):
        return ""
    return SETUP_NEEDED.format(who=who)


class TwoFactorRequiredMiddleware:
    """
    Enforce the company's "Require two-factor sign-in" (and the operators'
    rule on /admin/): a signed-in person it covers who has no authenticator
    app or passkey yet is sent to add one, with a message, before any other
    page; htmx requests get an ``HX-Redirect`` instead of a page in a
    fragment. Once they have one, allauth asks for it at every sign-in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        reason = two_factor_needed(request.user, path=request.path_info)
        if not reason:
            return self.get_response(request)
        messages.warning(request, reason)
        target = reverse("mfa_index")
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
