"""
Who may do what: every role rule of the Back Office, in one module.

Administrator: everything in the company. Team Administrator: devices and
employees of one team. Viewer: reads everything, changes nothing. Operators
(staff users without a company) run the service for every company through
the Django admin and ``manage.py`` commands.

Every service that writes takes the acting party and calls one ``require_*``
function below before it reads or writes anything; the views' decorators
apply the same rules earlier, so that a refused request never reaches a
service. A write that no signed-in person makes (the device API, the email
worker, an operator's command) names a ``SystemActor``, which the audit trail
records as such: no write service accepts a missing actor.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from backoffice.tenancy.choices import Role
from backoffice.tenancy.models import Company, User

View = Callable[..., HttpResponseBase]

WRITER_ROLES = (Role.ADMINISTRATOR, Role.TEAM_ADMINISTRATOR)
REFUSED = "Your role does not allow this action."


@dataclass(frozen=True)
class SystemActor:
    """
    The party behind a write that no signed-in person makes. ``label`` is what
    the audit trail shows as the actor; ``is_operator`` marks the people who
    run the service acting from the server (``manage.py`` commands, the demo
    data), who may do what operators do in the Django admin.
    """

    label: str
    is_operator: bool = False

    def __str__(self) -> str:
        return self.label


DEVICE_API = SystemActor("ReconPro app (device API)")
OUTBOX_WORKER = SystemActor("Email outbox worker")
HOUSEKEEPING = SystemActor("Housekeeping worker")
OPERATOR_COMMAND = SystemActor("Operator (manage.py command)", is_operator=True)
DEMO_DATA = SystemActor("Demo data loader", is_operator=True)
SIGN_IN_GUARD = SystemActor("Sign-in throttle")

Actor = User | SystemActor


# Rules for services: each raises PermissionDenied, or returns the company
# the write happens in.


def require_member(user: User) -> Company:
    """An active user who belongs to a company; return that company."""
    if not isinstance(user, User) or not user.is_active or user.company is None:
        raise PermissionDenied(REFUSED)
    return user.company


def require_role(user: User, *roles: Role) -> Company:
    """An active member of a company with one of ``roles``; return the company."""
    company = require_member(user)
    if user.role not in roles:
        raise PermissionDenied(REFUSED)
    return company


def require_administrator(user: User) -> Company:
    return require_role(user, Role.ADMINISTRATOR)


def require_team_writer(user: User, *, team_id: int | None) -> Company:
    """
    A user who may change the devices and employees of team ``team_id``:
    an Administrator (every team) or that team's Team Administrator.
    """
    company = require_role(user, *WRITER_ROLES)
    if user.role == Role.TEAM_ADMINISTRATOR and (team_id is None or team_id != user.team_id):
        raise PermissionDenied("Team Administrators act only on their own team.")
    return company


def require_same_company(user: User, *objects: Any) -> None:
    """Every object given (None is skipped) belongs to ``user``'s company."""
    for obj in objects:
        if obj is not None and obj.company_id != user.company_id:
            raise PermissionDenied("This belongs to another company.")


def require_operator(actor: Actor) -> None:
    """An operator: an active staff user, or an operator's own command on the server."""
    if isinstance(actor, SystemActor):
        if not actor.is_operator:
            raise PermissionDenied("Only operators do this.")
        return
    if not (isinstance(actor, User) and actor.is_staff and actor.is_active):
        raise PermissionDenied("Only operators do this.")


def can_write_team(user: User, *, team_id: int | None) -> bool:
    """Whether ``require_team_writer`` would let ``user`` act on team ``team_id`` (for showing buttons)."""
    try:
        require_team_writer(user, team_id=team_id)
    except PermissionDenied:
        return False
    return True


def can_read_audit_log(user: User) -> bool:
    """
    Whether ``user`` may open the company's audit log: an Administrator (every
    event), a Team Administrator (the events filed under their team), a
    Viewer only when the company's ``audit_log_for_viewers`` is on.
    """
    if not isinstance(user, User) or not user.is_active or user.company is None:
        return False
    if user.role == Role.VIEWER:
        return bool(user.company.audit_log_for_viewers)
    return user.role in (Role.ADMINISTRATOR, Role.TEAM_ADMINISTRATOR)


# The same rules for views, applied before anything is read or written.


def company_member_required(view: View) -> View:
    """Require a signed-in, active user who belongs to a company."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "company", None) is None:
            # Operators have no company: the Back Office pages are not theirs.
            raise Http404("No company")
        return view(request, *args, **kwargs)

    return wrapper


def role_required(*roles: Role) -> Callable[[View], View]:
    """Require one of ``roles``; others get 403 before anything is read or written."""

    def decorator(view: View) -> View:
        @company_member_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                require_role(request.user, *roles)  # type: ignore[arg-type]
            except PermissionDenied:
                raise PermissionDenied(REFUSED) from None
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


device_writer_required = role_required(*WRITER_ROLES)
employee_writer_required = role_required(*WRITER_ROLES)
administrator_required = role_required(Role.ADMINISTRATOR)
