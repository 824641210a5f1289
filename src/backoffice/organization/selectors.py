"""Reads on teams, employees, areas and clients."""

from django.db.models import Count, QuerySet
from django.http import Http404

from backoffice.organization.models import Team
from backoffice.tenancy.models import User


def team_visible_queryset(*, user: User) -> QuerySet[Team]:
    """Teams of the scoped company that ``user`` may see (a Team Administrator: only theirs)."""
    teams = Team.objects.all()
    if user.is_team_administrator:
        teams = teams.filter(pk=user.team_id or 0)
    return teams


def team_list(*, user: User) -> QuerySet[Team]:
    return (
        team_visible_queryset(user=user)
        .select_related("area")
        .annotate(device_count=Count("devices", distinct=True), employee_count=Count("employees", distinct=True))
        .order_by("-is_default", "name")
    )


def team_get_for_company(*, user: User, pk: object) -> Team:
    """Return the team ``pk`` if ``user`` may see it; Http404 alike for missing and foreign teams."""
    try:
        return team_visible_queryset(user=user).select_related("area").get(pk=int(str(pk)))
    except (Team.DoesNotExist, ValueError, TypeError):
        raise Http404("No such team") from None
