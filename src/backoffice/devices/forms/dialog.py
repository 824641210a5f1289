"""
The Device dialog's form: the Device Settings, Clients and Allowed
Functionality tabs of a new device (``DeviceSettingsForm``) and of an
existing one (``DeviceEditForm``). What the dialog shows from the database
besides the fields is read by ``device_dialog_reads``, called by the view.

Longer than the usual 300 lines: one form class, whose fields, the parsing
of the dialog's three tabs and its cleaning belong together.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from backoffice.core.forms import TimeZoneField
from backoffice.core.text import TextRulesFormMixin, id_parse
from backoffice.devices.choices import ClientScope, ClientSelectionType, FunctionalityMode
from backoffice.devices.clients import ClientSettings
from backoffice.devices.models import Device
from backoffice.devices.selectors.dialog import DialogReads, device_dialog_reads
from backoffice.devices.selectors.registration import pending_nickname_taken
from backoffice.devices.services import BATCH_MAX, CODE_LIFETIMES, DEFAULT_CODE_LIFETIME, MAX_RECIPIENTS
from backoffice.devices.services.settings import batch_nicknames_check
from backoffice.licensing.models import License
from backoffice.licensing.selectors import license_free_list, license_list
from backoffice.organization.models import Employee, Team
from backoffice.organization.selectors import employee_recipient_choices, team_visible_queryset
from backoffice.tenancy.choices import Functionality
from backoffice.tenancy.models import User

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

# Warnings, not refusals: the first OK shows them beside the OK button, which
# then reads "Save anyway"; the form re-sends their keys as ``acknowledged``
# and the second OK saves. A key names what was acknowledged (the nickname
# itself), so a warning about another value is shown again.
WARNING_NO_CLIENTS = "no_clients"


@dataclass(frozen=True)
class DialogWarning:
    key: str
    message: str


class LicenseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: License) -> str:
        expiry = f"expires {obj.expires_on:%Y-%m-%d}" if obj.expires_on else "no expiry"
        return f"{obj.number} · {obj.get_license_type_display()} · {expiry}"


class DeviceSettingsForm(TextRulesFormMixin, forms.Form):
    """
    The Device Settings tab for a new device.

    ``recipients`` comes as one hidden input per address (the Recipients
    box); ``email`` is one more custom address, added to the recipients when
    the form is saved. No recipient is required: the code is also shown in
    the Pending Registrations section.
    """

    team: "forms.ModelChoiceField[Team]" = forms.ModelChoiceField(queryset=None, empty_label=None)
    time_zone = TimeZoneField(label="Time Zone", required=False)
    license = LicenseChoiceField(
        queryset=None,
        label="Lic.#",
        empty_label="Select a license",
        error_messages={"invalid_choice": "Select one of the free licenses in the list."},
    )
    nickname = forms.CharField(
        max_length=64,
        required=False,
        help_text="Helps you find the device among the others, e.g. “Detail bay iPad 2”. "
        "With a quantity, the devices are numbered after it: “Van tablet 01”, “Van tablet 02”…",
    )
    quantity = forms.IntegerField(
        label="Quantity",
        required=False,
        min_value=1,
        max_value=BATCH_MAX,
        initial=1,
        error_messages={
            "min_value": f"Enter a number of devices from 1 to {BATCH_MAX}.",
            "max_value": f"Enter a number of devices from 1 to {BATCH_MAX}.",
            "invalid": f"Enter a whole number of devices from 1 to {BATCH_MAX}.",
        },
        help_text=f"Up to {BATCH_MAX} devices with the same settings; each takes its own free license and code.",
    )
    nicknames = forms.CharField(
        label="Or names, one a line",
        required=False,
        max_length=BATCH_MAX * 80,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Each line is the nickname of one device, instead of a quantity.",
    )
    as_many_as_licenses = forms.BooleanField(
        label="As many as there are licenses",
        required=False,
        help_text="When fewer licenses are free than devices asked for, add as many as there are.",
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
        queryset=None, required=False, empty_label="Select an employee"
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
        # Empty means the team's default: the box names the shown team's zone.
        team_zones = {str(team.pk): team.time_zone for team in teams}
        shown_team = str(id_parse(self.value("team")) or "")
        self.fields["time_zone"].use_team_default(  # type: ignore[attr-defined]
            team_zones=team_zones, team=shown_team if shown_team in team_zones else next(iter(team_zones), "")
        )
        self.free_licenses = list(license_free_list())
        # Any license of the company is accepted here, so that one taken or
        # expired since the dialog opened gets a precise error in clean_license.
        self.fields["license"].queryset = license_list()  # type: ignore[attr-defined]
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
        self.warnings: list[DialogWarning] = []
        # Several devices: each takes a free license of its own, so none is picked here.
        if self.is_batch:
            self.fields["license"].required = False
        if not self.is_bound or not self.batch_list_given:
            self.fields["nickname"].required = True

    @property
    def batch_list_given(self) -> bool:
        """Whether the posted form has a list of nicknames (one device per line)."""
        return self.is_bound and "nicknames" in self.fields and bool(str(self.data.get("nicknames", "")).strip())

    @property
    def is_batch(self) -> bool:
        """Whether OK adds several devices: a list of nicknames, or a quantity above one."""
        if not self.is_bound or "quantity" not in self.fields:
            return False
        quantity = str(self.data.get("quantity", "")).strip()
        return self.batch_list_given or (quantity != "" and id_parse(quantity) != 1)

    def clean_quantity(self) -> int:
        return self.cleaned_data.get("quantity") or 1

    def clean_nicknames(self) -> list[str]:
        raw = self.cleaned_data.get("nicknames") or ""
        if not raw.strip():
            return []
        try:
            return batch_nicknames_check(raw.splitlines())
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["nicknames"]) from None

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
            pk = id_parse(value)
            if pk is not None and pk not in ids:
                ids.append(pk)
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
    def client_settings(self) -> ClientSettings:
        """The Clients tab as shown, as the services and the clients rule take it."""
        return ClientSettings(
            client_selection_type=self.selection_type,
            client_scope=self.scope,
            include_area_clients=self.include_area,
            assigned_client_ids=tuple(self.assigned_ids),
        )

    def preview_team(self) -> Team | None:
        teams = self.fields["team"].queryset  # type: ignore[attr-defined]
        chosen = id_parse(self.value("team"))
        team = teams.filter(pk=chosen).first() if chosen is not None else None
        return team or teams.first()

    def reads(self, *, with_options: bool = True) -> DialogReads:
        """What the dialog shows from the database for the settings shown: read once, by the view."""
        return device_dialog_reads(
            company=self.company,
            team=self.preview_team(),
            clients=self.client_settings,
            functionality_mode=self.mode,
            functionality=self.functionality_values,
            device_id=self.device_id,
            with_options=with_options,
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
            if id_parse(value) is None:
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
            kwargs["clients"] = ClientSettings(
                client_selection_type=data["client_selection_type"] or self.selection_type,
                client_scope=data["client_scope"] or ClientScope.ALL,
                include_area_clients=bool(data.get("include_area_clients", False)),
                assigned_client_ids=tuple(data["assigned_clients"]),
            )
        if "functionality_mode" in self.data:
            kwargs.update(
                functionality_mode=data["functionality_mode"] or self.mode, functionality=data["functionality"]
            )
        return kwargs

    def clean_license(self) -> License | None:
        license = self.cleaned_data["license"]
        if license is None:
            return None
        if not license.is_active:
            raise ValidationError(f"License {license.number} is {license.get_status_display().lower()}; pick another.")
        if all(free.pk != license.pk for free in self.free_licenses):
            raise ValidationError(f"License {license.number} was just taken; pick another.")
        return license

    def clean_nickname(self) -> str:
        nickname = self.cleaned_data["nickname"].strip()
        if not nickname and not self.batch_list_given:
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
        if cleaned.get("nicknames") and (cleaned.get("quantity") or 1) > 1:
            self.add_error(
                "quantity", "Give either a quantity or a list of nicknames, not both: set the quantity to 1."
            )
        return cleaned

    @property
    def expires_in_delta(self) -> datetime.timedelta:
        return datetime.timedelta(minutes=self.cleaned_data["expires_in"])

    # Warnings

    def _nickname_is_new(self, nickname: str) -> bool:
        """A new device's nickname, or a changed one on Edit (an unchanged name was seen before)."""
        return True

    def _clients_are_new(self) -> bool:
        """A new device's Clients tab, or a changed one on Edit."""
        return True

    def _no_clients_message(self) -> str:
        return (
            "No clients are assigned: with Wholesale and Selected this device will get no clients. "
            "Add clients on the Clients tab, or save anyway."
        )

    def _collect_warnings(self) -> list[DialogWarning]:
        cleaned = self.cleaned_data
        warnings = []
        nickname = cleaned.get("nickname") or ""
        if (
            nickname
            and not self.is_batch
            and self._nickname_is_new(nickname)
            and pending_nickname_taken(nickname=nickname, exclude_device_id=self.device_id)
        ):
            warnings.append(
                DialogWarning(
                    key=f"nickname:{nickname.casefold()}",
                    message=f"Another device waiting for registration is already called “{nickname}”: "
                    "their rows and codes are easy to mix up. Change the nickname, or save anyway.",
                )
            )
        if (
            self.selection_type == ClientSelectionType.WHOLESALE
            and self.scope == ClientScope.SELECTED
            and not self.assigned_ids
            and not self.include_area
            and self._clients_are_new()
        ):
            warnings.append(DialogWarning(key=WARNING_NO_CLIENTS, message=self._no_clients_message()))
        return warnings

    @property
    def acknowledged(self) -> set[str]:
        """The warnings the person has seen and confirmed with "Save anyway"."""
        return set(_getlist(self.data, "acknowledged")) if self.is_bound else set()

    @property
    def unacknowledged_warnings(self) -> list[DialogWarning]:
        return [warning for warning in self.warnings if warning.key not in self.acknowledged]

    def is_valid(self) -> bool:
        """
        Valid, and every warning acknowledged: otherwise the dialog comes back
        with the warnings (looked for only once the form has no error).
        """
        if not super().is_valid():
            return False
        self.warnings = self._collect_warnings()
        return not self.unacknowledged_warnings


