"""Reads on devices."""

import datetime
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404
from django.utils import timezone

from backoffice.devices.choices import ClientScope, ClientSelectionType, FunctionalityMode
from backoffice.tenancy.choices import Functionality
from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, DeviceClient, RegistrationCode
from backoffice.documents.choices import DocumentKind
from backoffice.documents.models import Document
from backoffice.notifications.models import OutboxEmail
from backoffice.organization.models import Client, Employee, Team
from backoffice.tenancy.models import Company, User

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


@dataclass(frozen=True)
class VersionSlice:
    version: str
    count: int
    percent: float


def device_version_breakdown(devices: QuerySet[Device]) -> list[VersionSlice]:
    """
    Count ``devices`` per ReconPro version in SQL, largest first; devices that
    have not reported a version count as "Unknown" (an empty version).
    """
    rows = list(devices.order_by().values("app_version").annotate(count=Count("id")).order_by("-count", "app_version"))
    total = sum(row["count"] for row in rows)
    return [
        VersionSlice(version=row["app_version"], count=row["count"], percent=100.0 * row["count"] / total)
        for row in rows
    ]


REPORT_HEADER = (
    "Team",
    "Nickname",
    "Platform",
    "OS Type",
    "Device",
    "Device ID",
    "ReconPro Version",
    "License Number",
    "License Type",
    "License Status",
    "Time Zone",
    "Reg Date",
    "Change Date",
    "Last Check-in",
    "Service Requests",
    "Inspections",
    "Work Orders",
)


def _document_count(kind: str) -> Coalesce:
    counts = (
        Document.objects.filter(device=OuterRef("pk"), kind=kind)
        .order_by()
        .values("device")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(counts), Value(0))


def device_report_rows(*, user: User, search: DeviceSearch) -> Iterator[tuple[Any, ...]]:
    """
    Yield one tuple per registered device in the search (every page), in the
    list's default order, with the Devices Report's columns as raw values.
    Rows are read in chunks so memory stays flat whatever the fleet size.

    The query is built here, inside the caller's company scope, and only
    evaluated while the response streams, after the scope has closed.
    """
    devices = (
        device_registered_list(user=user, search=search)
        .annotate(
            service_requests=_document_count(DocumentKind.SERVICE_REQUEST),
            inspections=_document_count(DocumentKind.INSPECTION),
            work_orders=_document_count(DocumentKind.WORK_ORDER),
        )
        .values_list(
            "team__name",
            "nickname",
            "platform",
            "os_type",
            "device_name",
            "device_identifier",
            "app_version",
            "license__number",
            "license__license_type",
            "license__is_suspended",
            "license__expires_on",
            "shown_time_zone",
            "registered_at",
            "changed_at",
            "last_check_in_at",
            "service_requests",
            "inspections",
            "work_orders",
        )
    )
    return devices.iterator(chunk_size=2000)


@dataclass(frozen=True)
class PendingRegistration:
    """
    One row of the Pending Registrations section: a pending device, or a
    registered one with a live replacement code. ``code`` is the formatted
    code while it can be used, None once it has expired (or its copy is gone).
    """

    device: Device
    registration_code: RegistrationCode | None
    code: str | None
    emails: list[OutboxEmail]
    is_expired: bool

    @property
    def is_replacement(self) -> bool:
        return self.device.is_registered


def _live_codes() -> QuerySet[RegistrationCode]:
    return RegistrationCode.objects.filter(used_at__isnull=True, revoked_at__isnull=True)


