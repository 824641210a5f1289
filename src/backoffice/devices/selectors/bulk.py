"""
Reads for the Active Devices list's selection: which devices a selection
names (ids checked on the page, or "all N matching this search", which is
the search itself, evaluated again at confirmation and at execution) and the
confirmation that counts and names what an action will change.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.utils.translation import ngettext

from backoffice.devices.choices import ClientScope, ClientSelectionType, FunctionalityMode
from backoffice.devices.clients import ClientSettings
from backoffice.devices.models import Device
from backoffice.devices.selectors.active_devices import DeviceListState, device_registered_list
from backoffice.organization.choices import ClientType
from backoffice.organization.models import Client, Team
from backoffice.tenancy.models import User
from backoffice.tenancy.permissions import can_write_team

# Names the confirmation lists before "and N more".
NAMES_SHOWN = 8


@dataclass(frozen=True)
class BulkPreview:
    """The confirmation of a bulk action: a headline, what else changes, the first names."""

    count: int
    headline: str
    details: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    more: int = 0
    refusal: str = ""

    @property
    def sentence(self) -> str:
        """ "Delete 37 devices: frees 37 licenses, their apps stop working." """
        return self.headline + (": " + ", ".join(self.details) if self.details else "") + "."


def _devices(n: int) -> str:
    return ngettext("%(n)d device", "%(n)d devices", n) % {"n": n}


def bulk_matching_ids(*, user: User, query: str, limit: int) -> list[int]:
    """
    The ids of the registered devices matching the list's search in
    ``query`` (the page's query string) that ``user`` sees, at most
    ``limit`` + 1 of them (so that a caller can tell "too many").
    """
    state = DeviceListState.from_query(QueryDict(query))
    devices = device_registered_list(user=user, search=state.search)
    return list(devices.order_by("pk").values_list("pk", flat=True)[: limit + 1])


def bulk_selection_devices(*, user: User, ids: Sequence[int]) -> list[Device]:
    """
    The selected devices, in id order, if ``user`` may write every one of
    them; Http404 if any is missing, another company's or of a team the user
    may not write (a forged id fails the whole selection).
    """
    wanted = sorted(set(ids))
    devices = list(Device.objects.filter(pk__in=wanted).select_related("team", "license").order_by("pk"))
    if len(devices) != len(wanted) or not all(can_write_team(user, team_id=t) for t in {d.team_id for d in devices}):
        raise Http404("No such device")
    return devices


def bulk_selection_check(*, user: User, ids: Sequence[int]) -> int:
    """
    ``bulk_selection_devices`` without reading the devices (the step that
    runs the action, whose service locks and reads them): the number
    selected, or Http404 alike.
    """
    wanted = set(ids)
    teams = list(Device.objects.filter(pk__in=wanted).values_list("team_id", flat=True))
    if len(teams) != len(wanted) or not all(can_write_team(user, team_id=team_id) for team_id in set(teams)):
        raise Http404("No such device")
    return len(teams)


def _preview(
    count: int, headline: str, devices: Sequence[Device], details: list[str], refusal: str = ""
) -> BulkPreview:
    names = [device.nickname for device in devices[:NAMES_SHOWN]]
    return BulkPreview(
        count=count,
        headline=headline,
        details=details,
        names=names,
        more=max(0, len(devices) - NAMES_SHOWN),
        refusal=refusal,
    )


def bulk_move_preview(*, devices: Sequence[Device], team: Team) -> BulkPreview:
    """ "Move 40 devices to Fleet Services: 12 change time zone (team default)"."""
    moving = [d for d in devices if d.team_id != team.pk]
    zone = [d for d in moving if not d.time_zone and d.team.time_zone != team.time_zone]
    details = []
    if zone:
        details.append(
            ngettext(
                "%(n)d changes time zone (team default %(zone)s)",
                "%(n)d change time zone (team default %(zone)s)",
                len(zone),
            )
            % {"n": len(zone), "zone": team.time_zone}
        )
    if len(moving) != len(devices):
        details.append(f"{len(devices) - len(moving)} already in {team.name}, left as they are")
    headline = f"Move {_devices(len(moving))} to {team.name}"
    refusal = "" if moving else f"Every selected device is already in {team.name}."
    return _preview(len(moving), headline, moving, details, refusal)


def bulk_time_zone_preview(*, devices: Sequence[Device], time_zone: str) -> BulkPreview:
    changing = [d for d in devices if d.time_zone != time_zone]
    zone = time_zone or "their team's default"
    details = []
    if len(changing) != len(devices):
        details.append(f"{len(devices) - len(changing)} already use {zone}, left as they are")
    refusal = "" if changing else f"Every selected device already uses {zone}."
    return _preview(
        len(changing), f"Set the time zone of {_devices(len(changing))} to {zone}", changing, details, refusal
    )


def bulk_functionality_preview(
    *, devices: Sequence[Device], functionality_mode: str, functionality: Sequence[str]
) -> BulkPreview:
    changing = [
        d
        for d in devices
        if d.functionality_mode != functionality_mode or list(d.functionality or []) != list(functionality)
    ]
    what = "company settings" if functionality_mode == FunctionalityMode.COMPANY else "a custom list"
    details = [] if functionality_mode == FunctionalityMode.COMPANY else [f"{len(functionality)} functions allowed"]
    if len(changing) != len(devices):
        details.append(f"{len(devices) - len(changing)} already have it, left as they are")
    refusal = "" if changing else "Every selected device already has this Allowed Functionality."
    headline = f"Set Allowed Functionality of {_devices(len(changing))} to {what}"
    return _preview(len(changing), headline, changing, details, refusal)


def bulk_clients_choices() -> QuerySet[Client]:
    """The clients a bulk Clients tab may assign: the company's active wholesale clients, by name."""
    return Client.objects.filter(client_type=ClientType.WHOLESALE, is_active=True).order_by("name", "pk")


def bulk_clients_preview(*, devices: Sequence[Device], clients: ClientSettings) -> BulkPreview:
    kind = ClientSelectionType(clients.client_selection_type).label
    scope = ClientScope(clients.client_scope).label
    details = [f"{kind}, {scope}"]
    if clients.client_scope == ClientScope.SELECTED:
        n = len(clients.assigned_client_ids)
        details.append(ngettext("%(n)d assigned client", "%(n)d assigned clients", n) % {"n": n})
    if clients.include_area_clients:
        details.append("including every client of the team's area")
    details.append("the current Assigned Clients are replaced")
    return _preview(len(devices), f"Set the Clients tab of {_devices(len(devices))}", devices, details)


def bulk_replace_preview(*, devices: Sequence[Device]) -> BulkPreview:
    registered = [d for d in devices if d.is_registered]
    unlicensed = [d for d in devices if d.license_id is None]
    # One email per recipient for each distinct list of recipients (Replace codes groups devices so).
    recipients = sum(len(group) for group in {tuple(sorted(d.recipients)) for d in devices})
    refusal = ""
    if registered:
        refusal = (
            f"Replace codes acts on pending devices only: {len(registered)} of the selection "
            f"{'is' if len(registered) == 1 else 'are'} registered. Select pending registrations only."
        )
    elif unlicensed:
        refusal = f"{len(unlicensed)} of the selection no longer hold a license: give them one in Edit first."
    details = [
        "their current codes stop working at once",
        ngettext("%(n)d email is queued", "%(n)d emails are queued", recipients) % {"n": recipients}
        if recipients
        else "no email is sent: read the codes from the screen",
    ]
    return _preview(len(devices), f"Replace the codes of {_devices(len(devices))}", devices, details, refusal)


def bulk_delete_preview(*, devices: Sequence[Device]) -> BulkPreview:
    """ "Delete 37 devices: frees 37 licenses, their apps stop working"."""
    licenses = sum(1 for d in devices if d.license_id)
    registered = sum(1 for d in devices if d.is_registered)
    pending = len(devices) - registered
    details = []
    if licenses:
        details.append(ngettext("frees %(n)d license", "frees %(n)d licenses", licenses) % {"n": licenses})
    if registered:
        details.append("their apps stop working" if registered == len(devices) else f"{registered} apps stop working")
    if pending:
        details.append(
            ngettext("%(n)d pending registration is cancelled", "%(n)d pending registrations are cancelled", pending)
            % {"n": pending}
        )
    return _preview(len(devices), f"Delete {_devices(len(devices))}", devices, details)
