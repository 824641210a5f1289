"""
Operators' admin for teams, employees, areas and clients (runs with scopes
disabled for staff). Every change goes through the organization services
for the row's company, which validate it and record an audit event with the
operator as actor.
"""

import uuid
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from backoffice.organization import services
from backoffice.organization.models import Area, Client, Employee, Team
from backoffice.tenancy.models import User
from backoffice.tenancy.service_admin import ServiceModelAdmin


class SameCompanyForm(forms.ModelForm):
    """
    Refuse a related row of another company with a form error; the services
    and the database would refuse it too, but in other words.
    """

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        company = cleaned.get("company", getattr(self.instance, "company", None) if self.instance.pk else None)
        for name in ("team", "area"):
            related = cleaned.get(name)
            if related is not None and company is not None and related.company_id != company.pk:
                self.add_error(name, "Choose one of this company's rows.")
        return cleaned


class CompanyOwnedAdmin(ServiceModelAdmin):
    form = SameCompanyForm

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        # A row never moves to another company.
        return (*super().get_readonly_fields(request, obj), "company") if obj is not None else ()


@admin.register(Area)
class AreaAdmin(CompanyOwnedAdmin):
    list_display = ("name", "company")
    list_filter = ("company",)
    list_select_related = ("company",)
    search_fields = ("name",)

    def service_save(self, *, acting_user: User, original: Area | None, data: dict[str, Any]) -> Area:
        if original is None:
            return services.area_create(acting_user=acting_user, name=data["name"], company=data["company"])
        return services.area_update(acting_user=acting_user, area=original, name=data["name"], company=original.company)

    def service_delete(self, *, acting_user: User, obj: Area, batch_id: uuid.UUID | None = None) -> None:
        services.area_delete(acting_user=acting_user, area=obj, company=obj.company, batch_id=batch_id)


@admin.register(Team)
class TeamAdmin(CompanyOwnedAdmin):
    list_display = ("name", "company", "time_zone", "area", "is_default")
    list_filter = ("company",)
    list_select_related = ("company", "area")
    search_fields = ("name",)

    def has_delete_permission(self, request: HttpRequest, obj: Team | None = None) -> bool:
        # Every company keeps its Default Team.
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_default)

    def service_save(self, *, acting_user: User, original: Team | None, data: dict[str, Any]) -> Team:
        fields = {"name": data["name"], "time_zone": data["time_zone"], "area": data.get("area")}
        if original is None:
            return services.team_create(acting_user=acting_user, company=data["company"], **fields)
        return services.team_update(acting_user=acting_user, team=original, company=original.company, **fields)

    def service_delete(self, *, acting_user: User, obj: Team, batch_id: uuid.UUID | None = None) -> None:
        services.team_delete(acting_user=acting_user, team=obj, company=obj.company, batch_id=batch_id)


@admin.register(Employee)
class EmployeeAdmin(CompanyOwnedAdmin):
    list_display = ("name", "email", "company", "team", "is_active")
    list_filter = ("company", "is_active")
    list_select_related = ("company", "team")
    search_fields = ("name", "email")

    def has_delete_permission(self, request: HttpRequest, obj: Employee | None = None) -> bool:
        # Employees are archived (untick Active), never deleted: they stay on record as codes' recipients.
        return False

    def service_save(self, *, acting_user: User, original: Employee | None, data: dict[str, Any]) -> Employee:
        fields = {"name": data["name"], "email": data["email"], "team": data["team"]}
        if original is None:
            company = data["company"]
            employee = services.employee_create(acting_user=acting_user, company=company, **fields)
        else:
            company = original.company
            employee = services.employee_update(acting_user=acting_user, employee=original, company=company, **fields)
        if data["is_active"] != employee.is_active:
            change_active = services.employee_restore if data["is_active"] else services.employee_archive
            employee = change_active(acting_user=acting_user, employee=employee, company=company)
        return employee


@admin.register(Client)
class ClientAdmin(CompanyOwnedAdmin):
    list_display = ("name", "company", "client_type", "area", "is_active")
    list_filter = ("company", "client_type", "is_active")
    list_select_related = ("company", "area")
    search_fields = ("name",)

    def has_delete_permission(self, request: HttpRequest, obj: Client | None = None) -> bool:
        # Clients are made inactive, never deleted: devices' assignments and documents refer to them.
        return False

    def service_save(self, *, acting_user: User, original: Client | None, data: dict[str, Any]) -> Client:
        fields = {
            "name": data["name"],
            "client_type": data["client_type"],
            "area": data.get("area"),
            "is_active": data["is_active"],
        }
        if original is None:
            return services.client_create(acting_user=acting_user, company=data["company"], **fields)
        return services.client_update(acting_user=acting_user, client=original, company=original.company, **fields)
