"""
The Active Devices page, the device page and the Device dialog's endpoints:
parse, call a selector or a service, render.

Longer than the usual 300 lines: the page and each endpoint of the dialog
(add, edit, preview, the client search, delete, replace, cancel, resend, the
report) are thin views that share the dialog's rendering and the answer
after a write.
"""

import hashlib
import hmac
import re
import time
import zoneinfo
from collections.abc import Iterable
from typing import Literal
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpResponse, HttpResponseNotModified, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from backoffice.core.charts import pie_slices
from backoffice.core.pagination import PAGE_SIZES, paginate
from backoffice.core.text import search_ignored_message
from backoffice.devices import services
from backoffice.devices.forms import (
    ACTION_ADD_CLIENT,
    ACTION_ADD_CUSTOM,
    ACTION_ADD_EMPLOYEE,
    DeviceEditForm,
    DeviceSettingsForm,
    dialog_action_form,
    is_dialog_action,
)
from backoffice.devices.forms.saved_views import SavedViewForm
from backoffice.devices.models import Device
from backoffice.devices.qr import qr_svg_document
from backoffice.devices.report import report_copy_lines, report_lines
from backoffice.devices.selectors import (
    FILTER_VERSION,
    NOT_REPORTED,
    SEARCH_LABELS,
    DeviceListState,
    DeviceSearch,
    PendingRegistrations,
    device_figures,
    device_filters,
    device_get_for_company,
    device_page,
    device_registered_count,
    device_registered_list,
    device_report_rows,
    device_report_statistics,
    device_search_description,
    device_version_breakdown,
    pending_code_for_qr,
    pending_registration_list,
    registration_email_get_for_company,
    saved_view_get_for_owner,
    saved_view_list,
)
from backoffice.devices.selectors.detail import (
    DOCUMENTS_PER_PAGE,
    HISTORY_PER_PAGE,
    TRAIL_PER_PAGE,
    device_config_view,
    device_documents,
    device_history,
    device_open_code,
    device_page_get,
    device_trail,
    history_older_row,
    history_timeline,
)
from backoffice.devices.selectors.report import device_report_copy_sql
from backoffice.devices.templatetags.device_tags import pending_rows_needed
from backoffice.licensing.selectors import license_counts
from backoffice.organization.selectors import wholesale_client_search
from backoffice.tenancy.http import CompanyRequest
from backoffice.tenancy.permissions import (
    can_read_audit_log,
    can_write_team,
    company_member_required,
    device_writer_required,
)

ACTIVE_DEVICES = "devices/active_devices.html"
DEVICE_DETAIL = "devices/device_detail.html"
DEVICE_DIALOG = "devices/device_dialog.html"
DEVICE_DELETE = "devices/device_delete.html"


@company_member_required
def active_devices(request: CompanyRequest) -> HttpResponse:
    """
    The Active Devices page: license counts, the versions chart, Pending
    Registrations (with its own search) and the registered devices with the
    Search pane, its filters and the saved views; the list, the chart, the
    filters' counts and the report follow the search in the URL.
    """
    state = DeviceListState.from_query(request.GET)
    search = state.search
    partial = bool(request.htmx and not request.htmx.boosted)
    if not partial:
        if search.ignored:
            messages.warning(request, search_ignored_message(SEARCH_LABELS.get(name, name) for name in search.ignored))
        if search.rejected:
            messages.warning(request, _filters_rejected_message(search.rejected))
    devices = device_registered_list(user=request.user, search=search, sort=state.sort, descending=state.descending)
    # The total, the filters' counts and the chart are sums over these cells:
    # read once for the page.
    figures = device_figures(user=request.user, search=search)
    total = device_registered_count(user=request.user, search=search, figures=figures)
    page = device_page(devices, request.GET.get("page"), per_page=state.per_page, count=total)
    context = {
        "page": page,
        "sort": state.sort,
        "descending": state.descending,
        "search": search,
        "per_page": state.per_page,
        "current_query": state.as_query_string(),
    }
    if partial:
        return render(request, ACTIVE_DEVICES + "#device-table", context)
    versions = device_version_breakdown(devices, user=request.user, search=search, figures=figures)
    list_query = state.as_query()
    context |= {
        "page_sizes": PAGE_SIZES,
        "filters": device_filters(user=request.user, search=search, figures=figures),
        "counts": license_counts(),
        "chart": [
            (piece, "?" + urlencode({**list_query, FILTER_VERSION: version.version or NOT_REPORTED}))
            for piece, version in zip(
                pie_slices([(v.version or "Unknown", v.count) for v in versions]), versions, strict=True
            )
        ],
        "report_query": urlencode(search.as_query()),
        "pending": pending_registration_list(user=request.user, limit=pending_rows_needed(request)),
        # The registered list's search, kept by the Pending Registrations search box.
        "list_params": list_query,
        "saved_views": saved_view_list(user=request.user),
        "save_form": SavedViewForm(initial={"query": state.as_query_string()}),
    }
    return render(request, ACTIVE_DEVICES, context)


