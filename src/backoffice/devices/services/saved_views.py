"""
Writes on saved views of the Active Devices page: create, rename (and share
or unshare), delete.

A saved view belongs to the person who saved it. Every member who may see
the page may save views, a Viewer included: a view is a bookmark, it changes
no device. Each function is atomic, checks the acting user and records an
audit event.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from backoffice.audit.services import audit_changes, audit_initial, audit_record
from backoffice.core.text import TextKind, text_problem
from backoffice.devices.models import SAVED_VIEW_NAME_MAX_LENGTH, SAVED_VIEW_QUERY_MAX_LENGTH, SavedView
from backoffice.devices.selectors.active_devices import DeviceListState
from backoffice.devices.selectors.saved_views import saved_view_count, saved_view_name_taken
from backoffice.tenancy.models import User
from backoffice.tenancy.permissions import require_member
from backoffice.tenancy.services import taken_meanwhile

MAX_SAVED_VIEWS_PER_USER = 50
NAME_TAKEN = "You already have a saved view with this name."


def _clean_name(*, user: User, name: str, exclude_pk: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter a name for the view."})
    if len(name) > SAVED_VIEW_NAME_MAX_LENGTH:
        raise ValidationError({"name": f"A view's name has at most {SAVED_VIEW_NAME_MAX_LENGTH} characters."})
    problem = text_problem(name, TextKind.NAME)
    if problem is not None:
        raise ValidationError({"name": f"Name {problem}."})
    if saved_view_name_taken(user=user, name=name, exclude_pk=exclude_pk):
        raise ValidationError({"name": NAME_TAKEN})
    return name


def _require_owner(user: User, view: SavedView) -> None:
    require_member(user)
    if view.owner_id != user.pk or view.company_id != user.company_id:
        raise PermissionDenied("Only the person who saved a view may change it.")


@transaction.atomic
def saved_view_create(*, acting_user: User, name: str, state: DeviceListState, is_shared: bool = False) -> SavedView:
    """
    Save the list ``state`` (search, filters, sort, page size) under ``name``
    for ``acting_user``; shared views are listed for every member of the
    company. What is stored is ``state.as_query_string()``, the page's own
    normalised query string. Raise ``ValidationError`` for an empty, too long
    or ill-formed name, a name the user already has (case-insensitive), more
    than ``MAX_SAVED_VIEWS_PER_USER`` views or a search too long to store.
    """
    company = require_member(acting_user)
    name = _clean_name(user=acting_user, name=name)
    if saved_view_count(user=acting_user) >= MAX_SAVED_VIEWS_PER_USER:
        raise ValidationError(
            f"You have {MAX_SAVED_VIEWS_PER_USER} saved views, the most there can be; delete one to save another."
        )
    query = state.as_query_string()
    if len(query) > SAVED_VIEW_QUERY_MAX_LENGTH:
        raise ValidationError("This search is too long to save; shorten the search boxes.")
    view = SavedView(company=company, owner=acting_user, name=name, query=query, is_shared=is_shared)
    with taken_meanwhile(
        ValidationError({"name": NAME_TAKEN}), taken=lambda: saved_view_name_taken(user=acting_user, name=name)
    ):
        view.save()
    audit_record(
        company=company,
        actor=acting_user,
        action="saved_view.created",
        obj=view,
        summary=f"Saved view {name} created{' and shared' if is_shared else ''}",
        changes=audit_initial({"Name": name, "Shared": is_shared}),
        data={"saved_view_id": view.pk, "name": name, "query": query, "is_shared": is_shared},
    )
    return view


@transaction.atomic
def saved_view_rename(*, acting_user: User, view: SavedView, name: str, is_shared: bool) -> SavedView:
    """
    Rename ``view`` and set whether it is shared; only its owner may. Raise
    ``ValidationError`` for a name as ``saved_view_create`` does,
    ``PermissionDenied`` for anyone but the owner.
    """
    _require_owner(acting_user, view)
    old_name, was_shared = view.name, view.is_shared
    name = _clean_name(user=acting_user, name=name, exclude_pk=view.pk)
    view.name = name
    view.is_shared = is_shared
    with taken_meanwhile(
        ValidationError({"name": NAME_TAKEN}),
        taken=lambda: saved_view_name_taken(user=acting_user, name=name, exclude_pk=view.pk),
    ):
        view.save(update_fields=["name", "is_shared", "changed_at"])
    audit_record(
        company=view.company,
        actor=acting_user,
        action="saved_view.renamed",
        obj=view,
        summary=f"Saved view {old_name} renamed to {name}" if old_name != name else f"Saved view {name} changed",
        changes=audit_changes({"Name": old_name, "Shared": was_shared}, {"Name": name, "Shared": is_shared}),
        data={
            "saved_view_id": view.pk,
            "old_name": old_name,
            "name": name,
            "was_shared": was_shared,
            "is_shared": is_shared,
        },
    )
    return view


@transaction.atomic
def saved_view_delete(*, acting_user: User, view: SavedView) -> None:
    """Delete ``view``; only its owner may (``PermissionDenied`` otherwise)."""
    _require_owner(acting_user, view)
    view_id, name = view.pk, view.name
    audit_record(
        company=view.company,
        actor=acting_user,
        action="saved_view.deleted",
        obj=view,
        summary=f"Saved view {name} deleted",
        data={"saved_view_id": view_id, "name": name},
    )
    view.delete()
