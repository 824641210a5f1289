from django.http import HttpResponse
from django.shortcuts import render

from backoffice.core.http import CompanyRequest
from backoffice.core.pagination import paginate
from backoffice.devices.selectors import (
    DEFAULT_DEVICE_SORT,
    DEVICE_SORTS,
    DeviceSearch,
    device_get_for_company,
    device_registered_list,
)
from backoffice.licensing.selectors import license_counts
from backoffice.tenancy.permissions import company_member_required


@company_member_required
def active_devices(request: CompanyRequest) -> HttpResponse:
    """The Active Devices page: license counts and the registered devices."""
    sort = request.GET.get("sort", DEFAULT_DEVICE_SORT)
    if sort not in DEVICE_SORTS:
        sort = DEFAULT_DEVICE_SORT
    descending = request.GET.get("dir") == "desc"
    search = DeviceSearch.from_query(request.GET)
    devices = device_registered_list(user=request.user, search=search, sort=sort, descending=descending)
    page = paginate(devices, request.GET.get("page"))
    context = {
        "page": page,
        "sort": sort,
        "descending": descending,
        "search": search,
        "counts": license_counts(),
    }
    template = "devices/active_devices.html"
    if request.htmx and not request.htmx.boosted:
        template += "#device-table"
    return render(request, template, context)


@company_member_required
def device_detail(request: CompanyRequest, pk: int) -> HttpResponse:
    """One device's settings and what it reported; 404 outside the user's reach."""
    device = device_get_for_company(user=request.user, pk=pk)
    return render(request, "devices/device_detail.html", {"device": device})
