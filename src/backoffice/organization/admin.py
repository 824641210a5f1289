"""Operators' admin for teams, employees, areas and clients (runs with scopes disabled for staff)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from backoffice.organization.models import Area, Client, Employee, Team


class SameCompanyForm(forms.ModelForm):
    """
    Refuse a related row of another company with a form error; the database
    would refuse it too, but with an error page.
    """

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        company = cleaned.get("company", getattr(self.instance, "company", None) if self.instance.pk else None)
        for name in ("team", "area"):
            related = cleaned.get(name)
            if related is not None and company is not None and related.company_id != company.pk:
                self.add_error(name, "Choose one of this company's rows.")
        return cleaned


class CompanyOwnedAdmin(admin.ModelAdmin):
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


@admin.register(Team)
class TeamAdmin(CompanyOwnedAdmin):
    list_display = ("name", "company", "time_zone", "area", "is_default")
    list_filter = ("company",)
    list_select_related = ("company", "area")
    search_fields = ("name",)

    def has_delete_permission(self, request: HttpRequest, obj: Team | None = None) -> bool:
        # Every company keeps its Default Team.
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_default)


@admin.register(Employee)
class EmployeeAdmin(CompanyOwnedAdmin):
    list_display = ("name", "email", "company", "team", "is_active")
    list_filter = ("company", "is_active")
    list_select_related = ("company", "team")
    search_fields = ("name", "email")


@admin.register(Client)
class ClientAdmin(CompanyOwnedAdmin):
    list_display = ("name", "company", "client_type", "area", "is_active")
    list_filter = ("company", "client_type", "is_active")
    list_select_related = ("company", "area")
    search_fields = ("name",)
