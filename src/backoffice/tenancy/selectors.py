"""Reads on companies and Back Office users."""

from typing import Any, cast

from allauth.mfa.models import Authenticator
from django.db import models
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from backoffice.tenancy.models import Company, User


def company_find(name_or_id: str) -> Company | None:
    """The company with this exact name, else with this id; for operators' commands."""
    company = Company.objects.filter(name=name_or_id).first()
    if company is None and name_or_id.isdigit():
        company = Company.objects.filter(pk=int(name_or_id)).first()
    return company


def company_name_taken(*, name: str, exclude_pk: int | None = None) -> bool:
    """Whether another company has ``name`` (any case): company names are unique."""
    companies = Company.objects.filter(name__iexact=name.strip())
    if exclude_pk is not None:
        companies = companies.exclude(pk=exclude_pk)
    return companies.exists()


def user_list(*, user: User) -> QuerySet[User]:
    """
    The Back Office users of ``user``'s company, team joined, active first,
    each with ``has_two_factor`` (an authenticator app or a passkey; recovery
    codes alone do not count) and ``last_login``. Users are not a scoped
    model (operators have no company), so the company filter is explicit here.
    """
    second_factor = Authenticator.objects.filter(user=OuterRef("pk")).exclude(type="recovery_codes")
    return (
        User.objects.filter(company_id=user.company_id or 0, company__isnull=False)
        .select_related("team")
        .annotate(has_two_factor=Exists(second_factor))
        .order_by("-is_active", "email")
    )


def user_get_for_company(*, user: User, pk: object) -> User:
    """Return the user ``pk`` of ``user``'s company; Http404 alike for missing and another company's."""
    try:
        return user_list(user=user).get(pk=int(str(pk)))
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404("No such user") from None


def user_email_taken(*, email: str, exclude_pk: int | None = None) -> bool:
    """Whether any user (of any company, or an operator) signs in with ``email``: sign-in needs it unique."""
    users = User.objects.filter(email__iexact=email)
    if exclude_pk is not None:
        users = users.exclude(pk=exclude_pk)
    return users.exists()


def user_team_choices(*, user: User) -> QuerySet[Any]:
    """
    The teams of the scoped company that ``user`` may make someone the Team
    Administrator of (a Team Administrator: only their own), ordered for a
    select box like ``organization.selectors.team_choices``. Tenancy sits
    below organization, so it reaches the team model through ``User.team``.
    """
    team_model = cast(type[models.Model], User._meta.get_field("team").related_model)
    teams = team_model._default_manager.all()
    if user.is_team_administrator:
        teams = teams.filter(pk=user.team_id or 0)
    return teams.order_by("-is_default", "name")
