"""The company audit log and its CSV export: parse the filters, call a selector, render."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse

from backoffice.auditlog.export import export_lines
from backoffice.auditlog.forms import AuditLogFilterForm
from backoffice.auditlog.selectors import (
    AuditLogPage,
    audit_device_nickname,
    audit_export_rows,
    audit_filter_choices,
    audit_log_page,
)
from backoffice.tenancy.http import CompanyRequest
from backoffice.tenancy.permissions import can_read_audit_log, company_member_required

AUDIT_LOG = "auditlog/audit_log.html"
# Parameters that move through the pages, not filters: left out of the export link and of "remove" links.
CURSOR_PARAMS = ("before", "after")

View = Callable[..., HttpResponseBase]


def audit_log_reader_required(view: View) -> View:
    """The log is a page a user who may not read it does not see: 404, as any page out of reach."""

    @company_member_required
    @wraps(view)
    def wrapper(request: CompanyRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not can_read_audit_log(request.user):
            raise Http404("No audit log")
        return view(request, *args, **kwargs)

    return wrapper


def _query_without(request: CompanyRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@audit_log_reader_required
def audit_log(request: CompanyRequest) -> HttpResponse:
    """
    The events the user may see, newest first, 50 a page, under the filters
    in the URL. Invalid filters show their errors and list nothing.
    """
    form = AuditLogFilterForm(request.GET, choices=audit_filter_choices(user=request.user))
    page = AuditLogPage()
    device_filter: dict[str, object] | None = None
    if form.is_valid():
        filters = form.filters(zone=request.company.zone)
        page = audit_log_page(
            user=request.user,
            filters=filters,
            before=form.cleaned_data["before"],
            after=form.cleaned_data["after"],
        )
        if filters.device_id is not None:
            nickname = audit_device_nickname(user=request.user, device_id=filters.device_id)
            device_filter = {
                "id": filters.device_id,
                "nickname": nickname,
                "remove_query": _query_without(request, "device", *CURSOR_PARAMS),
            }
    base_query = _query_without(request, *CURSOR_PARAMS)
    context = {
        "form": form,
        "page": page,
        "device_filter": device_filter,
        "batch_filter": form.cleaned_data.get("batch") if form.is_valid() else None,
        "batch_remove_query": _query_without(request, "batch", *CURSOR_PARAMS),
        "filtered": bool(base_query),
        "export_url": reverse("auditlog:export") + (f"?{base_query}" if base_query else ""),
        "older_url": _page_url(base_query, "before", page.older.token) if page.older else "",
        "newer_url": _page_url(base_query, "after", page.newer.token) if page.newer else "",
        "team_only": request.user.is_team_administrator,
    }
    return render(request, AUDIT_LOG, context)


def _page_url(base_query: str, name: str, token: str) -> str:
    extra = urlencode({name: token})
    return f"?{base_query}&{extra}" if base_query else f"?{extra}"


@audit_log_reader_required
def audit_log_export(request: CompanyRequest) -> HttpResponseBase:
    """
    AuditLog.csv of the current filters, every page (a page cursor in the
    URL is ignored), streamed. Invalid filters go back to the page, which
    shows their errors.
    """
    query = request.GET.copy()
    for name in CURSOR_PARAMS:
        query.pop(name, None)
    form = AuditLogFilterForm(query, choices=audit_filter_choices(user=request.user))
    if not form.is_valid():
        return redirect(reverse("auditlog:events") + f"?{query.urlencode()}")
    zone = request.company.zone
    rows = audit_export_rows(user=request.user, filters=form.filters(zone=zone))
    response = StreamingHttpResponse(export_lines(rows, zone=zone), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="AuditLog.csv"'
    response["Cache-Control"] = "no-store"
    return response
