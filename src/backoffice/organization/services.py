"""
Writes on companies' set-up: teams, employees, areas and clients, and the
creation of a company itself (with its Default Team).

Every service runs inside the acting user's company scope, checks the acting
user's role again (views check it first), validates the business rules that a
form cannot see (uniqueness within the company, Area Support, a Team
Administrator's own team) and writes an audit event. Rule violations raise
``ValidationError`` keyed by form field, so views can show them next to it.

Operators make the same writes from the Django admin: they pass the company
of the row they edit as ``company=`` (see
``backoffice.tenancy.services.acting_in_company``), and every rule but the
role check applies to them too.

Longer than the usual 300 lines on purpose: the writes of the four
organization entities (teams, employees, areas, clients) and the creation of a
company share one set of helpers (acting in a company as its user or as an
operator, length and uniqueness checks); splitting it per entity is a
mechanical clean-up left for later.
"""

import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, models, transaction
from django.utils.translation import ngettext

from backoffice.audit.services import audit_changes, audit_event_build, audit_events_save, audit_initial, audit_record
from backoffice.core.text import TextKind, text_problem
from backoffice.core.timezones import is_valid_time_zone
from backoffice.organization.choices import ClientType
from backoffice.organization.models import Area, Client, Employee, Team
from backoffice.organization.selectors import (
    area_name_taken,
    client_name_taken,
    employee_email_taken,
    employee_emails_taken,
    team_delete_refusal,
    team_name_taken,
)
from backoffice.tenancy.choices import Role
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.permissions import Actor, require_operator
from backoffice.tenancy.scoping import company_scope
from backoffice.tenancy.selectors import company_name_taken, user_email_taken
from backoffice.tenancy.services import COMPANY_NAME_TAKEN, EMAIL_TAKEN, acting_in_company, taken_meanwhile
from backoffice.tenancy.validation import password_check

DEFAULT_TEAM_NAME = "Default Team"


def _changed(what: str, changes: list[dict[str, str]]) -> str:
    """An update's summary: "<what> changed", or that it was saved without changes."""
    return f"{what} changed" if changes else f"{what} saved without changes"


# What the uniqueness checks say; a concurrent write that passed the same
# check first gets the same message from the database's unique constraint.
TEAM_NAME_TAKEN = "A team with this name already exists."
AREA_NAME_TAKEN = "An area with this name already exists."
EMPLOYEE_EMAIL_TAKEN = "An active employee with this email already exists."


def client_name_taken_message(*, name: str, client_type: str) -> str:
    """What the client form says when another client of the type has the name (in any case)."""
    label = f" {str(ClientType(client_type).label).lower()}" if client_type in ClientType.values else ""
    return f"A{label} client named {name.strip()} already exists."


# Companies


@transaction.atomic
def company_create(
    *,
    acting_user: Actor,
    name: str,
    default_time_zone: str = "America/New_York",
    area_support: bool = False,
    admin_email: str | None = None,
    admin_password: str | None = None,
) -> Company:
    """
    Create a company together with its Default Team and, given
    ``admin_email`` and ``admin_password``, its first Administrator. Called by
    operators (the ``create_company`` command with ``OPERATOR_COMMAND``, the
    demo data with ``DEMO_DATA``, a staff user), never by a company's own users.
    """
    require_operator(acting_user)
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Enter a name."
    elif company_name_taken(name=name):
        errors["name"] = COMPANY_NAME_TAKEN
    if not is_valid_time_zone(default_time_zone):
        errors["default_time_zone"] = "Choose a time zone from the IANA list, e.g. America/Chicago."
    if admin_email is not None and user_email_taken(email=admin_email):
        errors["admin_email"] = EMAIL_TAKEN
    if errors:
        raise ValidationError(errors)
    name = name.strip()
    with taken_meanwhile(ValidationError({"name": COMPANY_NAME_TAKEN}), taken=lambda: company_name_taken(name=name)):
        company = Company.objects.create(name=name, default_time_zone=default_time_zone, area_support=area_support)
    with company_scope(company):
        Team.objects.create(company=company, name=DEFAULT_TEAM_NAME, time_zone=default_time_zone, is_default=True)
        audit_record(
            company=company,
            actor=acting_user,
            action="company.created",
            obj=company,
            summary=f"Company {name} created",
            changes=audit_initial(
                {"Name": name, "Default time zone": default_time_zone, "Area Support subscription": area_support},
            ),
        )
        if admin_email is not None:
            admin = User(email=admin_email.strip().lower(), company=company, role=Role.ADMINISTRATOR)
            if admin_password is None:
                raise ValidationError({"admin_password": "Set a password for the first Administrator."})
            try:
                password_check(admin_password, user=admin)
            except ValidationError as error:
                raise ValidationError({"admin_password": error.messages}) from None
            admin.set_password(admin_password)
            email_taken = ValidationError({"admin_email": EMAIL_TAKEN})
            with taken_meanwhile(email_taken, taken=lambda: user_email_taken(email=admin.email)):
                admin.save()
            audit_record(
                company=company,
                actor=acting_user,
                action="user.created",
                obj=admin,
                summary=f"User {admin.email} created as Administrator",
                changes=audit_initial({"Email": admin.email, "Role": admin.get_role_display()}),
                data={"email": admin.email, "role": Role.ADMINISTRATOR},
            )
    return company