def _filters_rejected_message(names: Iterable[str]) -> str:
    """What the page says of the filters whose value in the URL was none of their choices."""
    labels = list(dict.fromkeys(SEARCH_LABELS.get(name, name) for name in names))
    return ngettext(
        "The %(names)s filter has a value that is not one of its choices; it was ignored.",
        "The %(names)s filters have values that are not among their choices; they were ignored.",
        len(labels),
    ) % {"names": ", ".join(labels)}


def _pending_fragment(request: CompanyRequest, pending: PendingRegistrations | None = None) -> HttpResponse:
    """
    The Pending Registrations section (``pending``, or read now), with the
    license counts swapped out of band.
    """
    context = {
        "pending": pending or pending_registration_list(user=request.user, limit=pending_rows_needed(request)),
        "counts": license_counts(),
        "oob": True,
    }
    html = render_to_string(f"{ACTIVE_DEVICES}#pending-registrations", context, request=request)
    html += render_to_string(f"{ACTIVE_DEVICES}#license-counts", context, request=request)
    return HttpResponse(html)


def _toast(
    response: HttpResponse, notice: str, *, error: bool = False, highlight: str = "", wait_for: str = ""
) -> HttpResponse:
    """
    Trigger the page's toast naming the outcome: ``{"message", "level"}``,
    with ``highlight``, the row to scroll to and flash (``"#pending-12"``), and
    ``await``, the section whose refresh comes first (``wait_for``); without
    them app.js flashes the row the user acted on. A response that swaps
    content triggers it once the swap has settled, so the row is there.
    """
    payload = {"message": notice, "level": "error" if error else "success"}
    if highlight:
        payload["highlight"] = highlight
    if wait_for:
        payload["await"] = wait_for
    after: Literal["receive", "settle"] = "receive" if response.status_code == 204 else "settle"
    return trigger_client_event(response, "toast", payload, after=after)


def _after_write(request: CompanyRequest, notice: str, *, error: bool = False) -> HttpResponse:
    """
    htmx: the refreshed section and a toast with the outcome (from a device's
    page: that page refreshed in place); otherwise back to the page with a
    message.
    """
    if _from_device_page(request):
        return _device_page_refresh(notice, error=error)
    if request.htmx:
        return _toast(_pending_fragment(request), notice, error=error)
    (messages.error if error else messages.success)(request, notice)
    return redirect(reverse("devices:active") + "#pending-registrations")


def _device_page_refresh(notice: str, *, error: bool = False) -> HttpResponse:
    """
    After an action on a device's page (over htmx): a toast with the outcome,
    the Device dialog closed (``registrations-changed``) and the page
    refreshed in place (``device-changed``, which the page listens to).
    """
    response = _toast(HttpResponse(status=204), notice, error=error)
    trigger_client_event(response, "registrations-changed")
    return trigger_client_event(response, "device-changed")


def _from_device_page(request: CompanyRequest) -> bool:
    """Whether an htmx request comes from a device's own page (``/devices/<pk>/``)."""
    if not request.htmx:
        return False
    path = urlsplit(request.htmx.current_url or "").path
    prefix = reverse("devices:active")
    rest = path.removeprefix(prefix).rstrip("/") if path.startswith(prefix) else ""
    return rest.isascii() and rest.isdigit()


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# Part of every Pending Registrations ETag: a change to what the section
# renders from the same data (a new template) changes it too.
PENDING_ETAG_VERSION = "pending-2"
_PENDING_ETAG = re.compile(r'"p(\d{1,20})\.(\d{1,12})\.([0-9a-f]{32})"')


