"""
The selection bar's actions on the Active Devices list: one endpoint per
action, in three steps posted from the same dialog: the action's settings,
the confirmation that counts and names what will change (the selection
evaluated again), and OK, which runs the service (the selection evaluated a
third time) and answers with a toast and the list refreshed.

Viewers, who see no selection controls, get 404 here, as for another
company's device.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from backoffice.devices import services
from backoffice.devices.forms.bulk import BULK_FORMS, BulkSelectionForm
from backoffice.devices.models import Device
from backoffice.devices.selectors.bulk import (
    BulkPreview,
    bulk_clients_preview,
    bulk_delete_preview,
    bulk_functionality_preview,
    bulk_matching_ids,
    bulk_move_preview,
    bulk_replace_preview,
    bulk_selection_check,
    bulk_selection_devices,
    bulk_time_zone_preview,
)
from backoffice.devices.views import _toast
from backoffice.tenancy.http import CompanyRequest
from backoffice.tenancy.permissions import company_member_required

BULK_DIALOG = "devices/bulk_dialog.html"

TITLES = {
    "move": "Move to team",
    "time_zone": "Set time zone",
    "clients": "Set Clients tab",
    "functionality": "Set Allowed Functionality",
    "replace": "Replace codes",
    "delete": "Delete",
}


def _preview(action: str, devices: list[Device], kwargs: dict[str, Any]) -> BulkPreview:
    if action == "move":
        return bulk_move_preview(devices=devices, **kwargs)
    if action == "time_zone":
        return bulk_time_zone_preview(devices=devices, **kwargs)
    if action == "clients":
        return bulk_clients_preview(devices=devices, **kwargs)
    if action == "functionality":
        return bulk_functionality_preview(devices=devices, **kwargs)
    if action == "replace":
        return bulk_replace_preview(devices=devices)
    return bulk_delete_preview(devices=devices)


def _run(action: str, request: CompanyRequest, ids: list[int], kwargs: dict[str, Any]) -> services.BulkResult:
    runs: dict[str, Callable[..., services.BulkResult]] = {
        "move": services.devices_bulk_move,
        "time_zone": services.devices_bulk_time_zone,
        "clients": services.devices_bulk_clients,
        "functionality": services.devices_bulk_functionality,
        "replace": services.devices_bulk_replace_codes,
        "delete": services.devices_bulk_delete,
    }
    return runs[action](acting_user=request.user, ids=ids, **kwargs)


def _selected_ids(request: CompanyRequest, selection: BulkSelectionForm) -> list[int]:
    data = selection.cleaned_data
    if data.get("all_matching"):
        ids = bulk_matching_ids(user=request.user, query=data.get("query", ""), limit=services.MAX_BULK_DEVICES)
        if len(ids) > services.MAX_BULK_DEVICES:
            raise ValidationError(
                f"This search matches more than {services.MAX_BULK_DEVICES:,} devices: narrow it down first."
            )
        if not ids:
            raise ValidationError("No device matches this search any more.")
        return ids
    return list(data["ids"])


@company_member_required
@require_POST
def bulk_action(request: CompanyRequest, action: str) -> HttpResponse:
    """
    ``step`` "" shows the action's settings (or, for an action without any,
    the confirmation), "review" the confirmation, "confirm" runs it.
    """
    if action not in BULK_FORMS or not request.user.can_write:
        raise Http404("No such action")
    selection = BulkSelectionForm(request.POST)
    step = request.POST.get("step", "")
    form_class = BULK_FORMS[action]
    has_settings = bool(form_class.base_fields)
    form = form_class(request.POST if step in ("review", "confirm") or not has_settings else None, user=request.user)
    context: dict[str, Any] = {"action": action, "title": TITLES[action], "form": form, "selection": selection}
    if not selection.is_valid():
        context["error"] = " ".join(str(e) for errors in selection.errors.values() for e in errors)
        return _dialog(request, context, status=200)
    try:
        ids = _selected_ids(request, selection)
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
        return _dialog(request, context)
    if step == "confirm":
        # The service locks, reads and checks the devices itself: here only
        # the cheap check that every id is one the user may act on.
        context["count"] = bulk_selection_check(user=request.user, ids=ids)
        if not form.is_valid():
            return _dialog(request, context)
        kwargs = form.service_kwargs()
    else:
        devices = bulk_selection_devices(user=request.user, ids=ids)
        context["count"] = len(devices)
        if (step != "review" and has_settings) or not form.is_valid():
            return _dialog(request, context)
        kwargs = form.service_kwargs()
        context["preview"] = _preview(action, devices, kwargs)
        return _dialog(request, context)
    try:
        result = _run(action, request, ids, kwargs)
    except PermissionDenied:
        raise Http404("No such device") from None
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
        return _dialog(request, context)
    if request.htmx:
        response = _toast(HttpResponse(status=204), result.message, wait_for="device-table")
        trigger_client_event(response, "devices-changed")
        trigger_client_event(response, "selection-done")
        return trigger_client_event(response, "registrations-changed")
    messages.success(request, result.message)
    return redirect(reverse("devices:active"))


def _dialog(request: CompanyRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    context["form_action"] = reverse("devices:bulk", args=[context["action"]])
    context["hidden"] = context["selection"].hidden() if context["selection"].is_valid() else []
    if request.htmx:
        template = BULK_DIALOG + ("#bulk-form" if request.POST.get("step") else "#bulk-dialog")
    else:
        template = BULK_DIALOG
    return render(request, template, context, status=status)
