"""
The Active Devices page and the Device dialog's endpoints: parse, call a
selector or a service, render.

Longer than the usual 300 lines: the page and each endpoint of the dialog
(add, edit, preview, the client search, delete, replace, cancel, resend, the
report) are thin views that share the dialog's rendering and the answer
after a write.
"""

from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from backoffice.core.charts import pie_slices
from backoffice.core.pagination import paginate
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
from backoffice.devices.models import Device
from backoffice.devices.report import report_lines
from backoffice.devices.selectors import (
    DEFAULT_DEVICE_SORT,
    DEVICE_SORTS,
    DeviceSearch,
    device_get_for_company,
    device_registered_list,
    device_report_rows,
    device_version_breakdown,
    pending_registration_list,
    registration_email_get_for_company,
)
from backoffice.licensing.selectors import license_counts
from backoffice.organization.selectors import wholesale_client_search
from backoffice.tenancy.http import CompanyRequest
from backoffice.tenancy.permissions import company_member_required, device_writer_required

ACTIVE_DEVICES = "devices/active_devices.html"
# The Search pane's boxes as the page names them ("v" is the versions chart's link).
SEARCH_LABELS = {
    "team": "Team",
    "license": "License",
    "nickname": "Nickname",
    "platform": "Platform",
    "version": "Version",
    "v": "Version",
}
DEVICE_DIALOG = "devices/device_dialog.html"
DEVICE_DELETE = "devices/device_delete.html"


@company_member_required
def active_devices(request: CompanyRequest) -> HttpResponse:
    """
    The Active Devices page: license counts, the versions chart, Pending
    Registrations and the registered devices; the list, the chart and the
    report follow the search in the URL.
    """
    sort = request.GET.get("sort", DEFAULT_DEVICE_SORT)
    if sort not in DEVICE_SORTS:
        sort = DEFAULT_DEVICE_SORT
    descending = request.GET.get("dir") == "desc"
    search = DeviceSearch.from_query(request.GET)
    partial = bool(request.htmx and not request.htmx.boosted)
    if search.ignored and not partial:
        messages.warning(request, search_ignored_message(SEARCH_LABELS.get(name, name) for name in search.ignored))
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
        "pending": pending_registration_list(user=request.user),
    }
    template = ACTIVE_DEVICES
    if partial:
        template += "#device-table"
    return render(request, template, context)


def _pending_fragment(request: CompanyRequest, *, notice: str = "", notice_is_error: bool = False) -> HttpResponse:
    """The Pending Registrations section, with the license counts swapped out of band."""
    context = {
        "pending": pending_registration_list(user=request.user),
        "counts": license_counts(),
        "notice": notice,
        "notice_is_error": notice_is_error,
        "oob": True,
    }
    html = render_to_string(f"{ACTIVE_DEVICES}#pending-registrations", context, request=request)
    html += render_to_string(f"{ACTIVE_DEVICES}#license-counts", context, request=request)
    return HttpResponse(html)


def _after_write(request: CompanyRequest, notice: str, *, error: bool = False) -> HttpResponse:
    """htmx: the refreshed section with the outcome; otherwise back to the page with a message."""
    if request.htmx:
        return _pending_fragment(request, notice=notice, notice_is_error=error)
    (messages.error if error else messages.success)(request, notice)
    return redirect(reverse("devices:active") + "#pending-registrations")


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@company_member_required
def pending_registrations(request: CompanyRequest) -> HttpResponse:
    """The Pending Registrations section alone, polled by the page every few seconds."""
    if not request.htmx:
        return redirect(reverse("devices:active") + "#pending-registrations")
    return _pending_fragment(request)


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
                    if request.htmx:
                        # The event's plain-name form, which clients of this page rely on;
                        # django-htmx's trigger_client_event would send it as JSON.
                        response = HttpResponse(status=204)
                        response["HX-Trigger"] = "registrations-changed"
                        return response
                    messages.success(
                        request, f"{device.nickname} added. Its registration code is shown in Pending Registrations."
                    )
                    return redirect(reverse("devices:active") + "#pending-registrations")
    else:
        form = DeviceSettingsForm(user=request.user)
    return _render_dialog(request, form, form_action=reverse("devices:add"), refocus=refocus)


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


def _back_to_list(request: CompanyRequest, notice: str) -> HttpResponse:
    """After Edit or Delete: the Active Devices page again, with a message naming the device."""
    messages.success(request, notice)
    if request.htmx:
        # From the dialog on the list, reload the list as it is (search kept);
        # from the Edit page itself, go to the list.
        list_url = reverse("devices:active")
        response: HttpResponse = (
            HttpResponseClientRefresh()
            if urlsplit(request.htmx.current_url or "").path == list_url
            else HttpResponseClientRedirect(list_url)
        )
        # No content: htmx acts on the header alone, and the dialog is left as it is.
        response.status_code = 204
        return response
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
    return _back_to_list(request, f"{device.nickname} deleted{license_note}.")


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