def pending_registration_list(*, user: User, now: datetime.datetime | None = None) -> list[PendingRegistration]:
    """
    Pending devices and registered devices with a live replacement code,
    oldest first, each with its live code and that code's emails. Three
    queries whatever the number of rows.
    """
    now = now or timezone.now()
    devices = (
        device_visible_queryset(user=user)
        .filter(Q(registered_at__isnull=True) | Exists(_live_codes().filter(device_id=OuterRef("pk"))))
        .select_related("team", "license")
        .prefetch_related(
            Prefetch(
                "codes",
                queryset=_live_codes().prefetch_related(
                    Prefetch("emails", queryset=OutboxEmail.objects.order_by("pk"), to_attr="email_list")
                ),
                to_attr="live_codes",
            )
        )
        .order_by("created_at", "pk")
    )
    rows = []
    for device in devices:
        live = device.live_codes[0] if device.live_codes else None  # type: ignore[attr-defined]
        code = None
        is_expired = live is not None and live.expires_at <= now
        if live is not None and not is_expired:
            plain = code_unseal(live.sealed_code)
            code = code_format(plain) if plain else None
        rows.append(
            PendingRegistration(
                device=device,
                registration_code=live,
                code=code,
                emails=live.email_list if live is not None else [],  # type: ignore[attr-defined]
                is_expired=is_expired,
            )
        )
    return rows


def _types_of(client_selection_type: str) -> list[str]:
    """The client types that a Client Selection Type makes available."""
    from backoffice.organization.choices import ClientType

    return {
        ClientSelectionType.BOTH: [ClientType.RETAIL, ClientType.WHOLESALE],
        ClientSelectionType.RETAIL: [ClientType.RETAIL],
        ClientSelectionType.WHOLESALE: [ClientType.WHOLESALE],
    }.get(client_selection_type, [])  # type: ignore[call-overload]


def effective_clients(
    *,
    company: Company,
    team: Team,
    client_selection_type: str,
    client_scope: str,
    include_area_clients: bool,
    assigned_client_ids: Iterable[int],
    device_id: int | None = None,
) -> QuerySet[Client]:
    """
    The clients available on a device with these Clients tab settings, active
    ones only, sorted by name: the one rule (docs/clients-and-functionality.md)
    behind the device's configuration, the dialog's preview and the documents
    a device may record. Usable for a saved device and for unsaved settings;
    ``device_id`` adds the wholesale clients of documents recorded on that
    device. Run inside the company's scope.

    - *All* gives every client of the selected type(s).
    - *Selected* gives every retail client when the type includes retail
      (particular retail clients cannot be selected), plus, when the type
      includes wholesale, the assigned wholesale clients and the wholesale
      clients of documents recorded on this device.
    - *Include ALL from Area* adds the clients of the team's area, within the
      selected type(s), when the company has Area Support.
    """
    from backoffice.organization.choices import ClientType

    types = _types_of(client_selection_type)
    if client_scope == ClientScope.ALL:
        chosen = Q(client_type__in=types)
    else:
        chosen = Q(pk__in=[])
        if ClientType.RETAIL in types:
            chosen |= Q(client_type=ClientType.RETAIL)
        if ClientType.WHOLESALE in types:
            ids = assigned_client_ids if isinstance(assigned_client_ids, QuerySet) else list(assigned_client_ids)
            picked = Q(pk__in=ids)
            if device_id is not None:
                picked |= Q(pk__in=Document.objects.filter(device_id=device_id).values("client_id"))
            chosen |= Q(client_type=ClientType.WHOLESALE) & picked
    if company.area_support and include_area_clients and team.area_id is not None:
        chosen |= Q(area_id=team.area_id, client_type__in=types)
    return Client.objects.filter(chosen, company_id=company.pk, is_active=True).order_by("name", "id")


def effective_functionality(*, company: Company, functionality_mode: str, functionality: Iterable[str]) -> list[str]:
    """
    The functions allowed on a device: the company's default set under "Use
    Company Settings" (so a later change there reaches the device), else the
    device's own; in the order of ``Functionality``.
    """
    if functionality_mode == FunctionalityMode.COMPANY:
        allowed = set(company.default_functionality or [])
    else:
        allowed = set(functionality or [])
    return [item.value for item in Functionality if item.value in allowed]


