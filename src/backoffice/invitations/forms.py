from typing import Any

from django import forms

from backoffice.tenancy.choices import Role
from backoffice.tenancy.forms import PageForm
from backoffice.tenancy.models import User
from backoffice.tenancy.selectors import user_team_choices
from backoffice.tenancy.validation import password_check


class InvitationForm(PageForm):
    """Who to invite to the administrator's company, and with which role."""

    email = forms.EmailField(max_length=254, help_text="The invitation link is sent to this address.")
    full_name = forms.CharField(
        label="Name", max_length=120, required=False, help_text="They can change it when they accept."
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER, widget=forms.RadioSelect)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"] = forms.ModelChoiceField(
            queryset=user_team_choices(user=user),
            required=False,
            empty_label="(No team)",
            help_text="Only for a Team Administrator: the one team they manage.",
        )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("role") == Role.TEAM_ADMINISTRATOR and cleaned.get("team") is None and "team" not in self.errors:
            self.add_error("team", "A Team Administrator needs a team.")
        return cleaned


class AcceptForm(PageForm):
    """The invited person's name and the password they choose for their new account."""

    full_name = forms.CharField(label="Your name", max_length=120, required=False)
    password = forms.CharField(
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters, not a common password and not all digits.",
    )
    password_confirm = forms.CharField(
        label="Password again", max_length=128, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password, again = cleaned.get("password"), cleaned.get("password_confirm")
        if password and again and password != again:
            self.add_error("password_confirm", "The two passwords differ.")
        if password:
            try:
                password_check(password, user=User(email=self.email, full_name=cleaned.get("full_name", "")))
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned
