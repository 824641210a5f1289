"""The Licenses page: read-only for every role, since operators issue licenses."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from backoffice.core.pagination import paginate
from backoffice.licensing.choices import LicenseStatus
from backoffice.licensing.selectors import license_counts, license_list
from backoffice.tenancy.http import CompanyRequest
from backoffice.tenancy.permissions import company_member_required


@company_member_required
def licenses(request: CompanyRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in LicenseStatus.values:
        status = ""
    page = paginate(license_list(status=status), request.GET.get("page"))
    context = {"page": page, "status": status, "statuses": LicenseStatus.choices, "counts": license_counts()}
    template = "licensing/licenses.html"
    if request.htmx and not request.htmx.boosted:
        template += "#license-table"
    response = render(request, template, context)
    # The same URL answers a fragment to htmx and a page otherwise: caches must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response
