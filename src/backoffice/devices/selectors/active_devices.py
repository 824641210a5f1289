"""Reads of the Active Devices page: the visible devices, the search, the versions chart and the report."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404

from backoffice.core.text import text_is_clean
from backoffice.devices.models import Device
from backoffice.documents.choices import DocumentKind
from backoffice.documents.selectors import document_count_subquery
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
    # Boxes whose value broke the text rules (a control character): ignored, and named to the person.
    ignored: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "DeviceSearch":
        """The search in a query string; a box with a control character is ignored (docs/decisions.md)."""
        values: dict[str, str] = {}
        ignored: list[str] = []
        for name in SEARCH_FIELDS:
            value = (query.get(name) or "").strip()[:100]
            if text_is_clean(value):
                values[name] = value
            else:
                values[name] = ""
                ignored.append(name)
        exact = query.get("v")
        if exact is not None and not text_is_clean(exact):
            exact = None
            ignored.append("v")
        return cls(**values, exact_version=exact[:64] if exact is not None else None, ignored=tuple(ignored))

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
            service_requests=document_count_subquery(kind=DocumentKind.SERVICE_REQUEST),
            inspections=document_count_subquery(kind=DocumentKind.INSPECTION),
            work_orders=document_count_subquery(kind=DocumentKind.WORK_ORDER),
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