def _pending_scope(request: CompanyRequest) -> str:
    """
    What, besides the data, the section depends on: who is looking (company,
    role, team: a Team Administrator sees only their team, a Viewer no
    codes), the company's time zone and grace days, the query string (the
    section's search and the list's parameters it keeps) and the CSRF secret
    that its forms' tokens carry.
    """
    user = request.user
    scope = (
        PENDING_ETAG_VERSION,
        request.company.pk,
        request.company.default_time_zone,
        request.company.expired_code_grace_days,
        user.pk,
        user.role,
        user.team_id,
        request.GET.urlencode(),
        request.META.get("CSRF_COOKIE", ""),
    )
    return hashlib.sha256(repr(scope).encode()).hexdigest()[:32]


def _pending_current_etag(request: CompanyRequest, scope: str) -> str | None:
    """
    The one of the browser's ETags (``If-None-Match``) names the
    company's current Pending Registrations version, this request's scope
    and a moment the clock has not yet reached, if any.
    """
    now = time.time()
    for tag in parse_etags(request.headers.get("If-None-Match", ""))[:8]:
        match = _PENDING_ETAG.fullmatch(tag)
        if (
            match
            and int(match[1]) == request.company.pending_version
            and now < int(match[2])
            and hmac.compare_digest(match[3], scope)
        ):
            return tag
    return None


@company_member_required
def pending_registrations(request: CompanyRequest) -> HttpResponse:
    """
    The Pending Registrations section alone (with the license counts out of
    band), polled by the page every few seconds.

    Its ETag names the company's ``pending_version`` (raised by the database
    in the transaction of every write that changes what the section shows),
    the moment until which the clock changes nothing (``valid_until``) and
    the request's scope. The version comes with the company row that every
    signed-in request reads, so when the browser's copy is current
    (``If-None-Match``) the answer is ``304 Not Modified`` without another
    statement. The version is read before the rows: a write that commits in
    between shows in the rows and raises the version past the ETag's, so the
    next poll renders again (never a stale copy kept). ``Cache-Control:
    private, no-cache`` lets the browser keep its copy and revalidate it on
    every poll.
    """
    if not request.htmx:
        return redirect(reverse("devices:active") + "#pending-registrations")
    scope = _pending_scope(request)
    version = request.company.pending_version
    response: HttpResponse
    current = _pending_current_etag(request, scope)
    if current is not None:
        response = HttpResponseNotModified()
        response["ETag"] = current
    else:
        pending = pending_registration_list(user=request.user, limit=pending_rows_needed(request))
        response = _pending_fragment(request, pending)
        response["ETag"] = f'"p{version}.{int(pending.valid_until.timestamp())}.{scope}"'
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ["HX-Request"])
    return response


@device_writer_required
@require_safe
def registration_code_qr(request: CompanyRequest, pk: int) -> HttpResponse:
    """
    The QR image (SVG) of device ``pk``'s live code, loaded only when its row's
    "Show QR" is opened. ``?code=`` names the code the row was drawn for: a
    replaced code's image is never served for the new one, so the browser may
    keep the image until the code expires. The URL carries ids only, never
    the code. 404 alike for another company's or team's device, a device
    without a live code and a code that is no longer the live one.
    """
    code, expires_at = pending_code_for_qr(user=request.user, device_id=pk, code_id=request.GET.get("code"))
    response = HttpResponse(qr_svg_document(code), content_type="image/svg+xml")
    seconds = max(0, int((expires_at - timezone.now()).total_seconds()))
    response["Cache-Control"] = f"private, max-age={seconds}"
    return response


