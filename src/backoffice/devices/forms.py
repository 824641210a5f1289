"""Forms of the Device dialog."""

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from backoffice.core.timezones import time_zone_choices
from backoffice.devices.choices import ClientScope, ClientSelectionType, FunctionalityMode
from backoffice.tenancy.choices import Functionality
from backoffice.devices.models import Device
from backoffice.devices.selectors import (
    ConfigPreview,
    device_document_clients,
    effective_preview,
    wholesale_client_pick,
    wholesale_client_search,
)
from backoffice.devices.services import CODE_LIFETIMES, DEFAULT_CODE_LIFETIME, MAX_RECIPIENTS
from backoffice.licensing.models import License
from backoffice.licensing.selectors import license_free_list
from backoffice.organization.models import Client, Employee, Team
from backoffice.organization.selectors import employee_recipient_choices, team_visible_queryset
from backoffice.tenancy.models import User

USE_TEAM_TIME_ZONE = "(Use Team's default time zone)"

# Buttons of the dialog other than OK: they change the Recipients box and
# show the form again, with htmx or as a normal form round-trip.
ACTION_ADD_EMPLOYEE = "add_employee"
ACTION_ADD_CUSTOM = "add_custom"
# The Clients tab's Add button, and the button that refreshes the preview
# without JavaScript. Delete buttons send ``remove_client``.
ACTION_ADD_CLIENT = "add_client"
ACTION_PREVIEW = "preview"
DIALOG_ACTIONS = (ACTION_ADD_EMPLOYEE, ACTION_ADD_CUSTOM, ACTION_ADD_CLIENT, ACTION_PREVIEW)

# The dialog's tabs and the fields on each, to open the tab of the first error.
TABS = ("settings", "clients", "functionality")
CLIENT_FIELDS = ("client_selection_type", "client_scope", "include_area_clients", "assigned_clients", "client_pick")
FUNCTIONALITY_FIELDS = ("functionality_mode", "functionality")


class LicenseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: License) -> str:
        expiry = f"expires {obj.expires_on:%Y-%m-%d}" if obj.expires_on else "no expiry"
        return f"{obj.number} · {obj.get_license_type_display()} · {expiry}"


