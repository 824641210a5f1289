"""Reads on teams, employees, areas and clients."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404
from django.utils.translation import ngettext

from backoffice.core.text import ID_MAX_DIGITS, NO_SUCH_ID, id_parse, text_is_clean, text_problem
from backoffice.organization.choices import ClientType
from backoffice.organization.models import Area, Client, Employee, Team
from backoffice.tenancy.models import User


def _pk(value: object) -> int:
    return int(str(value))


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


def team_choices(*, user: User) -> QuerySet[Team]:
    """Teams ``user`` may put an employee in, ordered for a select box."""
    return team_visible_queryset(user=user).order_by("-is_default", "name")


def team_get_for_company(*, user: User, pk: object) -> Team:
    """Return the team ``pk`` if ``user`` may see it; Http404 alike for missing and foreign teams."""
    try:
        return team_visible_queryset(user=user).select_related("area").get(pk=_pk(pk))
    except (Team.DoesNotExist, ValueError, TypeError):
        raise Http404("No such team") from None


@dataclass(frozen=True)
class TeamMembers:
    """What still points at a team and keeps it from being deleted."""

    devices: int
    employees: int
    administrators: int

    @property
    def is_empty(self) -> bool:
        return not (self.devices or self.employees or self.administrators)


def team_members(*, team: Team) -> TeamMembers:
    """Count the devices, employees (archived too) and Team Administrators of ``team``."""
    # Devices sit above this app: they are counted through the reverse relation.
    return TeamMembers(
        devices=team.devices.count(),
        employees=Employee.objects.filter(team=team).count(),
        administrators=User.objects.filter(company_id=team.company_id, team=team).count(),
    )


def team_delete_refusal(*, team: Team) -> str:
    """The sentence that says why ``team`` cannot be deleted, or "" when it can."""
    if team.is_default:
        return "The Default Team cannot be deleted."
    members = team_members(team=team)
    if members.is_empty:
        return ""
    parts = []
    if members.devices:
        parts.append(ngettext("%(n)d device", "%(n)d devices", members.devices) % {"n": members.devices})
    if members.employees:
        parts.append(ngettext("%(n)d employee", "%(n)d employees", members.employees) % {"n": members.employees})
    if members.administrators:
        parts.append(
            ngettext("%(n)d Team Administrator", "%(n)d Team Administrators", members.administrators)
            % {"n": members.administrators}
        )
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Move its {listed} to another team first."


# Employees


@dataclass(frozen=True)
class EmployeeSearch:
    """The employee list's search boxes; empty boxes are ignored, the others combine."""

    name: str = ""
    team: str = ""
    email: str = ""
    status: str = "active"
    # Boxes whose value broke the text rules (a control character): ignored, and named to the person.
    ignored: tuple[str, ...] = field(default=(), compare=False)

    STATUSES = ("active", "archived", "all")

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "EmployeeSearch":
        """The search in a query string; a box with a control character is ignored (docs/decisions.md)."""
        status = query.get("status") or "active"
        boxes, ignored = _search_boxes(query, {"name": 100, "team": 100, "email": 254})
        return cls(**boxes, status=status if status in cls.STATUSES else "active", ignored=ignored)

    @property
    def is_empty(self) -> bool:
        return not (self.name or self.team or self.email) and self.status == "active"


