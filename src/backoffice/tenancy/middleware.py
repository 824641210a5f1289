"""Opens the signed-in user's company scope around every request."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
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