class DeviceSettingsForm(forms.Form):
    """
    The Device Settings tab for a new device.

    ``recipients`` comes as one hidden input per address (the Recipients
    box); ``email`` is one more custom address, added to the recipients when
    the form is saved. No recipient is required: the code is also shown in
    the Pending Registrations section.
    """

    team: "forms.ModelChoiceField[Team]" = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    time_zone = forms.ChoiceField(label="Time Zone", required=False)
    license = LicenseChoiceField(
        queryset=License.objects.none(),
        label="Lic.#",
        empty_label="Select a license",
        error_messages={"invalid_choice": "Select one of the free licenses in the list."},
    )
    nickname = forms.CharField(
        max_length=64, help_text="Helps you find the device among the others, e.g. “Detail bay iPad 2”."
    )
    description = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example, that several team members share the device.",
    )
    email = forms.EmailField(
        required=False, max_length=254, label="Email", help_text="A custom address to send the code to."
    )
    expires_in = forms.TypedChoiceField(
        label="Expires In",
        choices=[(int(lifetime.total_seconds() // 60), label) for lifetime, label in CODE_LIFETIMES],
        coerce=int,
        initial=int(DEFAULT_CODE_LIFETIME.total_seconds() // 60),
        help_text="Time the technician has to enter the code.",
    )
    employee: "forms.ModelChoiceField[Employee]" = forms.ModelChoiceField(
        queryset=Employee.objects.none(), required=False, empty_label="Select an employee"
    )
    recipients = forms.CharField(required=False, widget=forms.MultipleHiddenInput)

    client_selection_type = forms.ChoiceField(
        label="Client Selection Type",
        choices=ClientSelectionType.choices,
        initial=ClientSelectionType.BOTH,
        widget=forms.RadioSelect,
        required=False,
    )
    client_scope = forms.ChoiceField(
        label="All or Selected",
        choices=ClientScope.choices,
        initial=ClientScope.ALL,
        widget=forms.RadioSelect,
        required=False,
    )
    include_area_clients = forms.BooleanField(
        label="Include ALL from Area",
        required=False,
        help_text="Adds every client of the area that the device's team is assigned to.",
    )
    assigned_clients = forms.CharField(required=False, widget=forms.MultipleHiddenInput)
    client_pick = forms.CharField(
        label="Wholesale client",
        required=False,
        max_length=200,
        help_text="Type part of a name, choose the client from the list, then click Add.",
    )
    functionality_mode = forms.ChoiceField(
        label="Allowed Functionality",
        choices=FunctionalityMode.choices,
        initial=FunctionalityMode.COMPANY,
        widget=forms.RadioSelect,
        required=False,
    )
    functionality = forms.MultipleChoiceField(
        label="Custom functionality",
        required=False,
        choices=Functionality.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        teams = team_visible_queryset(user=user).order_by("-is_default", "name")
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        self.fields["team"].widget.attrs["autofocus"] = True
        if user.is_team_administrator:
            self.fields["team"].initial = user.team_id
            self.fields["team"].error_messages["invalid_choice"] = "Team Administrators may pick only their own team."
        else:
            self.fields["team"].error_messages["invalid_choice"] = "Select one of your company's teams."
        self.fields["time_zone"].choices = [("", USE_TEAM_TIME_ZONE), *time_zone_choices()]  # type: ignore[attr-defined]
        self.fields["time_zone"].error_messages["invalid_choice"] = "Select a time zone from the list."
        self.free_licenses = list(license_free_list())
        # Any license of the company is accepted here, so that one taken or
        # expired since the dialog opened gets a precise error in clean_license.
        self.fields["license"].queryset = License.objects.all()  # type: ignore[attr-defined]
        self.fields["license"].widget.choices = [("", "Select a license")] + [  # type: ignore[attr-defined]
            (str(lic.pk), self.fields["license"].label_from_instance(lic))  # type: ignore[attr-defined]
            for lic in self.free_licenses
        ]
        self.fields["employee"].queryset = employee_recipient_choices(user=user)  # type: ignore[attr-defined]
        self.fields["employee"].label_from_instance = lambda e: f"{e.name} ({e.team.name})"  # type: ignore[attr-defined]

        self.extra_errors: dict[str, str] = {}
        source = self.data if self.is_bound else {"recipients": self.initial.get("recipients", [])}
        self.recipients_shown = _unique_addresses(_getlist(source, "recipients"))

        company = user.company
        self.company = company
        if company is None or not company.area_support:
            del self.fields["include_area_clients"]
        self.fields["functionality"].initial = self.initial.get(
            "functionality", list(company.default_functionality or []) if company else []
        )
        self.fields["client_pick"].widget.attrs.update({"list": "client-options", "autocomplete": "off"})
        self.device_id: int | None = None
        self.tab = ""

    def value(self, name: str) -> Any:
        """The value of a field as the dialog shows it: posted, else initial."""
        if self.is_bound:
            if name in ("functionality", "assigned_clients"):
                return _getlist(self.data, name)
            return self.data.get(name, "")
        value = self.initial.get(name, self.fields[name].initial if name in self.fields else None)
        return value if value is not None else ""

    @property
    def client_pick_text(self) -> str:
        return str(self.value("client_pick") or "")

    @property
    def assigned_ids(self) -> list[int]:
        """The Assigned Clients box as ids, in order, without duplicates; other values are dropped."""
        raw = _getlist(self.data, "assigned_clients") if self.is_bound else self.initial.get("assigned_clients", [])
        ids: list[int] = []
        for value in raw:
            text = str(value)
            if text.isdigit() and len(text) <= 12 and int(text) not in ids:
                ids.append(int(text))
        return ids

    @property
    def selection_type(self) -> str:
        value = str(self.value("client_selection_type"))
        return value if value in ClientSelectionType.values else ClientSelectionType.BOTH

    @property
    def scope(self) -> str:
        value = str(self.value("client_scope"))
        return value if value in ClientScope.values else ClientScope.ALL

    @property
    def selected_is_offered(self) -> bool:
        """Selected needs a type with wholesale: retail clients cannot be selected one by one."""
        return self.selection_type != ClientSelectionType.RETAIL

    @property
    def include_area(self) -> bool:
        if "include_area_clients" not in self.fields:
            return False
        value = self.value("include_area_clients")
        return value is True or str(value).lower() in ("on", "true", "1")

    @property
    def mode(self) -> str:
        value = str(self.value("functionality_mode"))
        return value if value in FunctionalityMode.values else FunctionalityMode.COMPANY

    @property
    def functionality_values(self) -> list[str]:
        """
        The ticked Custom check boxes; under Use Company Settings the
        company's set, which Custom starts from (the boxes are not posted
        while they are disabled).
        """
        if self.mode == FunctionalityMode.COMPANY:
            return list(self.company.default_functionality or []) if self.company else []
        return [str(v) for v in self.value("functionality") or [] if str(v) in Functionality.values]

    @property
    def assigned_shown(self) -> list[Client]:
        """The company's clients in the Assigned Clients box, in the order added."""
        ids = self.assigned_ids
        found = {client.pk: client for client in Client.objects.filter(pk__in=ids)}
        return [found[pk] for pk in ids if pk in found]

    @property
    def document_clients(self) -> list[Client]:
        """Wholesale clients of the device's documents that are not in the box (Edit only)."""
        if self.device_id is None:
            return []
        assigned = set(self.assigned_ids)
        return [c for c in device_document_clients(device_id=self.device_id) if c.pk not in assigned]

    @property
    def client_options(self) -> list[Client]:
        return wholesale_client_search(q="")

    def preview_team(self) -> Team | None:
        teams = self.fields["team"].queryset  # type: ignore[attr-defined]
        chosen = str(self.value("team"))
        team = teams.filter(pk=int(chosen)).first() if chosen.isdigit() and len(chosen) <= 12 else None
        return team or teams.first()

    def preview(self) -> ConfigPreview | None:
        """The effective configuration of the settings shown, saved or not."""
        team = self.preview_team()
        if team is None or self.company is None:
            return None
        return effective_preview(
            company=self.company,
            team=team,
            client_selection_type=self.selection_type,
            client_scope=self.scope,
            include_area_clients=self.include_area,
            assigned_client_ids=self.assigned_ids,
            functionality_mode=self.mode,
            functionality=self.functionality_values,
            device_id=self.device_id,
        )

    def active_tab(self) -> str:
        """The tab of the first error, else the one the person was on."""
        errors = set(self.errors) if self.is_bound else set()
        errors |= set(self.extra_errors)
        if not errors & {*CLIENT_FIELDS, *FUNCTIONALITY_FIELDS} and errors:
            return "settings"
        if errors & set(CLIENT_FIELDS):
            return "clients"
        if errors & set(FUNCTIONALITY_FIELDS):
            return "functionality"
        return self.tab if self.tab in TABS else "settings"

    def clean_assigned_clients(self) -> list[int]:
        for value in _getlist(self.data, "assigned_clients"):
            if not str(value).isdigit() or len(str(value)) > 12:
                raise ValidationError("Select clients from the list.")
        return self.assigned_ids

    def service_kwargs(self) -> dict[str, Any]:
        """
        The Clients and Allowed Functionality tabs as ``device_add`` and
        ``device_update`` take them. A tab whose radio buttons were not posted
        at all (a client that predates the tab) is left out, so the service
        keeps the device's values, or its defaults for a new device.
        """
        data = self.cleaned_data
        kwargs: dict[str, Any] = {}
        if "client_selection_type" in self.data or "client_scope" in self.data:
            kwargs.update(
                client_selection_type=data["client_selection_type"] or self.selection_type,
                client_scope=data["client_scope"] or ClientScope.ALL,
                include_area_clients=bool(data.get("include_area_clients", False)),
                assigned_client_ids=data["assigned_clients"],
            )
        if "functionality_mode" in self.data:
            kwargs.update(
                functionality_mode=data["functionality_mode"] or self.mode, functionality=data["functionality"]
            )
        return kwargs

    def clean_license(self) -> License:
        license = self.cleaned_data["license"]
        if not license.is_active:
            raise ValidationError(f"License {license.number} is {license.get_status_display().lower()}; pick another.")
        if all(free.pk != license.pk for free in self.free_licenses):
            raise ValidationError(f"License {license.number} was just taken; pick another.")
        return license

    def clean_nickname(self) -> str:
        nickname = self.cleaned_data["nickname"].strip()
        if not nickname:
            raise ValidationError("Enter a nickname.")
        return nickname

    def clean_recipients(self) -> list[str]:
        addresses = self.recipients_shown
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"“{address}” is not a valid email address; remove it.") from None
        return addresses

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        recipients = list(cleaned.get("recipients") or [])
        email = cleaned.get("email")
        if email and email.lower() not in {r.lower() for r in recipients}:
            recipients.append(email)
        if len(recipients) > MAX_RECIPIENTS:
            self.add_error("recipients", f"At most {MAX_RECIPIENTS} recipients.")
        cleaned["all_recipients"] = recipients
        return cleaned

    @property
    def expires_in_delta(self) -> datetime.timedelta:
        return datetime.timedelta(minutes=self.cleaned_data["expires_in"])


def _getlist(data: Any, key: str) -> list[str]:
    if hasattr(data, "getlist"):
        return [str(value) for value in data.getlist(key)]
    value = data.get(key, [])
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _unique_addresses(addresses: list[str], *, drop: str = "") -> list[str]:
    """Strip, drop empties, ``drop`` and case-insensitive duplicates; keep the order."""
    seen = {drop.strip().lower()} if drop.strip() else set()
    result = []
    for raw in addresses:
        address = raw.strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            result.append(address)
    return result


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
        )
    }
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
        chosen = str(data.get("employee", ""))
        employee = employee_recipient_choices(user=user).filter(pk=int(chosen)).first() if chosen.isdigit() else None
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


class DeviceEditForm(DeviceSettingsForm):
    """
    The Device Settings tab of an existing device: the same settings without
    the registration email (Replace issues and emails a new code). The
    device's own license stays selectable whatever its status, beside the
    free ones.
    """

    EMAIL_FIELDS = ("email", "expires_in", "employee", "recipients")

    def __init__(self, *args: Any, user: User, device: Device, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "team": device.team_id,
                "time_zone": device.time_zone,
                "license": device.license_id,
                "nickname": device.nickname,
                "description": device.description,
                "client_selection_type": device.client_selection_type,
                "client_scope": device.client_scope,
                "include_area_clients": device.include_area_clients,
                "assigned_clients": [
                    str(pk) for pk in device.client_links.order_by("pk").values_list("client_id", flat=True)
                ],
                "functionality_mode": device.functionality_mode,
                "functionality": (
                    device.functionality
                    if device.functionality_mode == FunctionalityMode.CUSTOM
                    else list(device.company.default_functionality or [])
                ),
            },
        )
        super().__init__(*args, user=user, **kwargs)
        self.device = device
        self.device_id = device.pk
        for name in self.EMAIL_FIELDS:
            del self.fields[name]
        if device.license is not None and all(lic.pk != device.license_id for lic in self.free_licenses):
            self.free_licenses.insert(0, device.license)
            self.fields["license"].widget.choices = [("", "Select a license")] + [  # type: ignore[attr-defined]
                (str(lic.pk), self.fields["license"].label_from_instance(lic))  # type: ignore[attr-defined]
                for lic in self.free_licenses
            ]

    def clean_license(self) -> License:
        license = self.cleaned_data["license"]
        if license.pk == self.device.license_id:
            return license
        return super().clean_license()

    def clean_recipients(self) -> list[str]:
        return []

    def clean(self) -> dict[str, Any]:
        return forms.Form.clean(self) or {}
