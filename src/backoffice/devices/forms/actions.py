"""
The Device dialog's buttons other than OK (Add Email, Add, a recipient's
remove button, the Clients tab's Add and Delete, Refresh preview): each
changes what the dialog shows and shows it again, saving nothing.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from backoffice.core.text import id_parse
from backoffice.devices.forms.dialog import (
    ACTION_ADD_CLIENT,
    ACTION_ADD_CUSTOM,
    ACTION_ADD_EMPLOYEE,
    DIALOG_ACTIONS,
    DeviceEditForm,
    DeviceSettingsForm,
    _getlist,
    _unique_addresses,
)
from backoffice.devices.models import Device
from backoffice.devices.services import DEFAULT_CODE_LIFETIME, MAX_RECIPIENTS
from backoffice.organization.selectors import employee_recipient_choices, wholesale_client_pick
from backoffice.tenancy.models import User


def _initial_from(data: Any) -> dict[str, Any]:
    """Every setting of the dialog as posted, as the initial values of a form shown again."""
    initial: dict[str, Any] = {
        name: data.get(name, "")
        for name in (
            "team",
            "time_zone",
            "license",
            "nickname",
            "description",
            "email",
            "employee",
            "client_selection_type",
            "client_scope",
            "functionality_mode",
            "client_pick",
            "quantity",
            "nicknames",
        )
    }
    initial["as_many_as_licenses"] = data.get("as_many_as_licenses") in ("on", "true", "1")
    initial["expires_in"] = data.get("expires_in") or int(DEFAULT_CODE_LIFETIME.total_seconds() // 60)
    initial["include_area_clients"] = data.get("include_area_clients") in ("on", "true", "1")
    initial["functionality"] = _getlist(data, "functionality")
    initial["assigned_clients"] = _getlist(data, "assigned_clients")
    return initial


def dialog_action_form(*, data: Any, user: User, device: Device | None = None) -> DeviceSettingsForm:
    """
    Apply the button that was clicked other than OK (Add Email, Add, a
    recipient's remove button, the Clients tab's Add and Delete, Refresh
    preview) and return an unbound form showing the dialog again with
    everything else as entered. A problem with the button's field (no
    employee or client chosen, a bad address) is shown next to that field.
    """
    action = data.get("action", "")
    remove = data.get("remove_recipient", "")
    recipients = _unique_addresses(_getlist(data, "recipients"), drop=remove)
    initial = _initial_from(data)
    errors: dict[str, str] = {}
    new_address = ""
    if action == ACTION_ADD_EMPLOYEE:
        chosen = id_parse(data.get("employee", ""))
        employee = employee_recipient_choices(user=user).filter(pk=chosen).first() if chosen is not None else None
        if employee is None:
            errors["employee"] = "Select an employee, then click Add Email."
        else:
            new_address = employee.email
            initial["employee"] = ""
    elif action == ACTION_ADD_CUSTOM:
        new_address = str(data.get("email", "")).strip()
        try:
            validate_email(new_address)
        except ValidationError:
            errors["email"] = "Enter a valid email address, then click Add."
            new_address = ""
        else:
            initial["email"] = ""
    elif action == ACTION_ADD_CLIENT:
        client, problem = wholesale_client_pick(text=str(data.get("client_pick", ""))[:200])
        if client is None:
            errors["client_pick"] = problem
        else:
            assigned = [str(value) for value in initial["assigned_clients"]]
            if str(client.pk) not in assigned:
                assigned.append(str(client.pk))
            initial["assigned_clients"] = assigned
            initial["client_pick"] = ""
    if "remove_client" in data:
        initial["assigned_clients"] = [v for v in initial["assigned_clients"] if v != str(data.get("remove_client"))]
    if new_address and new_address.lower() not in {r.lower() for r in recipients}:
        if len(recipients) >= MAX_RECIPIENTS:
            errors["recipients"] = f"At most {MAX_RECIPIENTS} recipients."
        else:
            recipients.append(new_address)
    initial["recipients"] = recipients
    form: DeviceSettingsForm
    if device is None:
        form = DeviceSettingsForm(initial=initial, user=user)
    else:
        form = DeviceEditForm(initial=initial, user=user, device=device)
    form.extra_errors = errors
    form.tab = str(data.get("tab", ""))
    return form


def is_dialog_action(data: Any) -> bool:
    """Whether the post is a button of the dialog other than OK."""
    return data.get("action", "") in DIALOG_ACTIONS or "remove_recipient" in data or "remove_client" in data
