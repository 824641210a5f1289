"""Reads of the saved views listed beside the Active Devices page's Search pane."""

from dataclasses import dataclass

from django.db.models import Q
from django.db.models.functions import Lower
from django.http import Http404

from backoffice.core.text import id_parse
from backoffice.devices.models import SavedView
from backoffice.tenancy.models import User


@dataclass(frozen=True)
class SavedViewList:
    """The views ``user`` may open: their own (shared or not) and those others shared with the company."""

    own: list[SavedView]
    shared: list[SavedView]


def saved_view_list(*, user: User) -> SavedViewList:
    """
    The saved views ``user`` may open, each list by name: every member of the
    company sees the shared ones. One query.
    """
    views = (
        SavedView.objects.filter(Q(owner_id=user.pk) | Q(is_shared=True))
        .select_related("owner")
        .order_by(Lower("name"), "id")
    )
    own: list[SavedView] = []
    shared: list[SavedView] = []
    for view in views:
        (own if view.owner_id == user.pk else shared).append(view)
    return SavedViewList(own=own, shared=shared)


def saved_view_count(*, user: User) -> int:
    """How many saved views ``user`` owns."""
    return SavedView.objects.filter(owner_id=user.pk).count()


def saved_view_name_taken(*, user: User, name: str, exclude_pk: int | None = None) -> bool:
    """Whether ``user`` already owns a view named ``name`` (case-insensitive), other than ``exclude_pk``."""
    views = SavedView.objects.filter(owner_id=user.pk, name__iexact=name)
    if exclude_pk is not None:
        views = views.exclude(pk=exclude_pk)
    return views.exists()


def saved_view_get_for_owner(*, user: User, pk: object) -> SavedView:
    """
    Return the saved view ``pk`` if ``user`` owns it; raise Http404 otherwise,
    alike for a missing view, another company's and another user's (shared
    or not: only the owner renames or deletes a view).
    """
    view_id = id_parse(pk)
    try:
        return SavedView.objects.get(pk=view_id or 0, owner_id=user.pk)
    except SavedView.DoesNotExist:
        raise Http404("No such saved view") from None
