"""Operators' admin for companies and Back Office users (runs with scopes disabled for staff)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.http import HttpRequest

from backoffice.tenancy.models import Company, User


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "default_time_zone", "area_support", "created_at")
    list_filter = ("area_support",)
    search_fields = ("name",)
    readonly_fields = ("created_at", "changed_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # manage.py create_company also creates the Default Team and the first Administrator.
        return False


class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A user with this email already exists.")
        return email


class UserChangeForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        company, team = cleaned.get("company"), cleaned.get("team")
        if team is not None and (company is None or team.company_id != company.pk):
            self.add_error("team", "Choose a team of the user's company.")
        return cleaned


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "company", "role", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff", "company")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    list_select_related = ("company",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name")}),
        ("Company", {"fields": ("company", "role", "team")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "company", "role", "team", "password1", "password2")}),
    )
    filter_horizontal = ()
