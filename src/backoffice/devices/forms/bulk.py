"""
The forms of the selection bar's actions: the selection itself (ids checked
on the page, or every device matching the list's search) and each action's
settings.
"""

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from backoffice.core.timezones import time_zone_choices
from backoffice.devices.choices import ClientScope, ClientSelectionType, FunctionalityMode
from backoffice.devices.clients import ClientSettings
from backoffice.devices.selectors.bulk import bulk_clients_choices
from backoffice.devices.services import CODE_LIFETIMES, DEFAULT_CODE_LIFETIME
from backoffice.organization.models import Client, Team
from backoffice.organization.selectors import team_choices
from backoffice.tenancy.choices import Functionality
from backoffice.tenancy.models import User

ID_MAX_DIGITS = 18
# Ids posted one by one (the checked rows; Django takes at most 1,000 fields a
# request). Larger selections are "all matching this search".
MAX_CHECKED_IDS = 900


class DeviceIdsField(forms.Field):
    """The checked rows' device ids: distinct positive numbers, sorted."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        if len(values) > MAX_CHECKED_IDS:
            raise ValidationError(
                f"Check at most {MAX_CHECKED_IDS} rows; for more, select all devices matching the search."
            )
        ids = set()
        for item in values:
            text = str(item)
            if not (text.isascii() and text.isdigit() and 0 < len(text) <= ID_MAX_DIGITS and int(text) > 0):
                raise ValidationError("Select devices from the list.")
            ids.add(int(text))
        return sorted(ids)


class BulkSelectionForm(forms.Form):
    """What is selected: ``ids``, or ``all_matching`` with the list's ``query`` string."""

    ids = DeviceIdsField(required=False)
    all_matching = forms.BooleanField(required=False)
    query = forms.CharField(required=False, max_length=2000, strip=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not self.errors and not data.get("all_matching") and not data.get("ids"):
            raise ValidationError("Select at least one device.")
        return data

    def hidden(self) -> list[tuple[str, str]]:
        """The selection as hidden fields, carried from the confirmation to OK."""
        data = self.cleaned_data
        if data.get("all_matching"):
            return [("all_matching", "on"), ("query", data.get("query", ""))]
        return [("ids", str(pk)) for pk in data.get("ids", [])]


class BulkActionForm(forms.Form):
    """An action's settings; ``service_kwargs`` is what its service takes besides the actor and the ids."""

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict[str, Any]:
        return {}


class BulkMoveForm(BulkActionForm):
    team: "forms.ModelChoiceField[Team]" = forms.ModelChoiceField(
        queryset=None, label="Move to team", empty_label="Select a team"
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["team"].queryset = team_choices(user=user)  # type: ignore[attr-defined]
        self.fields["team"].error_messages["invalid_choice"] = "Select a team you may change."

    def service_kwargs(self) -> dict[str, Any]:
        return {"team": self.cleaned_data["team"]}


class BulkTimeZoneForm(BulkActionForm):
    time_zone = forms.ChoiceField(label="Time Zone", required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["time_zone"].choices = [("", "Each device's team default"), *time_zone_choices()]  # type: ignore[attr-defined]

    def service_kwargs(self) -> dict[str, Any]:
        return {"time_zone": self.cleaned_data["time_zone"]}


class BulkClientsForm(BulkActionForm):
    client_selection_type = forms.ChoiceField(
        label="Client Selection Type",
        choices=ClientSelectionType.choices,
        initial=ClientSelectionType.BOTH,
        widget=forms.RadioSelect,
    )
    client_scope = forms.ChoiceField(
        label="All or Selected", choices=ClientScope.choices, initial=ClientScope.ALL, widget=forms.RadioSelect
    )
    include_area_clients = forms.BooleanField(
        label="Include ALL from Area",
        required=False,
        help_text="Adds every client of the area that each device's team is assigned to.",
    )
    assigned_clients: "forms.ModelMultipleChoiceField[Client]" = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        label="Assigned Clients",
        help_text="Wholesale clients, with Selected. They replace each device's current Assigned Clients.",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["assigned_clients"].queryset = bulk_clients_choices()  # type: ignore[attr-defined]
        self.fields["assigned_clients"].error_messages["invalid_choice"] = "Select clients from the list."
        self.fields["assigned_clients"].error_messages["invalid_pk_value"] = "Select clients from the list."

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "clients": ClientSettings(
                client_selection_type=data["client_selection_type"],
                client_scope=data["client_scope"],
                include_area_clients=data["include_area_clients"],
                assigned_client_ids=tuple(client.pk for client in data["assigned_clients"]),
            )
        }


class BulkFunctionalityForm(BulkActionForm):
    functionality_mode = forms.ChoiceField(
        label="Allowed Functionality",
        choices=FunctionalityMode.choices,
        initial=FunctionalityMode.COMPANY,
        widget=forms.RadioSelect,
    )
    functionality = forms.MultipleChoiceField(
        label="Custom functionality", required=False, choices=Functionality.choices, widget=forms.CheckboxSelectMultiple
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("functionality_mode") == FunctionalityMode.COMPANY:
            data["functionality"] = []
        return data

    def service_kwargs(self) -> dict[str, Any]:
        return {
            "functionality_mode": self.cleaned_data["functionality_mode"],
            "functionality": self.cleaned_data["functionality"],
        }


class BulkReplaceForm(BulkActionForm):
    expires_in = forms.TypedChoiceField(
        label="Expires In",
        choices=[(int(lifetime.total_seconds() // 60), label) for lifetime, label in CODE_LIFETIMES],
        coerce=int,
        initial=int(DEFAULT_CODE_LIFETIME.total_seconds() // 60),
        help_text="Time the technicians have to enter the new codes.",
    )

    def service_kwargs(self) -> dict[str, Any]:
        return {"expires_in": datetime.timedelta(minutes=self.cleaned_data["expires_in"])}


class BulkDeleteForm(BulkActionForm):
    """Delete has no settings: its confirmation is all there is."""


BULK_FORMS: dict[str, type[BulkActionForm]] = {
    "move": BulkMoveForm,
    "time_zone": BulkTimeZoneForm,
    "clients": BulkClientsForm,
    "functionality": BulkFunctionalityForm,
    "replace": BulkReplaceForm,
    "delete": BulkDeleteForm,
}
