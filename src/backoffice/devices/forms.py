"""Forms of the Device dialog."""

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from backoffice.core.timezones import time_zone_choices
from backoffice.devices.models import Device
from backoffice.devices.services import CODE_LIFETIMES, DEFAULT_CODE_LIFETIME, MAX_RECIPIENTS
from backoffice.licensing.models import License
from backoffice.licensing.selectors import license_free_list
from backoffice.organization.models import Employee, Team
from backoffice.organization.selectors import employee_recipient_choices, team_visible_queryset
from backoffice.tenancy.models import User

USE_TEAM_TIME_ZONE = "(Use Team's default time zone)"

# Buttons of the dialog other than OK: they change the Recipients box and
# show the form again, with htmx or as a normal form round-trip.
ACTION_ADD_EMPLOYEE = "add_employee"
ACTION_ADD_CUSTOM = "add_custom"


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


def recipient_action_form(*, data: Any, user: User) -> DeviceSettingsForm:
    """
    Apply the Add Email, Add or remove button that was clicked to the
    Recipients box and return an unbound form showing the dialog again with
    everything else as entered. A problem with the button's field (no
    employee chosen, a bad address) is shown next to that field.
    """
    action = data.get("action", "")
    remove = data.get("remove_recipient", "")
    recipients = _unique_addresses(_getlist(data, "recipients"), drop=remove)
    initial = {name: data.get(name, "") for name in ("team", "time_zone", "license", "nickname", "description")}
    initial["expires_in"] = data.get("expires_in") or int(DEFAULT_CODE_LIFETIME.total_seconds() // 60)
    initial["email"] = data.get("email", "")
    initial["employee"] = data.get("employee", "")
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
    if new_address and new_address.lower() not in {r.lower() for r in recipients}:
        if len(recipients) >= MAX_RECIPIENTS:
            errors["recipients"] = f"At most {MAX_RECIPIENTS} recipients."
        else:
            recipients.append(new_address)
    initial["recipients"] = recipients
    form = DeviceSettingsForm(initial=initial, user=user)
    form.extra_errors = errors
    return form


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
            },
        )
        super().__init__(*args, user=user, **kwargs)
        self.device = device
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
