"""
Forms of the teams, employees, areas and clients pages. They parse input and
check uniqueness early, so that every problem shows at once; the services
check again and decide.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from backoffice.core.forms import TimeZoneField
from backoffice.organization.choices import ClientType
from backoffice.organization.models import Area, Client, Employee, Team
from backoffice.organization.selectors import (
    area_choices,
    area_name_taken,
    client_name_taken,
    employee_email_taken,
    team_choices,
    team_name_taken,
    team_none,
)
from backoffice.organization.services import client_name_taken_message
from backoffice.tenancy.forms import PageForm
from backoffice.tenancy.models import User


def _area_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(queryset=area_choices(), required=False, empty_label="(No area)", label="Area")


class TeamForm(PageForm):
    """Name, default time zone and, with Area Support only, the area."""

    name = forms.CharField(max_length=100)
    time_zone = TimeZoneField(label="Default time zone")

    def __init__(self, *args: Any, user: User, team: Team | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        if user.company is not None and user.company.area_support:
            self.fields["area"] = _area_field()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if team_name_taken(name=name, exclude_pk=self.team.pk if self.team else None):
            raise ValidationError("A team with this name already exists.")
        return name

    @classmethod
    def initial_for(cls, team: Team) -> dict[str, Any]:
        return {"name": team.name, "time_zone": team.time_zone, "area": team.area_id}


class EmployeeForm(PageForm):
    name = forms.CharField(max_length=120)
    email = forms.EmailField(max_length=254)
    team: forms.ModelChoiceField = forms.ModelChoiceField(queryset=team_none(), empty_label=None)

    def __init__(self, *args: Any, user: User, employee: Employee | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.employee = employee
        self.fields["team"].queryset = team_choices(user=user)  # type: ignore[attr-defined]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if self.employee is None or self.employee.is_active:
            exclude = self.employee.pk if self.employee else None
            if employee_email_taken(email=email, exclude_pk=exclude):
                raise ValidationError("An active employee with this email already exists.")
        return email

    @classmethod
    def initial_for(cls, employee: Employee) -> dict[str, Any]:
        return {"name": employee.name, "email": employee.email, "team": employee.team_id}


class AreaForm(PageForm):
    name = forms.CharField(max_length=100)

    def __init__(self, *args: Any, area: Area | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.area = area

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if area_name_taken(name=name, exclude_pk=self.area.pk if self.area else None):
            raise ValidationError("An area with this name already exists.")
        return name


class ClientForm(PageForm):
    """Name, Retail or Wholesale, active flag and, with Area Support only, the area."""

    name = forms.CharField(max_length=150)
    client_type = forms.ChoiceField(label="Type", choices=ClientType.choices, widget=forms.RadioSelect)
    is_active = forms.BooleanField(
        label="Active", required=False, help_text="Inactive clients are not offered on devices."
    )

    def __init__(self, *args: Any, user: User, client: Client | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client
        if user.company is not None and user.company.area_support:
            self.fields["area"] = _area_field()
            self.order_fields(["name", "client_type", "area", "is_active"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name, client_type = cleaned.get("name"), cleaned.get("client_type")
        if (
            name
            and client_type
            and client_name_taken(
                name=name, client_type=client_type, exclude_pk=self.client.pk if self.client else None
            )
        ):
            self.add_error("name", client_name_taken_message(name=name, client_type=client_type))
        return cleaned

    @classmethod
    def initial_for(cls, client: Client) -> dict[str, Any]:
        return {
            "name": client.name,
            "client_type": client.client_type,
            "area": client.area_id,
            "is_active": client.is_active,
        }
