"""Reads on devices."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404

from backoffice.devices.models import Device
from backoffice.tenancy.models import User

# Sort keys offered on the Active Devices page, mapped to the ORM ordering.
DEVICE_SORTS: dict[str, tuple[str, ...]] = {
    "team": ("team__name",),
    "platform": ("platform",),
    "name": ("nickname",),
    "reg_date": ("registered_at",),
    "change_date": ("changed_at",),
    "license": ("license__number",),
    "time_zone": ("shown_time_zone",),
}
DEFAULT_DEVICE_SORT = "name"

SEARCH_FIELDS = ("team", "license", "nickname", "platform", "version")


@dataclass(frozen=True)
class DeviceSearch:
    """The Search pane's boxes; empty boxes are ignored, the others combine."""

    team: str = ""
    license: str = ""
    nickname: str = ""
    platform: str = ""
    version: str = ""
    exact_version: str | None = field(default=None)

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "DeviceSearch":
        values = {name: (query.get(name) or "").strip()[:100] for name in SEARCH_FIELDS}
        exact = query.get("v")
        return cls(**values, exact_version=exact[:64] if exact is not None else None)

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in SEARCH_FIELDS) and self.exact_version is None

    def as_query(self) -> dict[str, str]:
        query = {name: getattr(self, name) for name in SEARCH_FIELDS if getattr(self, name)}
        if self.exact_version is not None:
            query["v"] = self.exact_version
        return query


def device_visible_queryset(*, user: User) -> QuerySet[Device]:
    """
    Devices of the scoped company that ``user`` may see: all of them, or only
    their own team's for a Team Administrator.
    """
    devices = Device.objects.all()
    if user.is_team_administrator:
        devices = devices.filter(team_id=user.team_id or 0)
    return devices


def device_get_for_company(*, user: User, pk: object) -> Device:
    """
    Return the device ``pk`` if ``user`` may see it; raise Http404 otherwise,
    alike for a missing device, another company's or another team's.
    """
    try:
        return device_visible_queryset(user=user).select_related("team", "license").get(pk=int(str(pk)))
    except (Device.DoesNotExist, ValueError, TypeError):
        raise Http404("No such device") from None


def device_registered_list(
    *, user: User, search: DeviceSearch | None = None, sort: str = DEFAULT_DEVICE_SORT, descending: bool = False
) -> QuerySet[Device]:
    """
    Registered devices for the Active Devices page, with team and license
    joined so the page needs a fixed number of queries.
    """
    devices = (
        device_visible_queryset(user=user)
        .filter(registered_at__isnull=False)
        .select_related("team", "license")
        .annotate(shown_time_zone=Coalesce(NullIf(F("time_zone"), Value("")), F("team__time_zone")))
    )
    if search is not None:
        devices = devices.filter(device_search_q(search))
    # Ties fall back to nickname, then id, in the same direction, so that a
    # descending sort is exactly the ascending one reversed.
    keys = (*DEVICE_SORTS.get(sort, DEVICE_SORTS[DEFAULT_DEVICE_SORT]), "nickname", "id")
    ordering = [F(key).desc(nulls_last=True) if descending else F(key).asc(nulls_last=True) for key in keys]
    return devices.order_by(*ordering)


def device_search_q(search: DeviceSearch) -> Q:
    """Case-insensitive substring match on every non-empty box, combined with AND."""
    q = Q()
    if search.team:
        q &= Q(team__name__icontains=search.team)
    if search.license:
        q &= Q(license__number__icontains=search.license) | Q(license__license_type__icontains=search.license)
    if search.nickname:
        q &= Q(nickname__icontains=search.nickname)
    if search.platform:
        q &= Q(platform__icontains=search.platform)
    if search.version:
        q &= Q(app_version__icontains=search.version)
    if search.exact_version is not None:
        q &= Q(app_version=search.exact_version)
    return q


def device_effective_config(*, device: Device) -> dict[str, object]:
    """
    The settings a registered device runs with, as the device API serves them
    (``GET /config``); run inside the device's company scope.

    ``device`` must come with its team and company loaded (the device API's
    credential look-up joins them). The answer is plain JSON data in a stable
    order, so that its hash is a stable ETag, and it costs two queries whatever
    the number of employees and clients:

    - employees: the active employees of the device's team, who may use
      ReconPro on it;
    - time zone: the device's own, else its team's default;
    - clients (active ones only), from the Clients tab: *All* gives every
      client of the selected type(s). *Selected* gives every retail client
      when the type allows retail (particular retail clients cannot be
      selected), plus, when the type allows wholesale, the assigned wholesale
      clients and the wholesale clients of documents recorded on this device.
      *Include ALL from Area* adds the clients of the team's area, within the
      selected type(s), when the company has Area Support;
    - functionality: the company's default set under "Use Company Settings",
      else the device's own, in the order of ``Functionality``.
    """
    # Imported here: only this selector of the module needs them.
    from backoffice.devices.choices import ClientScope, ClientSelectionType, Functionality, FunctionalityMode
    from backoffice.devices.models import DeviceClient
    from backoffice.documents.models import Document
    from backoffice.organization.choices import ClientType
    from backoffice.organization.models import Client, Employee

    team = device.team
    company = device.company
    employees = list(
        Employee.objects.filter(team_id=device.team_id, is_active=True).order_by("name", "id").values("id", "name")
    )

    types = {
        ClientSelectionType.BOTH: [ClientType.RETAIL, ClientType.WHOLESALE],
        ClientSelectionType.RETAIL: [ClientType.RETAIL],
        ClientSelectionType.WHOLESALE: [ClientType.WHOLESALE],
    }.get(ClientSelectionType(device.client_selection_type), [])
    if device.client_scope == ClientScope.ALL:
        chosen = Q(client_type__in=types)
    else:
        chosen = Q(pk__in=[])
        if ClientType.RETAIL in types:
            chosen |= Q(client_type=ClientType.RETAIL)
        if ClientType.WHOLESALE in types:
            chosen |= Q(client_type=ClientType.WHOLESALE) & (
                Q(pk__in=DeviceClient.objects.filter(device_id=device.pk).values("client_id"))
                | Q(pk__in=Document.objects.filter(device_id=device.pk).values("client_id"))
            )
    if company.area_support and device.include_area_clients and team.area_id is not None:
        chosen |= Q(area_id=team.area_id, client_type__in=types)
    rows = Client.objects.filter(chosen, is_active=True).order_by("name", "id").values("id", "name", "client_type")
    clients = [{"id": row["id"], "name": row["name"], "type": row["client_type"]} for row in rows]

    if device.functionality_mode == FunctionalityMode.COMPANY:
        allowed = set(company.default_functionality or [])
    else:
        allowed = set(device.functionality or [])
    return {
        "device": {"id": device.pk, "nickname": device.nickname},
        "team": {"id": team.pk, "name": team.name},
        "employees": employees,
        "time_zone": device.time_zone or team.time_zone,
        "clients": clients,
        "functionality": [item.value for item in Functionality if item.value in allowed],
    }