def _check_same_company(company: Company, *objects: object) -> None:
    for obj in objects:
        if obj is not None and getattr(obj, "company_id", None) != company.pk:
            raise ValidationError("This object belongs to another company.")


def _length_error(model: type[models.Model], field: str, value: str) -> str:
    """The form's wording for a value longer than the column; "" when it fits."""
    limit = getattr(model._meta.get_field(field), "max_length", None)
    if limit is not None and len(value) > limit:
        return f"Ensure this value has at most {limit} characters (it has {len(value)})."
    return ""


def _area_to_check(*, company: Company, operator: bool, area: Area | None, current: Area | None) -> Area | None:
    """
    The area whose Area Support the update must check. A company's own page
    offers no area without Area Support, so theirs is left as it was (None is
    checked). An operator may keep or remove an area without it, not set a new one.
    """
    if company.area_support:
        return area
    if not operator:
        return None
    return area if area is not None and area.pk != (current.pk if current else None) else None


def _team_fields(*, company: Company, name: str, time_zone: str, area: Area | None, exclude_pk: int | None) -> str:
    name = name.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter a name."
    elif _length_error(Team, "name", name):
        errors["name"] = _length_error(Team, "name", name)
    elif team_name_taken(name=name, exclude_pk=exclude_pk):
        errors["name"] = TEAM_NAME_TAKEN
    if not is_valid_time_zone(time_zone):
        errors["time_zone"] = "Choose a time zone from the list."
    if area is not None and not company.area_support:
        errors["area"] = "Areas need the Area Support subscription."
    if errors:
        raise ValidationError(errors)
    _check_same_company(company, area)
    return name


def _team_name_guard(*, name: str, exclude_pk: int | None) -> AbstractContextManager[None]:
    return taken_meanwhile(
        ValidationError({"name": TEAM_NAME_TAKEN}), taken=lambda: team_name_taken(name=name, exclude_pk=exclude_pk)
    )


def _employee_email_guard(*, email: str, exclude_pk: int | None) -> AbstractContextManager[None]:
    return taken_meanwhile(
        ValidationError({"email": EMPLOYEE_EMAIL_TAKEN}),
        taken=lambda: employee_email_taken(email=email, exclude_pk=exclude_pk),
    )


def _area_name_guard(*, name: str, exclude_pk: int | None) -> AbstractContextManager[None]:
    return taken_meanwhile(
        ValidationError({"name": AREA_NAME_TAKEN}), taken=lambda: area_name_taken(name=name, exclude_pk=exclude_pk)
    )


# Teams


def _team_as_shown(team: Team) -> dict[str, object]:
    """A team's form as the administrator reads it, for the audit trail."""
    return {"Name": team.name, "Default time zone": team.time_zone, "Area": team.area.name if team.area else None}


@transaction.atomic
def team_create(
    *, acting_user: Actor, name: str, time_zone: str, area: Area | None = None, company: Company | None = None
) -> Team:
    """Create a team; its name must be new to the company (case-insensitive)."""
    with acting_in_company(acting_user, company, Role.ADMINISTRATOR) as company:
        name = _team_fields(company=company, name=name, time_zone=time_zone, area=area, exclude_pk=None)
        with _team_name_guard(name=name, exclude_pk=None):
            team = Team.objects.create(company=company, name=name, time_zone=time_zone, area=area)
        audit_record(
            company=company,
            actor=acting_user,
            action="team.created",
            obj=team,
            summary=f"Team {team.name} created",
            changes=audit_initial(_team_as_shown(team)),
            data={"name": team.name, "time_zone": time_zone, "area_id": area.pk if area else None},
        )
    return team