class DeviceEditForm(DeviceSettingsForm):
    """
    The Device Settings tab of an existing device: the same settings without
    the registration email (Replace issues and emails a new code). The
    device's own license stays selectable whatever its status, beside the
    free ones.
    """

    EMAIL_FIELDS = ("email", "expires_in", "employee", "recipients", "quantity", "nicknames", "as_many_as_licenses")

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
                "assigned_clients": [str(pk) for pk in ClientSettings.of_device(device).assigned_client_ids],
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

    def clean_license(self) -> License | None:
        license = self.cleaned_data["license"]
        if license is not None and license.pk == self.device.license_id:
            return license
        return super().clean_license()

    def clean_recipients(self) -> list[str]:
        return []

    def clean(self) -> dict[str, Any]:
        return forms.Form.clean(self) or {}

    def _nickname_is_new(self, nickname: str) -> bool:
        return nickname.casefold() != self.device.nickname.casefold()

    def _clients_are_new(self) -> bool:
        stored = ClientSettings.of_device(self.device)
        return not (
            stored.client_selection_type == ClientSelectionType.WHOLESALE
            and stored.client_scope == ClientScope.SELECTED
            and not stored.assigned_client_ids
            and not stored.include_area_clients
        )

    def _no_clients_message(self) -> str:
        return (
            "No clients are assigned: with Wholesale and Selected this device will get only the wholesale clients "
            "of its own service requests, inspections and work orders. Add clients on the Clients tab, or save "
            "anyway."
        )


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
