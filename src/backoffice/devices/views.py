from urllib.parse import urlencode

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from backoffice.core.charts import pie_slices
from backoffice.core.http import CompanyRequest
from backoffice.core.pagination import paginate
from backoffice.devices.report import report_lines
from backoffice.devices.selectors import (
    DEFAULT_DEVICE_SORT,
    DEVICE_SORTS,
    DeviceSearch,
    device_get_for_company,
    device_registered_list,
    device_report_rows,
    device_version_breakdown,
)
from backoffice.licensing.selectors import license_counts
from backoffice.tenancy.permissions import company_member_required


@company_member_required
def active_devices(request: CompanyRequest) -> HttpResponse:
    """
    The Active Devices page: license counts, the versions chart and the
    registered devices, all following the search in the URL.
    """
    sort = request.GET.get("sort", DEFAULT_DEVICE_SORT)
    if sort not in DEVICE_SORTS:
        sort = DEFAULT_DEVICE_SORT
    descending = request.GET.get("dir") == "desc"
    search = DeviceSearch.from_query(request.GET)
    devices = device_registered_list(user=request.user, search=search, sort=sort, descending=descending)
    page = paginate(devices, request.GET.get("page"))
    versions = device_version_breakdown(devices)
    context = {
        "page": page,
        "sort": sort,
        "descending": descending,
        "search": search,
        "counts": license_counts(),
        "chart": [
            (piece, "?" + urlencode({**search.as_query(), "v": version.version}))
            for piece, version in zip(
                pie_slices([(v.version or "Unknown", v.count) for v in versions]), versions, strict=True
            )
        ],
        "report_query": urlencode(search.as_query()),
    }
    template = "devices/active_devices.html"
    if request.htmx and not request.htmx.boosted:
        template += "#device-table"
    return render(request, template, context)


@company_member_required
def devices_report(request: CompanyRequest) -> StreamingHttpResponse:
    """DeviceReport.csv of every registered device in the current search, streamed."""
    search = DeviceSearch.from_query(request.GET)
    rows = device_report_rows(user=request.user, search=search)
    response = StreamingHttpResponse(
        report_lines(rows, time_zone=request.company.default_time_zone),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="DeviceReport.csv"'
    response["Cache-Control"] = "no-store"
    return response


@company_member_required
def device_detail(request: CompanyRequest, pk: int) -> HttpResponse:
    """One device's settings and what it reported; 404 outside the user's reach."""
    device = device_get_for_company(user=request.user, pk=pk)
    return render(request, "devices/device_detail.html", {"device": device})
