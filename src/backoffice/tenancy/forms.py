from typing import Any

from allauth.account.forms import (
    ChangePasswordForm,
    LoginForm,
    ReauthenticateForm,
    ResetPasswordForm,
    ResetPasswordKeyForm,
)
from allauth.mfa.webauthn.forms import AddWebAuthnForm, EditWebAuthnForm
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from backoffice.core.forms import TIME_ZONE_HELP, TimeZoneField
from backoffice.core.text import TextRulesFormMixin
from backoffice.tenancy.choices import Functionality, Role, TwoFactorPolicy
from backoffice.tenancy.models import DEFAULT_EXPIRED_CODE_GRACE_DAYS, MAX_EXPIRED_CODE_GRACE_DAYS, User
from backoffice.tenancy.selectors import user_team_choices
from backoffice.tenancy.services import NO_FUNCTIONALITY


class SignInForm(TextRulesFormMixin, LoginForm):
    """
    django-allauth's sign-in form under the text rules (a NUL or a lone
    surrogate is a form error, never a database error). Failed attempts are
    limited per account and per network by the account adapter
    (``tenancy.sign_in``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Email"
        self.fields["login"].widget.attrs.update({"autofocus": True, "autocomplete": "email"})
        self.fields["login"].widget.attrs.pop("placeholder", None)
        self.fields["password"].widget.attrs.pop("placeholder", None)
        self.fields["password"].help_text = ""
        self.fields.pop("remember", None)


class ResetPasswordRequestForm(TextRulesFormMixin, ResetPasswordForm):
    """The "Forgot your password?" form under the text rules."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.pop("placeholder", None)
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "autofocus": True})
        self.fields["email"].max_length = 254  # type: ignore[attr-defined]
        self.fields["email"].validators.append(MaxLengthValidator(254))


def _house_labels(form: forms.BaseForm, labels: dict[str, str]) -> None:
    """Sentence-case labels, as on every Back Office form, and no placeholder repeating them."""
    for name, label in labels.items():
        form.fields[name].label = label
        form.fields[name].widget.attrs.pop("placeholder", None)


class PasswordChangeForm(TextRulesFormMixin, ChangePasswordForm):
    """The Password page: the current password, then the new one twice, under the text rules."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _house_labels(
            self, {"oldpassword": "Current password", "password1": "New password", "password2": "New password again"}
        )


class PasswordResetKeyForm(TextRulesFormMixin, ResetPasswordKeyForm):
    """The new password chosen from an emailed reset link, under the text rules."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _house_labels(self, {"password1": "New password", "password2": "New password again"})


class PasswordConfirmForm(TextRulesFormMixin, ReauthenticateForm):
    """The password asked again before a way to sign in is added or removed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _house_labels(self, {"password": "Password"})
        self.fields["password"].widget.attrs["autofocus"] = True


PASSKEY_NAME_MAX_LENGTH = 100


class PasskeyAddForm(TextRulesFormMixin, AddWebAuthnForm):
    """Adding a passkey or security key: its name follows the name rules and has a length limit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].max_length = PASSKEY_NAME_MAX_LENGTH  # type: ignore[attr-defined]
        self.fields["name"].validators.append(MaxLengthValidator(PASSKEY_NAME_MAX_LENGTH))


class PasskeyRenameForm(TextRulesFormMixin, EditWebAuthnForm):
    """Renaming a passkey or security key, under the same rules as adding one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].max_length = PASSKEY_NAME_MAX_LENGTH  # type: ignore[attr-defined]
        self.fields["name"].validators.append(MaxLengthValidator(PASSKEY_NAME_MAX_LENGTH))


class PageForm(TextRulesFormMixin, forms.Form):
    """
    Base of the Back Office page forms: labels without a trailing colon, and
    every field under the text rules of ``core.text`` (no control character,
    no invisible or bidi character in a name, ids bounded).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """
    Show a service's ``ValidationError`` on ``form``: errors keyed by a field
    of the form go next to that field, the rest at the top of the form.
    """
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _team_field(user: User) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=user_team_choices(user=user),
        required=False,
        empty_label="(No team)",
        help_text="Only for a Team Administrator: the one team they manage.",
    )


class UserUpdateForm(PageForm):
    """Name, role and team of a user. An administrator editing themselves cannot change their role."""

    full_name = forms.CharField(label="Name", max_length=120, required=False)
    role = forms.ChoiceField(choices=Role.choices, widget=forms.RadioSelect)

    def __init__(self, *args: Any, user: User, editing_self: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"] = _team_field(user)
        if editing_self:
            self.fields["role"].disabled = True
            self.fields["role"].help_text = "You cannot change your own role; ask another Administrator."
            self.fields["team"].disabled = True

    @classmethod
    def initial_for(cls, user: User) -> dict[str, Any]:
        return {"full_name": user.full_name, "role": user.role, "team": user.team_id}


class CompanySettingsForm(PageForm):
    default_time_zone = TimeZoneField(
        label="Default time zone", help_text=f"Used for dates on every page and for new teams. {TIME_ZONE_HELP}"
    )
    default_functionality = forms.MultipleChoiceField(
        label="Allowed functionality",
        choices=Functionality.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text='What a device with "Use Company Settings" may use in ReconPro. Pick at least one.',
    )
    expired_code_grace_days = forms.IntegerField(
        label="Release the license of an expired code after (days)",
        min_value=0,
        max_value=MAX_EXPIRED_CODE_GRACE_DAYS,
        initial=DEFAULT_EXPIRED_CODE_GRACE_DAYS,
        help_text=(
            "A device that was never registered keeps its license this many days after its registration code "
            "expired, so Replace can still send a new code; then the license is released for another device. "
            f"0 releases it as soon as the code expires; at most {MAX_EXPIRED_CODE_GRACE_DAYS}."
        ),
        error_messages={
            "required": f"Enter a number of days from 0 to {MAX_EXPIRED_CODE_GRACE_DAYS}.",
            "invalid": f"Enter a number of days from 0 to {MAX_EXPIRED_CODE_GRACE_DAYS}.",
            "min_value": f"Enter a number of days from 0 to {MAX_EXPIRED_CODE_GRACE_DAYS}.",
            "max_value": f"Enter a number of days from 0 to {MAX_EXPIRED_CODE_GRACE_DAYS}.",
        },
    )

    audit_log_for_viewers = forms.BooleanField(
        label="Viewers may see the audit log",
        required=False,
        help_text=(
            "Administrators always see the company's audit log and Team Administrators their team's events; "
            "with this on, Viewers see the whole log too (read-only)."
        ),
    )

    two_factor_required = forms.ChoiceField(
        label="Require two-factor sign-in for",
        choices=TwoFactorPolicy.choices,
        initial=TwoFactorPolicy.OPTIONAL,
        required=False,  # not sent: the company keeps its choice
        widget=forms.RadioSelect,
        help_text=(
            "Whoever this covers adds an authenticator app or a passkey at their next sign-in, before they can "
            "use the Back Office. Anyone may add one on their own account page."
        ),
    )

    def clean_two_factor_required(self) -> str | None:
        return self.cleaned_data["two_factor_required"] or None

    def clean_default_functionality(self) -> list[str]:
        chosen = self.cleaned_data["default_functionality"]
        if not chosen:
            raise ValidationError(NO_FUNCTIONALITY, code="required")
        return chosen
