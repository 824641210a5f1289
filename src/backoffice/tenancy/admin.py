"""
Operators' admin for companies and Back Office users (runs with scopes
disabled for staff). Every change goes through the tenancy services, which
validate it and record an audit event with the operator as actor.
"""

from contextvars import ContextVar
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django import forms
from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from backoffice.tenancy import services
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.permissions import Actor
from backoffice.tenancy.selectors import user_email_taken
from backoffice.tenancy.service_admin import ServiceModelAdmin
from backoffice.tenancy.validation import password_check


@admin.register(Company)
class CompanyAdmin(ServiceModelAdmin):
    list_display = ("name", "default_time_zone", "area_support", "created_at")
    list_filter = ("area_support",)
    search_fields = ("name",)
    readonly_fields = ("created_at", "changed_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # manage.py create_company also creates the Default Team and the first Administrator.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Company | None = None) -> bool:
        # Deleting a company would delete its whole data and its audit trail with it; no service does that.
        return False

    def service_save(self, *, acting_user: User, original: Any, data: dict[str, Any]) -> Company:
        return services.company_update(
            acting_user=acting_user,
            company=original,
            name=data["name"],
            default_time_zone=data["default_time_zone"],
            area_support=data["area_support"],
            default_functionality=data["default_functionality"],
            expired_code_grace_days=data.get("expired_code_grace_days"),
            audit_log_for_viewers=data.get("audit_log_for_viewers"),
            two_factor_required=data.get("two_factor_required") or None,
        )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if "two_factor_required" in form.base_fields:
            form.base_fields["two_factor_required"].required = False  # not sent: the company keeps its choice
        return form


def _password_errors_on(error: ValidationError, field: str) -> ValidationError:
    """The service's errors, with those of its ``password`` argument moved to the form's ``field``."""
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError({field if key == "password" else key: value for key, value in error.error_dict.items()})


class UserCreationForm(auth_forms.BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "company" in self.fields:
            # Users added here belong to a company; operators' own accounts come from manage.py createsuperuser.
            self.fields["company"].required = True

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if user_email_taken(email=email):
            raise forms.ValidationError("A user with this email already exists.")
        return email

    def validate_password_for_user(self, user: Any, **kwargs: Any) -> None:
        # services.user_create checks the password (at least 10 characters); its errors go on password2.
        return


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = ("email",)  # the admin adds the fieldsets' fields (the team's choices need the admin's open scopes)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # The company is read-only on this form: the user's own.
        company, team = cleaned.get("company", self.instance.company), cleaned.get("team")
        if team is not None and (company is None or team.company_id != company.pk):
            self.add_error("team", "Choose a team of the user's company.")
        return cleaned


# The operator changing a password (set around the admin's password view, which
# builds its form without the request).
_password_actor: ContextVar[User | None] = ContextVar("password_actor", default=None)


class PasswordForm(auth_forms.AdminPasswordChangeForm):
    """The admin's password form, checked like the Back Office's and saved by ``services.user_password_set``."""

    def validate_password_for_user(self, user: Any, password_field_name: str = "password2", **kwargs: Any) -> None:  # noqa: S107
        password = self.cleaned_data.get(password_field_name)
        if self.cleaned_data.get("set_usable_password", True) and password:
            try:
                password_check(password, user=user)
            except ValidationError as error:
                self.add_error(password_field_name, error)

    def save(self, commit: bool = True) -> User:
        acting_user: Actor = _password_actor.get()  # type: ignore[assignment]
        usable = self.cleaned_data.get("set_usable_password", True)
        return services.user_password_set(
            acting_user=acting_user, user=self.user, password=self.cleaned_data["password1"] if usable else None
        )


@admin.register(User)
class UserAdmin(ServiceModelAdmin, BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = PasswordForm
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

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        # A user never moves to another company (their audit trail stays in theirs).
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "company") if obj is not None else fields

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Operators' own accounts (no company) have no company to record an audit
        # event in: they are shown read-only and managed with manage.py commands.
        return super().has_change_permission(request, obj) and not (obj is not None and obj.company_id is None)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Users are deactivated, never deleted, as in the Back Office: the audit trail keeps its actors.
        return False

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        token = _password_actor.set(request.user)  # type: ignore[arg-type]
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_actor.reset(token)

    def service_save(self, *, acting_user: User, original: Any, data: dict[str, Any]) -> User:
        if original is None:
            try:
                return services.user_create(
                    acting_user=acting_user,
                    company=data["company"],
                    email=data["email"],
                    full_name="",
                    role=data["role"],
                    team=data.get("team"),
                    password=data.get("password1") or "",
                )
            except ValidationError as error:
                raise _password_errors_on(error, "password2") from None
        company = original.company
        user = services.user_update(
            acting_user=acting_user,
            user=original,
            full_name=data["full_name"],
            role=data["role"],
            team=data.get("team"),
            company=company,
        )
        user = services.user_access_update(
            acting_user=acting_user,
            user=user,
            email=data["email"],
            is_staff=data["is_staff"],
            is_superuser=data["is_superuser"],
        )
        if data["is_active"] != user.is_active:
            change_active = services.user_reactivate if data["is_active"] else services.user_deactivate
            user = change_active(acting_user=acting_user, user=user, company=company)
        return user


# django-allauth registers admin pages for its email addresses, two-factor
# methods and sessions; they would write accounts past the services and the
# audit trail, so operators do not get them (docs/accounts.md).
for _model in (EmailAddress, Authenticator, UserSession):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
