"""Forms of the teams, employees, areas and clients pages. They parse; services decide."""

from typing import Any

from django import forms

from backoffice.organization.choices import ClientType
from backoffice.organization.models import Client, Employee, Team
from backoffice.organization.selectors import area_choices, team_choices
from backoffice.tenancy.forms import PageForm, TimeZoneField
from backoffice.tenancy.models import User


def _area_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(queryset=area_choices(), required=False, empty_label="(No area)", label="Area")


class TeamForm(PageForm):
    """Name, default time zone and, with Area Support only, the area."""

    name = forms.CharField(max_length=100)
    time_zone = TimeZoneField(label="Default time zone")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user.company is not None and user.company.area_support:
            self.fields["area"] = _area_field()

    @classmethod
    def initial_for(cls, team: Team) -> dict[str, Any]:
        return {"name": team.name, "time_zone": team.time_zone, "area": team.area_id}


class EmployeeForm(PageForm):
    name = forms.CharField(max_length=120)
    email = forms.EmailField(max_length=254)
    team: forms.ModelChoiceField = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = team_choices(user=user)  # type: ignore[attr-defined]

    @classmethod
    def initial_for(cls, employee: Employee) -> dict[str, Any]:
        return {"name": employee.name, "email": employee.email, "team": employee.team_id}


class AreaForm(PageForm):
    name = forms.CharField(max_length=100)


class ClientForm(PageForm):
    """Name, Retail or Wholesale, active flag and, with Area Support only, the area."""

    name = forms.CharField(max_length=150)
    client_type = forms.ChoiceField(label="Type", choices=ClientType.choices, widget=forms.RadioSelect)
    is_active = forms.BooleanField(
        label="Active", required=False, help_text="Inactive clients are not offered on devices."
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user.company is not None and user.company.area_support:
            self.fields["area"] = _area_field()
            self.order_fields(["name", "client_type", "area", "is_active"])

    @classmethod
    def initial_for(cls, client: Client) -> dict[str, Any]:
        return {
            "name": client.name,
            "client_type": client.client_type,
            "area": client.area_id,
            "is_active": client.is_active,
        }
