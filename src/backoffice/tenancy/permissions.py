"""
Who may do what: the role rules in one place.

Administrator: everything in the company. Team Administrator: devices and
employees of one team. Viewer: reads everything, changes nothing.
"""

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from backoffice.tenancy.choices import Role

if TYPE_CHECKING:
    from backoffice.tenancy.models import Company, User

View = Callable[..., HttpResponseBase]


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
            if getattr(request.user, "role", None) not in roles:
                raise PermissionDenied("Your role does not allow this action.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


device_writer_required = role_required(Role.ADMINISTRATOR, Role.TEAM_ADMINISTRATOR)
administrator_required = role_required(Role.ADMINISTRATOR)
employee_writer_required = role_required(Role.ADMINISTRATOR, Role.TEAM_ADMINISTRATOR)


def ensure_role(user: "User", *roles: Role) -> "Company":
    """
    Refuse a write by a user without one of ``roles`` (or without a company);
    return the company the write happens in.

    Services call this as well as the views' decorators, so that a write
    reached by another path (a command, a test, a future view) obeys the same
    role rules.
    """
    if user.role not in roles or not user.is_active or user.company is None:
        raise PermissionDenied("Your role does not allow this action.")
    return user.company