@device_writer_required
def device_add(request: CompanyRequest) -> HttpResponse:
    """
    The Device dialog for a new device: a full page without JavaScript, a
    modal ``<dialog>`` loaded by htmx otherwise. Add Email, Add and the
    remove buttons change the Recipients box, the Clients tab's Add and
    Delete its Assigned Clients, and the form is shown again; OK saves the
    device, its code and its emails.
    """
    refocus = ""
    if request.method == "POST":
        if is_dialog_action(request.POST):
            form = dialog_action_form(data=request.POST, user=request.user)
            refocus = _refocus(request)
        else:
            form = DeviceSettingsForm(request.POST, user=request.user)
            form.tab = request.POST.get("tab", "")
            if form.is_batch:
                return _device_add_batch(request, form)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    device = services.device_add(
                        acting_user=request.user,
                        team=data["team"],
                        license=data["license"],
                        nickname=data["nickname"],
                        description=data["description"],
                        time_zone=data["time_zone"],
                        recipients=data["all_recipients"],
                        expires_in=form.expires_in_delta,
                        **form.service_kwargs(),
                    )
                except ValidationError as exc:
                    form.add_error(None, exc)
                else:
                    notice = f"{device.nickname} added. Its registration code is shown in Pending Registrations."
                    if request.htmx:
                        # The toast first: it closes the dialog before Pending Registrations
                        # refreshes, then the new row is scrolled to, flashed and focused.
                        response = _toast(
                            HttpResponse(status=204),
                            notice,
                            highlight=f"#pending-{device.pk}",
                            wait_for="pending-registrations",
                        )
                        return trigger_client_event(response, "registrations-changed")
                    messages.success(request, notice)
                    return redirect(reverse("devices:active") + f"#pending-{device.pk}")
    else:
        form = DeviceSettingsForm(user=request.user)
    return _render_dialog(request, form, form_action=reverse("devices:add"), refocus=refocus)


