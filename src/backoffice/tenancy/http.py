"""The typed request of the Back Office pages."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from backoffice.tenancy.models import Company, User


class CompanyRequest(HttpRequest):
    """A request from a signed-in Back Office user; set up by the tenancy middleware."""

    user: User  # type: ignore[assignment]
    company: Company
    htmx: HtmxDetails