def _search_boxes(query: Mapping[str, str], lengths: dict[str, int]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Each search box stripped and cut to its length, and the names of those ignored for a control character."""
    boxes: dict[str, str] = {}
    ignored: list[str] = []
    for name, length in lengths.items():
        value = (query.get(name) or "").strip()[:length]
        if text_is_clean(value):
            boxes[name] = value
        else:
            boxes[name] = ""
            ignored.append(name)
    return boxes, tuple(ignored)


def employee_visible_queryset(*, user: User) -> QuerySet[Employee]:
    """Employees of the scoped company that ``user`` may see (a Team Administrator: their team's)."""
    employees = Employee.objects.all()
    if user.is_team_administrator:
        employees = employees.filter(team_id=user.team_id or 0)
    return employees


def employee_list(*, user: User, search: EmployeeSearch | None = None) -> QuerySet[Employee]:
    """Employees for the list page, team joined, ordered by name."""
    search = search or EmployeeSearch()
    employees = employee_visible_queryset(user=user).select_related("team")
    if search.status == "active":
        employees = employees.filter(is_active=True)
    elif search.status == "archived":
        employees = employees.filter(is_active=False)
    if search.name:
        employees = employees.filter(name__icontains=search.name)
    if search.team:
        employees = employees.filter(team__name__icontains=search.team)
    if search.email:
        employees = employees.filter(email__icontains=search.email)
    return employees.order_by("name", "id")


def employee_get_for_company(*, user: User, pk: object) -> Employee:
    """Return the employee ``pk`` if ``user`` may see it; Http404 alike for missing, foreign, other team's."""
    try:
        return employee_visible_queryset(user=user).select_related("team").get(pk=_pk(pk))
    except (Employee.DoesNotExist, ValueError, TypeError):
        raise Http404("No such employee") from None


def employee_recipient_choices(*, user: User) -> QuerySet[Employee]:
    """
    Employees who may receive a registration code: active ones ``user`` may
    see, ordered by name. Archived employees are never offered.
    """
    return employee_visible_queryset(user=user).filter(is_active=True).select_related("team").order_by("name", "id")


def employee_email_taken(*, email: str, exclude_pk: int | None = None) -> bool:
    """Whether another active employee of the scoped company has ``email`` (case-insensitive)."""
    employees = Employee.objects.filter(is_active=True, email__iexact=email)
    if exclude_pk is not None:
        employees = employees.exclude(pk=exclude_pk)
    return employees.exists()


def employee_emails_taken(*, emails: Iterable[str]) -> set[str]:
    """Which of ``emails`` (lower-cased) active employees of the scoped company have, in any case."""
    wanted = sorted({email.lower() for email in emails})
    taken: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        taken.update(
            Employee.objects.filter(is_active=True)
            .annotate(email_lower=Lower("email"))
            .filter(email_lower__in=chunk)
            .values_list("email_lower", flat=True)
        )
    return taken


# Areas


def area_list() -> QuerySet[Area]:
    return Area.objects.annotate(
        team_count=Count("teams", distinct=True), client_count=Count("clients", distinct=True)
    ).order_by("name")


def area_choices() -> QuerySet[Area]:
    return Area.objects.order_by("name")


def team_none() -> QuerySet[Team]:
    """No team: the initial choices of a team field, which the form replaces with the user's own."""
    return Team.objects.none()


def area_get_for_company(*, user: User, pk: object) -> Area:
    """Return the area ``pk`` of the scoped company; Http404 alike for missing and foreign areas."""
    try:
        return area_list().get(pk=_pk(pk))
    except (Area.DoesNotExist, ValueError, TypeError):
        raise Http404("No such area") from None


def area_name_taken(*, name: str, exclude_pk: int | None = None) -> bool:
    areas = Area.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        areas = areas.exclude(pk=exclude_pk)
    return areas.exists()


def team_name_taken(*, name: str, exclude_pk: int | None = None) -> bool:
    teams = Team.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        teams = teams.exclude(pk=exclude_pk)
    return teams.exists()


# Clients


def client_name_taken(*, name: str, client_type: str, exclude_pk: int | None = None) -> bool:
    """Whether the scoped company has another client of ``client_type`` named ``name`` in any case."""
    clients = Client.objects.filter(name__iexact=name.strip(), client_type=client_type)
    if exclude_pk is not None:
        clients = clients.exclude(pk=exclude_pk)
    return clients.exists()


@dataclass(frozen=True)
class ClientSearch:
    """The client list's search boxes: name (substring), type, area id, active flag."""

    name: str = ""
    client_type: str = ""
    area: int | None = None
    active: str = ""
    # Boxes whose value broke the text rules (a control character): ignored, and named to the person.
    ignored: tuple[str, ...] = field(default=(), compare=False)

    ACTIVE_VALUES = ("yes", "no")

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "ClientSearch":
        """
        The search in a query string. A box with a control character is
        ignored (docs/decisions.md); an area that is not a number is ignored
        too, and a number too long to be an id (more than 12 digits) is an
        area that matches nothing.
        """
        client_type = query.get("type") or ""
        active = query.get("active") or ""
        raw_area = (query.get("area") or "").strip()
        area: int | None = None
        if raw_area.isascii() and raw_area.isdigit():
            area = id_parse(raw_area)
            if area is None:
                area = NO_SUCH_ID
        boxes, ignored = _search_boxes(query, {"name": 150})
        return cls(
            **boxes,
            client_type=client_type if client_type in ClientType.values else "",
            area=area,
            active=active if active in cls.ACTIVE_VALUES else "",
            ignored=ignored,
        )

    @property
    def is_empty(self) -> bool:
        return not (self.name or self.client_type or self.area is not None or self.active)


def client_list(*, search: ClientSearch | None = None) -> QuerySet[Client]:
    """Clients of the scoped company, area joined, ordered by name."""
    search = search or ClientSearch()
    q = Q()
    if search.name:
        q &= Q(name__icontains=search.name)
    if search.client_type:
        q &= Q(client_type=search.client_type)
    if search.area is not None:
        q &= Q(area_id=search.area)
    if search.active:
        q &= Q(is_active=search.active == "yes")
    return Client.objects.filter(q).select_related("area").order_by("name", "id")


CLIENT_SEARCH_LIMIT = 50


def wholesale_client_search(*, q: str, limit: int = CLIENT_SEARCH_LIMIT) -> list[Client]:
    """
    Active wholesale clients of the scoped company whose name contains ``q``
    (any case), by name, at most ``limit``: the Assigned Clients drop-down,
    which has to cope with thousands of clients.
    """
    if not text_is_clean(q):
        return []
    clients = Client.objects.filter(client_type=ClientType.WHOLESALE, is_active=True)
    if q.strip():
        clients = clients.filter(name__icontains=q.strip()[:150])
    return list(clients.order_by("name", "id")[:limit])


def wholesale_client_pick(*, text: str) -> tuple[Client | None, str]:
    """
    The client meant by the text of the Assigned Clients box: an entry of the
    list ("Name · #12"), else the active wholesale client with exactly that
    name in any case (at most one: names are unique per company and type).
    Returns the client, or None and the reason to show.
    """
    text = text.strip()
    if not text:
        return None, "Choose a wholesale client from the list, then click Add."
    problem = text_problem(text)
    if problem is not None:
        return None, f"The client's name {problem}; choose a client from the list."
    clients = Client.objects.filter(client_type=ClientType.WHOLESALE, is_active=True)
    match = re.search(rf"#([0-9]{{1,{ID_MAX_DIGITS}}})$", text)
    if match:
        client = clients.filter(pk=int(match.group(1))).first()
        if client is not None:
            return client, ""
    named = clients.filter(name__iexact=text).order_by("pk").first()
    if named is not None:
        return named, ""
    return None, f"No active wholesale client is called “{text}”; choose one from the list."


def client_get_for_company(*, user: User, pk: object) -> Client:
    """Return the client ``pk`` of the scoped company; Http404 alike for missing and foreign clients."""
    try:
        return Client.objects.select_related("area").get(pk=_pk(pk))
    except (Client.DoesNotExist, ValueError, TypeError):
        raise Http404("No such client") from None