def device_document_clients(*, device_id: int) -> QuerySet[Client]:
    """
    Active wholesale clients of documents recorded on the device: available
    on it under *Selected* even when not in Assigned Clients.
    """
    from backoffice.organization.choices import ClientType

    return Client.objects.filter(
        client_type=ClientType.WHOLESALE,
        is_active=True,
        pk__in=Document.objects.filter(device_id=device_id).values("client_id"),
    ).order_by("name", "id")


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
    - clients: ``effective_clients`` for the device's Clients tab, with its
      assigned clients and its documents;
    - functionality: ``effective_functionality`` for its Allowed
      Functionality tab.
    """
    team = device.team
    company = device.company
    employees = list(
        Employee.objects.filter(team_id=device.team_id, is_active=True).order_by("name", "id").values("id", "name")
    )
    rows = effective_clients(
        company=company,
        team=team,
        client_selection_type=device.client_selection_type,
        client_scope=device.client_scope,
        include_area_clients=device.include_area_clients,
        assigned_client_ids=DeviceClient.objects.filter(device_id=device.pk).values_list("client_id", flat=True),
        device_id=device.pk,
    ).values("id", "name", "client_type")
    clients = [{"id": row["id"], "name": row["name"], "type": row["client_type"]} for row in rows]
    return {
        "device": {"id": device.pk, "nickname": device.nickname},
        "team": {"id": team.pk, "name": team.name},
        "employees": employees,
        "time_zone": device.time_zone or team.time_zone,
        "clients": clients,
        "functionality": effective_functionality(
            company=company, functionality_mode=device.functionality_mode, functionality=device.functionality
        ),
    }


CLIENT_SEARCH_LIMIT = 50
PREVIEW_NAMES = 20


def wholesale_client_search(*, q: str, limit: int = CLIENT_SEARCH_LIMIT) -> list[Client]:
    """
    Active wholesale clients of the scoped company whose name contains ``q``
    (any case), by name, at most ``limit``: the Assigned Clients drop-down,
    which has to cope with thousands of clients.
    """
    from backoffice.organization.choices import ClientType

    clients = Client.objects.filter(client_type=ClientType.WHOLESALE, is_active=True)
    if q.strip():
        clients = clients.filter(name__icontains=q.strip()[:150])
    return list(clients.order_by("name", "id")[:limit])


def wholesale_client_pick(*, text: str) -> tuple[Client | None, str]:
    """
    The client meant by the text of the Assigned Clients box: an entry of the
    list ("Name · #12"), else the one active wholesale client with exactly
    that name. Returns the client, or None and the reason to show.
    """
    from backoffice.organization.choices import ClientType

    text = text.strip()
    if not text:
        return None, "Choose a wholesale client from the list, then click Add."
    clients = Client.objects.filter(client_type=ClientType.WHOLESALE, is_active=True)
    match = re.search(r"#(\d{1,12})$", text)
    if match:
        client = clients.filter(pk=int(match.group(1))).first()
        if client is not None:
            return client, ""
    named = list(clients.filter(name__iexact=text)[:2])
    if len(named) == 1:
        return named[0], ""
    if named:
        return None, f"Several wholesale clients are called “{text}”; choose one from the list."
    return None, f"No active wholesale client is called “{text}”; choose one from the list."


@dataclass(frozen=True)
class ConfigPreview:
    """What the Device dialog shows of the effective configuration."""

    client_count: int
    client_names: list[str]
    functionality: list[str]

    @property
    def more_clients(self) -> int:
        return self.client_count - len(self.client_names)


def effective_preview(
    *,
    company: Company,
    team: Team,
    client_selection_type: str,
    client_scope: str,
    include_area_clients: bool,
    assigned_client_ids: Iterable[int],
    functionality_mode: str,
    functionality: Iterable[str],
    device_id: int | None = None,
) -> ConfigPreview:
    """
    The clients and functionality a device with these settings, saved or not,
    would get: ``effective_clients`` and ``effective_functionality``, counted
    and with the first ``PREVIEW_NAMES`` client names.
    """
    clients = effective_clients(
        company=company,
        team=team,
        client_selection_type=client_selection_type,
        client_scope=client_scope,
        include_area_clients=include_area_clients,
        assigned_client_ids=assigned_client_ids,
        device_id=device_id,
    )
    allowed = effective_functionality(
        company=company, functionality_mode=functionality_mode, functionality=functionality
    )
    return ConfigPreview(
        client_count=clients.count(),
        client_names=list(clients.values_list("name", flat=True)[:PREVIEW_NAMES]),
        functionality=[Functionality(value).label for value in allowed],
    )