def team_lock_for_entering_devices(*, team: Team) -> None:
    """
    Hold ``team`` FOR SHARE until the transaction ends, before locking any
    device or license, in every write that puts devices into it (added or
    moved). The database copies a team's name and time zone onto its devices
    (their sort keys, migration devices 0019): a change of them
    (``team_update``) in progress finishes first, and none starts until
    these devices are in. Taken before the device rows, so that a change,
    which holds the team while it locks the team's devices, never waits for a
    write that waits for the team. SQLite (one writer at a time): nothing to do.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute('SELECT 1 FROM "organization_team" WHERE "id" = %s FOR SHARE', [team.pk])


@transaction.atomic
def team_update(
    *,
    acting_user: Actor,
    team: Team,
    name: str,
    time_zone: str,
    area: Area | None = None,
    company: Company | None = None,
) -> Team:
    """
    Change a team's name, default time zone and area. Without Area Support the
    area is left as it was, since the form does not offer it (an operator may
    remove it).
    """
    operator = company is not None
    with acting_in_company(acting_user, company, Role.ADMINISTRATOR) as company:
        _check_same_company(company, team)
        checked = _area_to_check(company=company, operator=operator, area=area, current=team.area)
        if not company.area_support and not operator:
            area = team.area
        name = _team_fields(company=company, name=name, time_zone=time_zone, area=checked, exclude_pk=team.pk)
        _check_same_company(company, area)
        before = {"name": team.name, "time_zone": team.time_zone, "area_id": team.area_id}
        shown_before = _team_as_shown(team)
        team.name = name
        team.time_zone = time_zone
        team.area = area
        with _team_name_guard(name=name, exclude_pk=team.pk):
            team.save(update_fields=["name", "time_zone", "area", "changed_at"])
        audit_record(
            company=company,
            actor=acting_user,
            action="team.updated",
            obj=team,
            summary=_changed(f"Team {team.name}", changes := audit_changes(shown_before, _team_as_shown(team))),
            changes=changes,
            data={"before": before, "after": {"name": name, "time_zone": time_zone, "area_id": team.area_id}},
        )
    return team


@transaction.atomic
def team_delete(
    *, acting_user: Actor, team: Team, company: Company | None = None, batch_id: uuid.UUID | None = None
) -> None:
    """
    Delete an empty team. Refused for the Default Team and for a team that
    still has devices, employees (archived ones too) or Team Administrators.
    ``batch_id`` groups the events of one bulk deletion (the admin's).
    """
    with acting_in_company(acting_user, company, Role.ADMINISTRATOR) as company:
        _check_same_company(company, team)
        refusal = team_delete_refusal(team=Team.objects.select_for_update().get(pk=team.pk))
        if refusal:
            raise ValidationError(refusal)
        audit_record(
            company=company,
            actor=acting_user,
            action="team.deleted",
            obj=team,
            summary=f"Team {team.name} deleted",
            data={"name": team.name},
            batch_id=batch_id,
        )
        team.delete()


# Employees


def _check_employee_team(acting_user: Actor, company: Company, team: Team) -> None:
    _check_same_company(company, team)
    if isinstance(acting_user, User) and acting_user.is_team_administrator and team.pk != acting_user.team_id:
        raise ValidationError({"team": "You can only manage employees of your own team."})


def _employee_fields(*, name: str, email: str, exclude_pk: int | None, check_email: bool) -> tuple[str, str]:
    name = name.strip()
    email = email.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter a name."
    elif _length_error(Employee, "name", name):
        errors["name"] = _length_error(Employee, "name", name)
    if not email:
        errors["email"] = "Enter an email address."
    elif _length_error(Employee, "email", email):
        errors["email"] = _length_error(Employee, "email", email)
    elif check_email and employee_email_taken(email=email, exclude_pk=exclude_pk):
        errors["email"] = EMPLOYEE_EMAIL_TAKEN
    if errors:
        raise ValidationError(errors)
    return name, email


def _employee_as_shown(employee: Employee) -> dict[str, object]:
    return {"Name": employee.name, "Email": employee.email, "Team": employee.team.name}


EMPLOYEE_WRITERS = (Role.ADMINISTRATOR, Role.TEAM_ADMINISTRATOR)


@transaction.atomic
def employee_create(
    *, acting_user: Actor, name: str, email: str, team: Team, company: Company | None = None
) -> Employee:
    """Add an active employee; the email must not belong to another active employee of the company."""
    with acting_in_company(acting_user, company, *EMPLOYEE_WRITERS) as company:
        _check_employee_team(acting_user, company, team)
        name, email = _employee_fields(name=name, email=email, exclude_pk=None, check_email=True)
        with _employee_email_guard(email=email, exclude_pk=None):
            employee = Employee.objects.create(company=company, name=name, email=email, team=team)
        audit_record(
            company=company,
            actor=acting_user,
            action="employee.created",
            obj=employee,
            summary=f"Employee {name} added to {team.name}",
            changes=audit_initial(_employee_as_shown(employee)),
            data={"name": name, "email": email, "team_id": team.pk},
        )
    return employee


@transaction.atomic
def employee_update(
    *, acting_user: Actor, employee: Employee, name: str, email: str, team: Team, company: Company | None = None
) -> Employee:
    """Change an employee's name, email and team (a Team Administrator: within their own team only)."""
    with acting_in_company(acting_user, company, *EMPLOYEE_WRITERS) as company:
        _check_employee_team(acting_user, company, employee.team)
        _check_employee_team(acting_user, company, team)
        name, email = _employee_fields(name=name, email=email, exclude_pk=employee.pk, check_email=employee.is_active)
        before = {"name": employee.name, "email": employee.email, "team_id": employee.team_id}
        shown_before = _employee_as_shown(employee)
        employee.name = name
        employee.email = email
        employee.team = team
        with _employee_email_guard(email=email, exclude_pk=employee.pk):
            employee.save(update_fields=["name", "email", "team", "changed_at"])
        audit_record(
            company=company,
            actor=acting_user,
            action="employee.updated",
            obj=employee,
            summary=_changed(f"Employee {name}", changes := audit_changes(shown_before, _employee_as_shown(employee))),
            changes=changes,
            data={"before": before, "after": {"name": name, "email": email, "team_id": team.pk}},
        )
    return employee


@transaction.atomic
def employee_archive(*, acting_user: Actor, employee: Employee, company: Company | None = None) -> Employee:
    """Archive an employee: kept for history, no longer offered as a code recipient. Idempotent."""
    with acting_in_company(acting_user, company, *EMPLOYEE_WRITERS) as company:
        _check_employee_team(acting_user, company, employee.team)
        if employee.is_active:
            employee.is_active = False
            employee.save(update_fields=["is_active", "changed_at"])
            audit_record(
                company=company,
                actor=acting_user,
                action="employee.archived",
                obj=employee,
                summary=f"Employee {employee.name} archived",
                changes=audit_changes({"Active": True}, {"Active": False}),
            )
    return employee


@transaction.atomic
def employee_restore(*, acting_user: Actor, employee: Employee, company: Company | None = None) -> Employee:
    """
    Make an archived employee active again; refused while another active
    employee of the company has the same email. Idempotent.
    """
    with acting_in_company(acting_user, company, *EMPLOYEE_WRITERS) as company:
        _check_employee_team(acting_user, company, employee.team)
        if not employee.is_active:
            in_use = ValidationError(
                f"{employee.name} cannot be restored: an active employee already uses {employee.email}."
            )
            if employee_email_taken(email=employee.email, exclude_pk=employee.pk):
                raise in_use
            employee.is_active = True
            with taken_meanwhile(
                in_use, taken=lambda: employee_email_taken(email=employee.email, exclude_pk=employee.pk)
            ):
                employee.save(update_fields=["is_active", "changed_at"])
            audit_record(
                company=company,
                actor=acting_user,
                action="employee.restored",
                obj=employee,
                summary=f"Employee {employee.name} restored",
                changes=audit_changes({"Active": False}, {"Active": True}),
            )
    return employee


# Areas


def _area_name(name: str, exclude_pk: int | None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter a name."})
    if _length_error(Area, "name", name):
        raise ValidationError({"name": _length_error(Area, "name", name)})
    if area_name_taken(name=name, exclude_pk=exclude_pk):
        raise ValidationError({"name": AREA_NAME_TAKEN})
    return name


@transaction.atomic
def area_create(*, acting_user: Actor, name: str, company: Company | None = None) -> Area:
    """Create an area; its name must be new to the company (case-insensitive)."""
    with acting_in_company(acting_user, company, Role.ADMINISTRATOR) as company:
        name = _area_name(name, None)
        with _area_name_guard(name=name, exclude_pk=None):
            area = Area.objects.create(company=company, name=name)
        audit_record(
            company=company,
            actor=acting_user,
            action="area.created",
            obj=area,
            summary=f"Area {name} created",
            changes=audit_initial({"Name": name}),
        )
    return area


@transaction.atomic
def area_update(*, acting_user: Actor, area: Area, name: str, company: Company | None = None) -> Area:
    """Rename an area."""
    with acting_in_company(acting_user, company, Role.ADMINISTRATOR) as company:
        _check_same_company(company, area)
        name = _area_name(name, area.pk)
        before = area.name
        area.name = name
        with _area_name_guard(name=name, exclude_pk=area.pk):
            area.save(update_fields=["name", "changed_at"])
        audit_record(
            company=company,
            actor=acting_user,
            action="area.updated",
            obj=area,
            summary=f"Area {before} renamed to {name}" if before != name else f"Area {name} saved without changes",
            changes=audit_changes({"Name": before}, {"Name": name}),
            data={"before": before, "after": name},
        )
    return area


@transaction.atomic
def area_delete(
    *, acting_user: Actor, area: Area, company: Company | None = None, batch_id: uuid.UUID | None = None
) -> None:
    """
    Delete an area. Its teams and clients stay and simply have no area any
    more (the confirmation page says how many); devices that include all
    clients of their team's area then get none from it.
    """
    with acting_in_company(acting_user, company, Role.ADMINISTRATOR) as company:
        _check_same_company(company, area)
        teams = list(Team.objects.filter(area=area).values_list("pk", flat=True))
        clients = list(Client.objects.filter(area=area).values_list("pk", flat=True))
        audit_record(
            company=company,
            actor=acting_user,
            action="area.deleted",
            obj=area,
            summary=f"Area {area.name} deleted",
            data={"name": area.name, "team_ids": teams, "client_ids": clients},
            batch_id=batch_id,
        )
        Team.objects.filter(area=area).update(area=None)
        Client.objects.filter(area=area).update(area=None)
        area.delete()


# Clients


def _client_fields(*, company: Company, name: str, client_type: str, area: Area | None, exclude_pk: int | None) -> str:
    name = name.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter a name."
    elif _length_error(Client, "name", name):
        errors["name"] = _length_error(Client, "name", name)
    if client_type not in ClientType.values:
        errors["client_type"] = "Choose Retail or Wholesale."
    if area is not None and not company.area_support:
        errors["area"] = "Areas need the Area Support subscription."
    if (
        "name" not in errors
        and "client_type" not in errors
        and client_name_taken(name=name, client_type=client_type, exclude_pk=exclude_pk)
    ):
        errors["name"] = client_name_taken_message(name=name, client_type=client_type)
    if errors:
        raise ValidationError(errors)
    _check_same_company(company, area)
    return name


def _client_name_guard(*, name: str, client_type: str, exclude_pk: int | None) -> AbstractContextManager[None]:
    return taken_meanwhile(
        ValidationError({"name": client_name_taken_message(name=name, client_type=client_type)}),
        taken=lambda: client_name_taken(name=name, client_type=client_type, exclude_pk=exclude_pk),
    )


def _client_as_shown(client: Client) -> dict[str, object]:
    return {
        "Name": client.name,
        "Type": ClientType(client.client_type).label if client.client_type in ClientType.values else client.client_type,
        "Area": client.area.name if client.area else None,
        "Active": client.is_active,
    }


@transaction.atomic
def client_create(
    *,
    acting_user: Actor,
    name: str,
    client_type: str,
    area: Area | None = None,
    is_active: bool = True,
    company: Company | None = None,
) -> Client:
    """Add a client of the company; its name must be new among the company's clients of its type (any case)."""
    with acting_in_company(acting_user, company, Role.ADMINISTRATOR) as company:
        name = _client_fields(company=company, name=name, client_type=client_type, area=area, exclude_pk=None)
        with _client_name_guard(name=name, client_type=client_type, exclude_pk=None):
            client = Client.objects.create(
                company=company, name=name, client_type=client_type, area=area, is_active=is_active
            )
        audit_record(
            company=company,
            actor=acting_user,
            action="client.created",
            obj=client,
            summary=f"Client {name} created",
            changes=audit_initial(_client_as_shown(client)),
            data={"name": name, "client_type": client_type, "area_id": area.pk if area else None, "active": is_active},
        )
    return client


@transaction.atomic
def client_update(
    *,
    acting_user: Actor,
    client: Client,
    name: str,
    client_type: str,
    area: Area | None,
    is_active: bool,
    company: Company | None = None,
) -> Client:
    """
    Change a client. Without Area Support the area is left as it was, since
    the form does not offer it (an operator may remove it). The name must stay
    unique among the company's clients of the (new) type, in any case.
    """
    operator = company is not None
    with acting_in_company(acting_user, company, Role.ADMINISTRATOR) as company:
        _check_same_company(company, client)
        checked = _area_to_check(company=company, operator=operator, area=area, current=client.area)
        if not company.area_support and not operator:
            area = client.area
        name = _client_fields(company=company, name=name, client_type=client_type, area=checked, exclude_pk=client.pk)
        _check_same_company(company, area)
        before = {"name": client.name, "client_type": client.client_type, "area_id": client.area_id}
        shown_before = _client_as_shown(client)
        client.name = name
        client.client_type = client_type
        client.area = area
        client.is_active = is_active
        with _client_name_guard(name=name, client_type=client_type, exclude_pk=client.pk):
            client.save(update_fields=["name", "client_type", "area", "is_active", "changed_at"])
        audit_record(
            company=company,
            actor=acting_user,
            action="client.updated",
            obj=client,
            summary=_changed(f"Client {name}", changes := audit_changes(shown_before, _client_as_shown(client))),
            changes=changes,
            data={
                "before": before,
                "after": {"name": name, "client_type": client_type, "area_id": client.area_id, "active": is_active},
            },
        )
    return client


# Imports from a spreadsheet (the imports app parses the file; these check and
# save its rows). A row is a mapping of column keys to the cell's text.

IMPORT_NOT_YOUR_TEAM = "Team: not your team (you import into {team} only)."


@dataclass(frozen=True)
class ImportOutcome:
    """
    What an import did: ``created`` the objects saved, ``problems`` one list
    per row given (empty for a row saved), as the preview shows them.
    """

    created: list[Any]
    problems: list[list[str]]


def _problems_of(error: ValidationError, labels: Mapping[str, str]) -> list[str]:
    """A service's ``ValidationError`` as the preview's sentences: "Email: Enter an email address."."""
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    return [
        f"{labels.get(field, field.capitalize())}: {message}"
        for field, messages in error.message_dict.items()
        for message in messages
    ]


def _text_problems(values: Mapping[str, str], kinds: Mapping[str, tuple[str, TextKind]]) -> list[str]:
    problems = []
    for key, (label, kind) in kinds.items():
        problem = text_problem(values.get(key, ""), kind)
        if problem:
            problems.append(f"{label}: {problem}.")
    return problems


def _teams_by_name() -> dict[str, Team]:
    return {team.name.lower(): team for team in Team.objects.all()}


def _import_team(acting_user: Actor, teams: Mapping[str, Team], name: str, problems: list[str]) -> Team | None:
    """The row's team by name (any case), or None with the row's problem added."""
    name = name.strip()
    if not name:
        problems.append("Team: enter a team.")
        return None
    team = teams.get(name.lower())
    if team is None:
        problems.append(f"Team: unknown team “{name}”.")
        return None
    if isinstance(acting_user, User) and acting_user.is_team_administrator and team.pk != acting_user.team_id:
        problems.append(IMPORT_NOT_YOUR_TEAM.format(team=acting_user.team.name if acting_user.team else "your team"))
        return None
    return team


EMPLOYEE_IMPORT_LABELS = {"name": "Name", "email": "Email", "team": "Team"}


def _employees_import_rows(
    acting_user: Actor, rows: Sequence[Mapping[str, str]]
) -> tuple[list[list[str]], list[tuple[str, str, Team] | None]]:
    """Every row's problems, and what a valid row saves (name, email, team); in the open company scope."""
    teams = _teams_by_name()
    problems: list[list[str]] = []
    cleaned: list[tuple[str, str, Team] | None] = []
    seen: dict[str, int] = {}
    for index, values in enumerate(rows):
        row_problems = _text_problems(
            values,
            {"name": ("Name", TextKind.NAME), "email": ("Email", TextKind.LINE), "team": ("Team", TextKind.NAME)},
        )
        name = email = ""
        if not row_problems:
            try:
                name, email = _employee_fields(
                    name=values.get("name", ""), email=values.get("email", ""), exclude_pk=None, check_email=False
                )
            except ValidationError as error:
                row_problems += _problems_of(error, EMPLOYEE_IMPORT_LABELS)
            if email and not any(p.startswith("Email:") for p in row_problems):
                try:
                    validate_email(email)
                except ValidationError:
                    row_problems.append(f"Email: “{email}” is not a valid email address.")
                else:
                    first = seen.setdefault(email.lower(), index)
                    if first != index:
                        row_problems.append(f"Email: the same email as row {first + 1} of the file.")
        team = _import_team(acting_user, teams, values.get("team", ""), row_problems)
        problems.append(row_problems)
        cleaned.append((name, email, team) if not row_problems and team is not None else None)
    taken = employee_emails_taken(emails=[row[1] for row in cleaned if row is not None])
    for index, row in enumerate(cleaned):
        if row is not None and row[1].lower() in taken:
            problems[index].append(f"Email: {EMPLOYEE_EMAIL_TAKEN}")
            cleaned[index] = None
    return problems, cleaned


def employees_import_check(*, acting_user: User, rows: Sequence[Mapping[str, str]]) -> list[list[str]]:
    """The problems of every row of an employee import (the preview), without saving anything."""
    with acting_in_company(acting_user, None, *EMPLOYEE_WRITERS):
        return _employees_import_rows(acting_user, rows)[0]


@transaction.atomic
def employees_import(
    *, acting_user: User, rows: Sequence[Mapping[str, str]], all_or_nothing: bool, batch_id: uuid.UUID
) -> ImportOutcome:
    """
    Add the employees of an import's rows (columns ``name``, ``email``,
    ``team``), checked again now: the valid rows, or (``all_or_nothing``)
    every row or none, refused with a ``ValidationError`` when a row has a
    problem. One INSERT for the employees and one for their events (one per
    employee and one for the batch, all with ``batch_id``). An email that a
    concurrent write saved first becomes that row's problem (or refuses an
    all-or-nothing import): the unique constraint decides, the rows are
    checked again and the import retried without it.
    """
    with acting_in_company(acting_user, None, *EMPLOYEE_WRITERS) as company:
        for _attempt in range(5):
            problems, cleaned = _employees_import_rows(acting_user, rows)
            invalid = sum(1 for row in problems if row)
            if all_or_nothing and invalid:
                raise ValidationError(
                    ngettext(
                        "%(n)d row has a problem: nothing was imported.",
                        "%(n)d rows have problems: nothing was imported.",
                        invalid,
                    )
                    % {"n": invalid}
                )
            valid = [row for row in cleaned if row is not None]
            try:
                with transaction.atomic():
                    employees = Employee.objects.bulk_create(
                        [Employee(company=company, name=name, email=email, team=team) for name, email, team in valid]
                    )
            except IntegrityError:
                continue  # an email was saved meanwhile: check again
            break
        else:
            raise ValidationError("The employees changed while importing; try again.")
        events = [
            audit_event_build(
                company=company,
                actor=acting_user,
                action="employee.created",
                obj=employee,
                summary=f"Employee {employee.name} added to {employee.team.name} (import)",
                changes=audit_initial(_employee_as_shown(employee)),
                data={"name": employee.name, "email": employee.email, "team_id": employee.team_id},
                batch_id=batch_id,
            )
            for employee in employees
        ]
        events.append(
            audit_event_build(
                company=company,
                actor=acting_user,
                action="employee.imported",
                summary=ngettext("%(n)d employee imported", "%(n)d employees imported", len(employees))
                % {"n": len(employees)}
                + (f" ({invalid} rows left out)" if invalid else ""),
                data={"created": len(employees), "left_out": invalid, "rows": len(rows)},
                team_id=acting_user.team_id if acting_user.is_team_administrator else None,
                batch_id=batch_id,
            )
        )
        audit_events_save(events)
    return ImportOutcome(created=employees, problems=problems)


CLIENT_IMPORT_LABELS = {"name": "Name", "client_type": "Type", "area": "Area"}


def _import_client_type(text: str) -> str:
    text = text.strip().lower()
    for value, label in ClientType.choices:
        if text in (value, str(label).lower()):
            return value
    return ""


def _clients_import_rows(
    company: Company, rows: Sequence[Mapping[str, str]]
) -> tuple[list[list[str]], list[tuple[str, str, Area | None] | None]]:
    """Every row's problems, and what a valid row saves (name, type, area); in the open company scope."""
    areas = {area.name.lower(): area for area in Area.objects.all()}
    problems: list[list[str]] = []
    cleaned: list[tuple[str, str, Area | None] | None] = []
    seen: dict[tuple[str, str], int] = {}
    for index, values in enumerate(rows):
        row_problems = _text_problems(
            values, {"name": ("Name", TextKind.NAME), "type": ("Type", TextKind.LINE), "area": ("Area", TextKind.NAME)}
        )
        area: Area | None = None
        area_name = values.get("area", "").strip()
        if area_name and not row_problems:
            if not company.area_support:
                row_problems.append("Area: areas need the Area Support subscription; leave the column empty.")
            elif (area := areas.get(area_name.lower())) is None:
                row_problems.append(f"Area: unknown area “{area_name}”.")
        client_type = _import_client_type(values.get("type", ""))
        name = ""
        if not row_problems:
            try:
                name = _client_fields(
                    company=company, name=values.get("name", ""), client_type=client_type, area=area, exclude_pk=None
                )
            except ValidationError as error:
                row_problems += _problems_of(error, CLIENT_IMPORT_LABELS)
            else:
                first = seen.setdefault((name.lower(), client_type), index)
                if first != index:
                    row_problems.append(f"Name: the same client as row {first + 1} of the file.")
        problems.append(row_problems)
        cleaned.append((name, client_type, area) if not row_problems else None)
    return problems, cleaned


def clients_import_check(*, acting_user: User, rows: Sequence[Mapping[str, str]]) -> list[list[str]]:
    """The problems of every row of a client import (the preview), without saving anything."""
    with acting_in_company(acting_user, None, Role.ADMINISTRATOR) as company:
        return _clients_import_rows(company, rows)[0]


@transaction.atomic
def clients_import(
    *, acting_user: User, rows: Sequence[Mapping[str, str]], all_or_nothing: bool, batch_id: uuid.UUID
) -> ImportOutcome:
    """
    Add the clients of an import's rows (columns ``name``, ``type``, ``area``),
    as ``employees_import`` adds employees (Administrators only).
    """
    with acting_in_company(acting_user, None, Role.ADMINISTRATOR) as company:
        for _attempt in range(5):
            problems, cleaned = _clients_import_rows(company, rows)
            invalid = sum(1 for row in problems if row)
            if all_or_nothing and invalid:
                raise ValidationError(
                    ngettext(
                        "%(n)d row has a problem: nothing was imported.",
                        "%(n)d rows have problems: nothing was imported.",
                        invalid,
                    )
                    % {"n": invalid}
                )
            valid = [row for row in cleaned if row is not None]
            try:
                with transaction.atomic():
                    clients = Client.objects.bulk_create(
                        [
                            Client(company=company, name=name, client_type=client_type, area=area)
                            for name, client_type, area in valid
                        ]
                    )
            except IntegrityError:
                continue  # a name was saved meanwhile: check again
            break
        else:
            raise ValidationError("The clients changed while importing; try again.")
        events = [
            audit_event_build(
                company=company,
                actor=acting_user,
                action="client.created",
                obj=client,
                summary=f"Client {client.name} created (import)",
                changes=audit_initial(_client_as_shown(client)),
                data={
                    "name": client.name,
                    "client_type": client.client_type,
                    "area_id": client.area_id,
                    "active": True,
                },
                batch_id=batch_id,
            )
            for client in clients
        ]
        events.append(
            audit_event_build(
                company=company,
                actor=acting_user,
                action="client.imported",
                summary=ngettext("%(n)d client imported", "%(n)d clients imported", len(clients)) % {"n": len(clients)}
                + (f" ({invalid} rows left out)" if invalid else ""),
                data={"created": len(clients), "left_out": invalid, "rows": len(rows)},
                batch_id=batch_id,
            )
        )
        audit_events_save(events)
    return ImportOutcome(created=clients, problems=problems)