def _device_add_batch(request: CompanyRequest, form: DeviceSettingsForm) -> HttpResponse:
    """
    OK with a quantity or a list of nicknames: add the batch, all or nothing,
    then show what was added with a link to its code sheet (in the dialog
    over htmx; otherwise the code sheet page itself, with a message).
    """
    if form.is_valid():
        data = form.cleaned_data
        try:
            batch = services.devices_add_batch(
                acting_user=request.user,
                team=data["team"],
                nicknames=data["nicknames"],
                quantity=data["quantity"],
                nickname_prefix=data["nickname"],
                as_many_as_licenses=data["as_many_as_licenses"],
                description=data["description"],
                time_zone=data["time_zone"],
                recipients=data["all_recipients"],
                expires_in=form.expires_in_delta,
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            sheet_url = reverse("devices:code_sheet") + "?" + urlencode({"batch": str(batch.batch_id)})
            added = len(batch.devices)
            notice = ngettext("%(n)d device added.", "%(n)d devices added.", added) % {"n": added}
            if batch.short_by:
                notice += f" {batch.short_by} fewer than asked: no more licenses were free."
            if request.htmx:
                context = {
                    "batch": batch,
                    "sheet_url": sheet_url,
                    "notice": notice,
                    "recipients": data["all_recipients"],
                }
                response = render(request, f"{DEVICE_DIALOG}#batch-added", context)
                return trigger_client_event(response, "batch-added", after="settle")
            messages.success(request, notice + " Print their codes from this sheet.")
            return redirect(sheet_url)
    return _render_dialog(request, form, form_action=reverse("devices:add"))


def _refocus(request: CompanyRequest) -> str:
    """The element that takes focus when the form comes back after a button other than OK."""
    if "remove_client" in request.POST:
        return "assigned-clients"
    if "remove_recipient" in request.POST:
        return "recipients"
    action = request.POST.get("action", "")
    return {ACTION_ADD_EMPLOYEE: "id_employee", ACTION_ADD_CUSTOM: "id_email", ACTION_ADD_CLIENT: "id_client_pick"}.get(
        action, "effective-preview"
    )


def _render_dialog(
    request: CompanyRequest,
    form: DeviceSettingsForm,
    *,
    form_action: str,
    device: Device | None = None,
    refocus: str = "",
) -> HttpResponse:
    """The Device dialog: the page, the ``<dialog>`` (htmx GET) or the form again (htmx POST)."""
    template = DEVICE_DIALOG
    if request.htmx:
        template += "#device-form" if request.method == "POST" else "#device-dialog"
    context = {
        "form": form,
        "dialog": form.reads(),
        "form_action": form_action,
        "preview_url": reverse("devices:edit_preview", args=[device.pk]) if device else reverse("devices:add_preview"),
        "device": device,
        "refocus": refocus,
    }
    return render(request, template, context)


def _back_to_list(request: CompanyRequest, notice: str, *, deleted: bool = False) -> HttpResponse:
    """
    After Edit or Delete, a message naming the device. On the list over htmx:
    a toast, the registered devices (search kept) and Pending Registrations
    with the license counts refresh in place, and the row acted on is
    scrolled to. After Edit on the device's own page, a toast and that page
    refreshed in place. Otherwise the Active Devices page again.
    """
    list_url = reverse("devices:active")
    if not deleted and _from_device_page(request):
        return _device_page_refresh(notice)
    if request.htmx and urlsplit(request.htmx.current_url or "").path == list_url:
        response = _toast(HttpResponse(status=204), notice, wait_for="device-table")
        trigger_client_event(response, "devices-changed")
        return trigger_client_event(response, "registrations-changed")
    messages.success(request, notice)
    if request.htmx:
        # From the Edit page itself: go to the list. No content: htmx acts on the header alone.
        redirect_response = HttpResponseClientRedirect(list_url)
        redirect_response.status_code = 204
        return redirect_response
    return redirect("devices:active")


@device_writer_required
def device_edit(request: CompanyRequest, pk: int) -> HttpResponse:
    """
    Edit: the same Device dialog, filled in, with what the device reported
    shown read-only. OK saves and sets the Change Date.
    """
    device = device_get_for_company(user=request.user, pk=pk)
    refocus = ""
    if request.method == "POST" and is_dialog_action(request.POST):
        form = dialog_action_form(data=request.POST, user=request.user, device=device)
        refocus = _refocus(request)
    elif request.method == "POST":
        form = DeviceEditForm(request.POST, user=request.user, device=device)
        form.tab = request.POST.get("tab", "")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.device_update(
                    device=device,
                    acting_user=request.user,
                    team=data["team"],
                    license=data["license"],
                    nickname=data["nickname"],
                    description=data["description"],
                    time_zone=data["time_zone"],
                    **form.service_kwargs(),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return _back_to_list(request, f"{data['nickname']} saved.")
    else:
        form = DeviceEditForm(user=request.user, device=device)
    return _render_dialog(
        request, form, form_action=reverse("devices:edit", args=[device.pk]), device=device, refocus=refocus
    )


@device_writer_required
@require_POST
def device_add_preview(request: CompanyRequest) -> HttpResponse:
    """The effective configuration of a new device's unsaved settings (the dialog's preview, over htmx)."""
    form = dialog_action_form(data=request.POST, user=request.user)
    return render(request, f"{DEVICE_DIALOG}#preview-body", {"form": form, "dialog": form.reads(with_options=False)})


@device_writer_required
@require_POST
def device_edit_preview(request: CompanyRequest, pk: int) -> HttpResponse:
    """The effective configuration of a device's unsaved settings, with its documents."""
    device = device_get_for_company(user=request.user, pk=pk)
    form = dialog_action_form(data=request.POST, user=request.user, device=device)
    return render(request, f"{DEVICE_DIALOG}#preview-body", {"form": form, "dialog": form.reads(with_options=False)})


@device_writer_required
def client_search(request: CompanyRequest) -> HttpResponse:
    """
    The Assigned Clients drop-down's entries: the company's active wholesale
    clients whose name contains ``q`` (the dialog's box sends its own name,
    ``client_pick``), at most 50, as ``<option>`` elements for its datalist.
    """
    q = request.GET.get("q", request.GET.get("client_pick", ""))[:150]
    response = render(request, f"{DEVICE_DIALOG}#client-options", {"clients": wholesale_client_search(q=q)})
    response["Cache-Control"] = "private, no-cache"
    return response


@device_writer_required
def device_delete(request: CompanyRequest, pk: int) -> HttpResponse:
    """
    Delete: GET asks for confirmation, naming the device (the page used
    without JavaScript; the list asks with a confirmation message); POST
    deletes it, frees its license and revokes its credential.
    """
    device = device_get_for_company(user=request.user, pk=pk)
    if request.method != "POST":
        return render(request, DEVICE_DELETE, {"device": device})
    try:
        services.device_delete(device=device, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("devices:active")
    license_note = f"; license {device.license.number} is free again" if device.license else ""
    return _back_to_list(request, f"{device.nickname} deleted{license_note}.", deleted=True)


@device_writer_required
@require_POST
def registration_code_replace(request: CompanyRequest, pk: int) -> HttpResponse:
    """Replace: the device's code stops working at once and a new one is issued and emailed."""
    device = device_get_for_company(user=request.user, pk=pk)
    try:
        services.registration_code_replace(device=device, acting_user=request.user)
    except ValidationError as exc:
        return _after_write(request, _error_text(exc), error=True)
    return _after_write(
        request, f"New registration code issued for {device.nickname}; the previous one no longer works."
    )


@device_writer_required
@require_POST
def registration_cancel(request: CompanyRequest, pk: int) -> HttpResponse:
    """
    Cancel: a pending device is removed and its license freed; a registered
    device only loses its replacement code.
    """
    device = device_get_for_company(user=request.user, pk=pk)
    try:
        if device.is_registered:
            services.registration_code_revoke(device=device, acting_user=request.user)
            notice = f"Replacement code for {device.nickname} cancelled; the device keeps working."
        else:
            services.device_cancel(device=device, acting_user=request.user)
            notice = f"Registration of {device.nickname} cancelled; its license is free again."
    except ValidationError as exc:
        return _after_write(request, _error_text(exc), error=True)
    return _after_write(request, notice)


@device_writer_required
@require_POST
def email_resend(request: CompanyRequest, pk: int) -> HttpResponse:
    """Resend: queue a registration email again, to be sent within seconds."""
    email = registration_email_get_for_company(user=request.user, pk=pk)
    try:
        services.registration_email_resend(email=email, acting_user=request.user)
    except ValidationError as exc:
        return _after_write(request, _error_text(exc), error=True)
    return _after_write(request, f"The email to {email.recipient} will be sent again shortly.")


@company_member_required
def devices_report(request: CompanyRequest) -> StreamingHttpResponse:
    """
    DeviceReport.csv of the current search, streamed: its statistics (counted
    now, inside the company scope), then every registered device in it.
    """
    search = DeviceSearch.from_query(request.GET)
    statistics = device_report_statistics(user=request.user, search=search)
    time_zone = request.company.default_time_zone
    described = device_search_description(user=request.user, search=search)
    lines: Iterable[str | bytes]
    if connection.vendor == "postgresql":
        today = timezone.now().astimezone(zoneinfo.ZoneInfo(time_zone)).date()
        copy_sql = device_report_copy_sql(user=request.user, search=search, time_zone=time_zone, today=today)
        lines = report_copy_lines(
            copy_sql, statistics=statistics, company=request.company.name, search=described, time_zone=time_zone
        )
    else:
        rows = device_report_rows(user=request.user, search=search)
        lines = report_lines(
            rows, statistics=statistics, company=request.company.name, search=described, time_zone=time_zone
        )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="DeviceReport.csv"'
    response["Cache-Control"] = "no-store"
    return response


@company_member_required
def device_detail(request: CompanyRequest, pk: int) -> HttpResponse:
    """
    A device's page: its settings and what it reported, its license and last
    seen, the effective configuration exactly as ``GET /config`` serves it
    (with why each client is available, and its ETag), the actions of the
    list for those who may act on its team, and three paged lists: its
    documents, its trail (audit events) and its check-in history. 404 outside
    the user's reach (another company's device, another team's for a Team
    Administrator). A fixed number of queries whatever the lengths of the lists.
    """
    device = device_page_get(user=request.user, pk=pk)
    documents = paginate(device_documents(device_id=device.pk), request.GET.get("documents"), DOCUMENTS_PER_PAGE)
    trail = paginate(device_trail(device_id=device.pk), request.GET.get("trail"), TRAIL_PER_PAGE)
    history = paginate(device_history(device_id=device.pk), request.GET.get("history"), HISTORY_PER_PAGE)
    rows = list(history.object_list)
    older = history_older_row(device_id=device.pk, row=rows[-1]) if rows else None
    context = {
        "device": device,
        "can_act": can_write_team(request.user, team_id=device.team_id),
        "can_read_audit_log": can_read_audit_log(request.user),
        "open_code": device_open_code(device_id=device.pk),
        "effective": device_config_view(device=device),
        "documents": documents,
        "trail": trail,
        "history": history,
        "timeline": history_timeline(rows, older=older, zone=request.company.zone),
        "retention_days": settings.CHECK_IN_HISTORY_RETENTION_DAYS,
    }
    return render(request, DEVICE_DETAIL, context)


def _saved_views_answer(
    request: CompanyRequest,
    *,
    query: str,
    notice: str = "",
    error: bool = False,
    save_form: SavedViewForm | None = None,
    rename_form: tuple[int, SavedViewForm] | None = None,
) -> HttpResponse:
    """
    After a saved-view action. htmx: the Saved views panel again, with the
    outcome or the form's errors. Otherwise the page with the same list
    (``query``) and a message.
    """
    if request.htmx:
        context = {
            "saved_views": saved_view_list(user=request.user),
            "current_query": query,
            "save_form": save_form or SavedViewForm(initial={"query": query}),
            "rename_form": rename_form,
            "saved_views_notice": notice,
            "saved_views_notice_is_error": error,
        }
        return render(request, f"{ACTIVE_DEVICES}#saved-views", context)
    if notice:
        (messages.error if error else messages.success)(request, notice)
    return redirect(reverse("devices:active") + (f"?{query}" if query else "") + "#saved-views")


def _form_errors(form: SavedViewForm) -> str:
    return " ".join(str(message) for messages_ in form.errors.values() for message in messages_)


def _normalised_query(form: SavedViewForm) -> str:
    """The list the form was sent from, as the page itself writes its query string."""
    raw = str(form.data.get("query", ""))[:4000]
    return DeviceListState.from_query(QueryDict(raw)).as_query_string()


@company_member_required
@require_POST
def saved_view_create(request: CompanyRequest) -> HttpResponse:
    """Save current as…: the list as it is (search, filters, sort, page size) under a name."""
    form = SavedViewForm(request.POST)
    query = _normalised_query(form)
    if form.is_valid():
        try:
            view = services.saved_view_create(
                acting_user=request.user,
                name=form.cleaned_data["name"],
                state=DeviceListState.from_query(QueryDict(query)),
                is_shared=form.cleaned_data["is_shared"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            notice = f"View {view.name} saved" + (" and shared with the company." if view.is_shared else ".")
            return _saved_views_answer(request, query=query, notice=notice)
    if request.htmx:
        return _saved_views_answer(request, query=query, save_form=form)
    return _saved_views_answer(request, query=query, notice=_form_errors(form), error=True)


@company_member_required
@require_POST
def saved_view_rename(request: CompanyRequest, pk: int) -> HttpResponse:
    """Rename one's own saved view, and share or unshare it; another person's answers 404."""
    view = saved_view_get_for_owner(user=request.user, pk=pk)
    form = SavedViewForm(request.POST)
    query = _normalised_query(form)
    if form.is_valid():
        old_name = view.name
        try:
            services.saved_view_rename(
                acting_user=request.user,
                view=view,
                name=form.cleaned_data["name"],
                is_shared=form.cleaned_data["is_shared"],
            )
        except ValidationError as exc:
            view.name = old_name
            form.add_error(None, exc)
        else:
            return _saved_views_answer(request, query=query, notice=f"View {view.name} saved.")
    if request.htmx:
        return _saved_views_answer(request, query=query, rename_form=(view.pk, form))
    return _saved_views_answer(request, query=query, notice=_form_errors(form), error=True)


@company_member_required
@require_POST
def saved_view_delete(request: CompanyRequest, pk: int) -> HttpResponse:
    """Delete one's own saved view; another person's answers 404."""
    view = saved_view_get_for_owner(user=request.user, pk=pk)
    name = view.name
    services.saved_view_delete(acting_user=request.user, view=view)
    query = DeviceListState.from_query(QueryDict(str(request.POST.get("query", ""))[:4000])).as_query_string()
    return _saved_views_answer(request, query=query, notice=f"View {name} deleted.")


# The code sheet (``devices/views/code_sheet.py``).
# The selection bar's actions (``devices/views/bulk.py``); imported last, as
# they use this module's ``_toast``.
from backoffice.devices.views.bulk import bulk_action  # noqa: E402, F401
from backoffice.devices.views.code_sheet import code_sheet  # noqa: E402, F401
