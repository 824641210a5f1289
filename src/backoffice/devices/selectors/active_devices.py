"""Reads of the Active Devices page: the visible devices, the search and the versions chart."""

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from django.core.paginator import Page
from django.db.models import Count, DateTimeField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404
from django.utils import timezone

from backoffice.core.pagination import DEFAULT_PAGE_SIZE, page_size_parse, paginate
from backoffice.core.text import id_parse, text_is_clean
from backoffice.devices.last_seen import STATE_LABELS, STATES, last_seen_q
from backoffice.devices.models import NEVER_SEEN_SORTS_AS, Device, DeviceLicenseTally, DeviceTally
from backoffice.licensing.choices import LicenseStatus
from backoffice.licensing.models import tally_status_on
from backoffice.licensing.selectors import license_status_q
from backoffice.organization.models import Team
from backoffice.organization.selectors import team_visible_queryset
from backoffice.tenancy.models import User

# Sort keys offered on the Active Devices page, mapped to the ORM ordering.
# A version sorts by its sort key, so that 6.10 comes after 6.9.
DEVICE_SORTS: dict[str, tuple[str, ...]] = {
    "team": ("team__name",),
    "platform": ("platform",),
    "name": ("nickname",),
    "reg_date": ("registered_at",),
    "change_date": ("changed_at",),
    "license": ("license__number",),
    "time_zone": ("shown_time_zone",),
    "last_seen": ("last_check_in_at",),
    "version": ("app_version_key",),
}
DEFAULT_DEVICE_SORT = "name"

SEARCH_FIELDS = ("team", "license", "nickname", "platform", "version")
SEARCH_BOX_MAX_LENGTH = 100
REPORTED_MAX_LENGTH = 64

# The filters beside the boxes, by their name in the query string.
FILTER_TEAM = "t"
FILTER_PLATFORM = "p"
FILTER_VERSION = "v"  # also what a slice of the versions chart adds
FILTER_LICENSE = "lic"
FILTER_LAST_SEEN = "seen"
FILTERS = (FILTER_TEAM, FILTER_PLATFORM, FILTER_VERSION, FILTER_LICENSE, FILTER_LAST_SEEN)

# A platform or version filter's value for devices that reported none; an
# empty value means "any".
NOT_REPORTED = "(none)"
NOT_REPORTED_LABEL = "Not reported"

LICENSE_NONE = "none"
LICENSE_FILTER_CHOICES: tuple[tuple[str, str], ...] = (
    *((status.value, str(status.label)) for status in LicenseStatus),
    (LICENSE_NONE, "No license"),
)

NOT_SEEN_7_DAYS = "7d"
NOT_SEEN_30_DAYS = "30d"
NOT_SEEN_DAYS = {NOT_SEEN_7_DAYS: 7, NOT_SEEN_30_DAYS: 30}
LAST_SEEN_FILTER_CHOICES: tuple[tuple[str, str], ...] = (
    *((state, STATE_LABELS[state]) for state in STATES),
    (NOT_SEEN_7_DAYS, "Not seen in 7 days"),
    (NOT_SEEN_30_DAYS, "Not seen in 30 days"),
)


# The Search pane's boxes and filters as the page names them ("v", the
# ReconPro version filter, is also what the versions chart's links set).
SEARCH_LABELS = {
    "team": "Team",
    "license": "License",
    "nickname": "Nickname",
    "platform": "Platform",
    "version": "Version",
    FILTER_TEAM: "Team",
    FILTER_PLATFORM: "Platform",
    FILTER_VERSION: "ReconPro version",
    FILTER_LICENSE: "License status",
    FILTER_LAST_SEEN: "Last seen",
}


@dataclass(frozen=True)
class DeviceSearch:
    """
    The Search pane's boxes and the filters beside them; empty boxes and
    filters are ignored, the others combine with AND.

    ``exact_version`` and ``exact_platform`` are None for "any" and "" for
    devices that reported none; ``team_id`` is None for any team.
    """

    team: str = ""
    license: str = ""
    nickname: str = ""
    platform: str = ""
    version: str = ""
    exact_version: str | None = field(default=None)
    team_id: int | None = None
    exact_platform: str | None = None
    license_status: str = ""
    last_seen: str = ""
    # Boxes whose value broke the text rules (a control character): ignored, and named to the person.
    ignored: tuple[str, ...] = field(default=(), compare=False)
    # Filters whose value is none of their choices (an unknown word, a number too long to be an id): ignored too.
    rejected: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "DeviceSearch":
        """
        The search in a query string. A box or filter with a control character
        is ignored (docs/decisions.md), as is a filter whose value is not one
        of its choices; both are named in ``ignored`` or ``rejected``.
        """
        values: dict[str, Any] = {}
        ignored: list[str] = []
        rejected: list[str] = []
        for name in SEARCH_FIELDS:
            value = (query.get(name) or "").strip()[:SEARCH_BOX_MAX_LENGTH]
            if text_is_clean(value):
                values[name] = value
            else:
                values[name] = ""
                ignored.append(name)
        raw: dict[str, str] = {}
        for name in FILTERS:
            value = (query.get(name) or "").strip()
            if not text_is_clean(value):
                ignored.append(name)
            elif value:
                raw[name] = value
        for name, value in raw.items():
            parsed = _filter_parse(name, value)
            if parsed is None:
                rejected.append(name)
            else:
                values[_FILTER_ATTRIBUTES[name]] = parsed
        return cls(**values, ignored=tuple(ignored), rejected=tuple(rejected))

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in SEARCH_FIELDS) and not self.filters_in_use

    @property
    def filters_in_use(self) -> tuple[str, ...]:
        """The names of the filters that are set, in ``FILTERS`` order."""
        return tuple(name for name in FILTERS if self.filter_value(name))

    def filter_value(self, name: str) -> str:
        """The query-string value of filter ``name``; "" when it is not set."""
        value = getattr(self, _FILTER_ATTRIBUTES[name])
        if value is None:
            return ""
        if name in (FILTER_PLATFORM, FILTER_VERSION):
            return value or NOT_REPORTED
        return str(value)

    def as_query(self) -> dict[str, str]:
        """The search as a query string's parameters, in a fixed order, empty ones left out."""
        query = {name: getattr(self, name) for name in SEARCH_FIELDS if getattr(self, name)}
        for name in FILTERS:
            value = self.filter_value(name)
            if value:
                query[name] = value
        return query


_FILTER_ATTRIBUTES = {
    FILTER_TEAM: "team_id",
    FILTER_PLATFORM: "exact_platform",
    FILTER_VERSION: "exact_version",
    FILTER_LICENSE: "license_status",
    FILTER_LAST_SEEN: "last_seen",
}


def _filter_parse(name: str, value: str) -> int | str | None:
    """The value of filter ``name`` as ``DeviceSearch`` holds it; None when it is not one of its choices."""
    if name == FILTER_TEAM:
        return id_parse(value)
    if name in (FILTER_PLATFORM, FILTER_VERSION):
        if value == NOT_REPORTED:
            return ""
        return value if len(value) <= REPORTED_MAX_LENGTH else None
    choices = LICENSE_FILTER_CHOICES if name == FILTER_LICENSE else LAST_SEEN_FILTER_CHOICES
    return value if value in dict(choices) else None


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
        # The team's time zone by a scalar subquery rather than a join, so
        # that the page's ids query (the deferred join) reads the devices
        # table alone when the sort needs nothing else.
        .annotate(
            shown_time_zone=Coalesce(
                NullIf(F("time_zone"), Value("")),
                Subquery(Team.objects.filter(pk=OuterRef("team_id")).values("time_zone")[:1]),
            )
        )
    )
    if search is not None:
        devices = devices.filter(device_search_q(search))
    # Ties fall back to nickname, then id, in the same direction, so that a
    # descending sort is exactly the ascending one reversed.
    keys = (*DEVICE_SORTS.get(sort, DEVICE_SORTS[DEFAULT_DEVICE_SORT]), "nickname", "id")
    first: Any = F(keys[0])
    nullable = [name in NULLABLE_SORT_KEYS for name in keys]
    if keys[0] == "last_check_in_at" and descending:
        # Latest first, never seen last: the order of the index on
        # COALESCE(last check-in, the earliest instant), read backwards;
        # never empty, so no NULLS LAST.
        first = never_seen_first(F("last_check_in_at"))
        nullable[0] = False
    if search is not None and _boxes_q(search):
        # A text search is served by the trigram indexes, then its matches
        # sorted; sorting by COALESCE(key, key) (the same order) keeps the
        # planner from walking the sort's index in the hope of meeting 50
        # matches early, which reads most of the fleet when they sort late.
        first = Coalesce(first, first)
    # Empty values sort last both ways; only the columns that can be empty
    # say so, so that the others read their index backwards when descending.
    ordering = [
        _ordered(key, descending=descending, nullable=empty)
        for key, empty in zip((first, *map(F, keys[1:])), nullable, strict=True)
    ]
    return devices.order_by(*ordering)


def never_seen_first(last_check_in: Any) -> Coalesce:
    """The last check-in with "never" as the earliest instant (the expression of the index)."""
    return Coalesce(last_check_in, Value(NEVER_SEEN_SORTS_AS, output_field=DateTimeField()))


# The sort keys that may be empty for a registered device.
NULLABLE_SORT_KEYS = frozenset({"license__number", "last_check_in_at", "shown_time_zone"})


def _ordered(key: Any, *, descending: bool, nullable: bool) -> Any:
    if not nullable:
        return key.desc() if descending else key.asc()
    return key.desc(nulls_last=True) if descending else key.asc(nulls_last=True)


def device_page(
    devices: QuerySet[Device], page_number: str | None, *, per_page: int = DEFAULT_PAGE_SIZE, count: int | None = None
) -> Page:
    """
    Page ``page_number`` of ``devices`` (``device_registered_list``) by a
    deferred join: the OFFSET walks the ordering over ids alone (an index
    scan, no team, license or time zone per skipped row), then only the
    page's rows are read whole, in that order. A deep page therefore costs
    about what the first does. Two queries besides the count, none when
    ``count`` (``device_registered_count``) is known.
    """
    page = paginate(devices.values_list("pk", flat=True), page_number, per_page=per_page, count=count)
    ids = list(page.object_list)
    rows = {device.pk: device for device in devices.order_by().filter(pk__in=ids)}
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


def _tally_visible[T: (DeviceTally, DeviceLicenseTally)](tally: QuerySet[T], *, user: User) -> QuerySet[T]:
    """The rows of a devices tally that ``user`` may see: a Team Administrator's team's only."""
    if user.is_team_administrator:
        return tally.filter(team_id=user.team_id or 0)
    return tally


def _tally_rows(*, user: User) -> list[dict[str, Any]]:
    """
    The rows of ``DeviceTally`` that ``user`` may see (a Team Administrator:
    their team's), those that count a device, with the team's name. One
    query over a few rows whatever the size of the fleet.
    """
    tally = _tally_visible(DeviceTally.objects.filter(n__gt=0), user=user)
    columns = ("team_id", "team__name", "platform", "app_version", "app_version_key", "licensed", "n")
    return [dict(row) for row in tally.values(*columns).order_by()]


def _tally_grouped(rows: list[dict[str, Any]], *columns: str) -> list[dict[str, Any]]:
    """``rows`` summed by ``columns``, as ``values(*columns).annotate(n=Count(...))`` gives them."""
    totals: dict[tuple[Any, ...], int] = {}
    for row in rows:
        key = tuple(row[column] for column in columns)
        totals[key] = totals.get(key, 0) + row["n"]
    return [dict(zip(columns, key, strict=True), n=n) for key, n in totals.items()]


def device_registered_count(*, user: User, search: DeviceSearch | None = None) -> int | None:
    """
    How many registered devices ``user`` may see, read from the tally when
    no search or filter is set; None when one is (the page then counts the
    matches).
    """
    if search is not None and not search.is_empty:
        return None
    return _tally_visible(DeviceTally.objects.all(), user=user).aggregate(n=Sum("n"))["n"] or 0


def device_search_q(search: DeviceSearch, *, now: datetime.datetime | None = None) -> Q:
    """
    Case-insensitive substring match on every non-empty box, and every filter
    that is set, combined with AND. ``now`` (the current time by default)
    places the last-seen boundaries; a license's status is that of today in
    the active time zone (the company's).
    """
    now = now or timezone.now()
    return _boxes_q(search) & _filters_q(search, FILTERS, now=now)


def _boxes_q(search: DeviceSearch) -> Q:
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
    return q


def _filters_q(search: DeviceSearch, names: tuple[str, ...], *, now: datetime.datetime) -> Q:
    """The filters ``names`` of ``search`` that are set, combined with AND."""
    q = Q()
    if FILTER_TEAM in names and search.team_id is not None:
        q &= Q(team_id=search.team_id)
    if FILTER_PLATFORM in names and search.exact_platform is not None:
        q &= Q(platform=search.exact_platform)
    if FILTER_VERSION in names and search.exact_version is not None:
        q &= Q(app_version=search.exact_version)
    if FILTER_LICENSE in names and search.license_status:
        q &= license_filter_q(search.license_status, day=timezone.localdate(now))
    if FILTER_LAST_SEEN in names and search.last_seen:
        q &= last_seen_filter_q(search.last_seen, now=now)
    return q


def license_filter_q(choice: str, *, day: datetime.date) -> Q:
    """Devices whose license has status ``choice`` on ``day``, or no license for ``LICENSE_NONE``."""
    if choice == LICENSE_NONE:
        return Q(license__isnull=True)
    return license_status_q(choice, day=day, prefix="license__")


def last_seen_filter_q(choice: str, *, now: datetime.datetime) -> Q:
    """
    Devices in last-seen state ``choice`` at ``now``; "not seen in N days"
    takes devices whose last check-in is older than N days and those never
    seen.
    """
    if choice in NOT_SEEN_DAYS:
        return Q(last_check_in_at__lt=now - datetime.timedelta(days=NOT_SEEN_DAYS[choice])) | Q(
            last_check_in_at__isnull=True
        )
    return last_seen_q(choice, now=now)


@dataclass(frozen=True)
class FilterChoice:
    """One choice of a filter: its value in the query string, what it reads, and how many devices it gives."""

    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Filter:
    """A filter beside the Search pane, with the count of each choice combined with the rest of the search."""

    name: str
    label: str
    choices: list[FilterChoice]
    selected: str


def device_filters(*, user: User, search: DeviceSearch, now: datetime.datetime | None = None) -> list[Filter]:
    """
    The filters beside the Search pane, each choice with the number of
    registered devices it would give combined with the rest of the search:
    the boxes and every other filter, not the filter's own choice.

    One query per filter: team, platform and version are counted with GROUP
    BY (read from ``DeviceTally`` instead when no search or filter is set),
    license status and last seen with one conditional count per choice.
    Choices that give nothing are left out, except the one selected.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    # The boxes apply to every count: they narrow the rows read (through the
    # trigram indexes), the filters other than the one counted select among them.
    registered = device_visible_queryset(user=user).filter(registered_at__isnull=False).order_by()
    matching = registered.filter(_boxes_q(search))

    def rest(name: str) -> Q:
        return _filters_q(search, tuple(other for other in FILTERS if other != name), now=now)

    # With no search nor filter, the team, platform and version choices are
    # counted from the tally (one small query for the three).
    tally = _tally_rows(user=user) if search.is_empty else None

    def grouped(name: str, *columns: str) -> list[dict[str, Any]]:
        if tally is not None:
            return _tally_grouped(tally, *columns)
        condition = rest(name)
        count = Count("id", filter=condition) if condition else Count("id")
        return list(matching.values(*columns).annotate(n=count))

    filters = []
    teams = sorted(
        grouped(FILTER_TEAM, "team_id", "team__name"), key=lambda row: (row["team__name"].lower(), row["team_id"])
    )
    filters.append(
        _filter(
            search,
            FILTER_TEAM,
            "Team",
            [(str(row["team_id"]), row["team__name"], row["n"]) for row in teams],
            missing_label="Unknown team",
        )
    )
    platforms = sorted(
        grouped(FILTER_PLATFORM, "platform"), key=lambda row: (row["platform"] == "", row["platform"].lower())
    )
    filters.append(
        _filter(
            search,
            FILTER_PLATFORM,
            "Platform",
            [(row["platform"] or NOT_REPORTED, row["platform"] or NOT_REPORTED_LABEL, row["n"]) for row in platforms],
        )
    )
    # Newest version first, by the version's sort key.
    versions = sorted(
        grouped(FILTER_VERSION, "app_version", "app_version_key"),
        key=lambda row: (row["app_version"] == "", row["app_version_key"], row["app_version"]),
        reverse=True,
    )
    versions = [row for row in versions if row["app_version"]] + [row for row in versions if not row["app_version"]]
    filters.append(
        _filter(
            search,
            FILTER_VERSION,
            "ReconPro version",
            [
                (row["app_version"] or NOT_REPORTED, row["app_version"] or NOT_REPORTED_LABEL, row["n"])
                for row in versions
            ],
        )
    )
    for name, label, choices, choice_q in (
        (FILTER_LICENSE, "License status", LICENSE_FILTER_CHOICES, lambda value: license_filter_q(value, day=day)),
        (FILTER_LAST_SEEN, "Last seen", LAST_SEEN_FILTER_CHOICES, lambda value: last_seen_filter_q(value, now=now)),
    ):
        if tally is not None:
            if name == FILTER_LICENSE:
                by_choice = _license_counts_from_tally(user=user, day=day)
            else:
                by_choice = _last_seen_counts_beside_the_usual(registered, tally, now=now)
            counts = {f"c{index}": by_choice[value] for index, (value, _) in enumerate(choices)}
        else:
            condition = rest(name)
            counts = matching.aggregate(
                **{
                    f"c{index}": Count("id", filter=condition & choice_q(value))
                    for index, (value, _) in enumerate(choices)
                }
            )
        filters.append(
            _filter(
                search,
                name,
                label,
                [(value, text, counts[f"c{index}"] or 0) for index, (value, text) in enumerate(choices)],
            )
        )
    return filters


# Of the choices that split every device exactly once, the one most devices
# of a healthy fleet are in (online), and the others.
_USUAL_STATE = STATES[0]


def _license_counts_from_tally(*, user: User, day: datetime.date) -> dict[str, int]:
    """
    How many registered devices ``user`` may see are in each License status
    choice on ``day``, summed from ``DeviceLicenseTally`` (each row's status
    taken on ``day``): one query over a few rows.
    """
    tally = _tally_visible(DeviceLicenseTally.objects.filter(n__gt=0), user=user)
    counts = {value: 0 for value, _ in LICENSE_FILTER_CHOICES}
    for row in tally.values("licensed", "is_suspended", "expires_on", "n").order_by():
        if not row["licensed"]:
            counts[LICENSE_NONE] += row["n"]
            continue
        status = tally_status_on(is_suspended=row["is_suspended"], expires_on=row["expires_on"], day=day)
        counts[status.value] += row["n"]
    return counts


def _last_seen_counts_beside_the_usual(
    registered: QuerySet[Device], tally: list[dict[str, Any]], *, now: datetime.datetime
) -> dict[str, int]:
    """
    The Last seen choices' counts with no search, without counting the whole
    fleet: every choice but Online is counted over the devices outside it
    (check-ins older than the online window, or none), which the last-seen
    index reaches, and Online is what the tally's total leaves. The cost
    follows the devices not seen lately, not the size of the fleet.
    """
    others = [value for value, _ in LAST_SEEN_FILTER_CHOICES if value != _USUAL_STATE]
    outside = Q()
    for state in STATES:
        if state != _USUAL_STATE:
            outside |= last_seen_q(state, now=now)
    found = registered.filter(outside).aggregate(
        **{value: Count("id", filter=last_seen_filter_q(value, now=now)) for value in others}
    )
    counts = {value: found[value] or 0 for value in others}
    total = sum(row["n"] for row in tally)
    counts[_USUAL_STATE] = total - sum(counts[state] for state in STATES if state != _USUAL_STATE)
    return counts


def _filter(
    search: DeviceSearch, name: str, label: str, rows: list[tuple[str, str, int]], *, missing_label: str = ""
) -> Filter:
    """A ``Filter`` from its (value, label, count) rows; a selected value that no row has is kept, with 0."""
    selected = search.filter_value(name)
    choices = [
        FilterChoice(value=value, label=text, count=count, selected=value == selected)
        for value, text, count in rows
        if count or value == selected
    ]
    if selected and not any(choice.selected for choice in choices):
        shown = missing_label or (NOT_REPORTED_LABEL if selected == NOT_REPORTED else selected)
        choices.append(FilterChoice(value=selected, label=shown, count=0, selected=True))
    return Filter(name=name, label=label, choices=choices, selected=selected)


@dataclass(frozen=True)
class VersionSlice:
    version: str
    count: int
    percent: float


def device_version_breakdown(
    devices: QuerySet[Device], *, user: User | None = None, search: DeviceSearch | None = None
) -> list[VersionSlice]:
    """
    Count ``devices`` per ReconPro version in SQL, largest first; devices that
    have not reported a version count as "Unknown" (an empty version). With
    ``user`` and an empty ``search`` (``devices`` being all the registered
    devices ``user`` may see), the counts come from the tally.
    """
    if user is not None and (search is None or search.is_empty):
        grouped = _tally_grouped(_tally_rows(user=user), "app_version")
        rows = sorted(
            ({"app_version": row["app_version"], "count": row["n"]} for row in grouped if row["n"]),
            key=lambda row: (-row["count"], row["app_version"]),
        )
    else:
        counted = devices.order_by().values("app_version").annotate(count=Count("id")).order_by("-count", "app_version")
        rows = [dict(row) for row in counted]
    total = sum(row["count"] for row in rows)
    return [
        VersionSlice(version=row["app_version"], count=row["count"], percent=100.0 * row["count"] / total)
        for row in rows
    ]


@dataclass(frozen=True)
class DeviceListState:
    """
    Everything the URL says of the registered devices list: the search and
    filters, the sort, its direction and the page size. ``as_query`` is the
    normalised query string a saved view stores and a link reopens.
    """

    search: DeviceSearch = field(default_factory=DeviceSearch)
    sort: str = DEFAULT_DEVICE_SORT
    descending: bool = False
    per_page: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "DeviceListState":
        """The list as ``query`` asks for it; an unknown sort or page size gives the default."""
        sort = query.get("sort") or DEFAULT_DEVICE_SORT
        if sort not in DEVICE_SORTS:
            sort = DEFAULT_DEVICE_SORT
        return cls(
            search=DeviceSearch.from_query(query),
            sort=sort,
            descending=query.get("dir") == "desc",
            per_page=page_size_parse(query.get("per_page")),
        )

    def as_query(self) -> dict[str, str]:
        """The search's parameters, then sort, direction and page size where they are not the defaults."""
        query = self.search.as_query()
        if self.sort != DEFAULT_DEVICE_SORT:
            query["sort"] = self.sort
        if self.descending:
            query["dir"] = "desc"
        if self.per_page != DEFAULT_PAGE_SIZE:
            query["per_page"] = str(self.per_page)
        return query

    def as_query_string(self) -> str:
        return urlencode(self.as_query())


PENDING_SEARCH_PARAMETER = "pq"


class PendingRow(Protocol):
    """What the pending search reads of a Pending Registrations row (``PendingRegistration``)."""

    @property
    def device(self) -> Device: ...

    @property
    def emails(self) -> list[Any]: ...


def pending_search_parse(query: Mapping[str, str]) -> str:
    """The Pending Registrations search box's text; "" when empty or when it breaks the text rules."""
    value = (query.get(PENDING_SEARCH_PARAMETER) or "").strip()[:SEARCH_BOX_MAX_LENGTH]
    return value if text_is_clean(value) else ""


def pending_registration_filter[Row: PendingRow](rows: Iterable[Row], text: str) -> list[Row]:
    """
    The rows of Pending Registrations whose nickname, team or a recipient
    contains ``text`` (case-insensitive); every row when ``text`` is empty.
    The section lists a company's few pending devices, already read in a
    fixed number of queries, so the match runs on those rows.
    """
    rows = list(rows)
    needle = text.casefold()
    if not needle:
        return rows

    def matches(row: Row) -> bool:
        device = row.device
        haystack = [device.nickname, device.team.name, *device.recipients, *(email.recipient for email in row.emails)]
        return any(needle in str(value).casefold() for value in haystack)

    return [row for row in rows if matches(row)]


def device_search_description(*, user: User, search: DeviceSearch) -> list[tuple[str, str]]:
    """
    The search as a person reads it, one (label, value) pair per box or filter
    in use: a box's text, a filter's choice by its label (the team's name, not
    its id; "Not reported" for ``(none)``). At most one query (the team's name,
    among the teams ``user`` may see).
    """
    described = [(SEARCH_LABELS[name], getattr(search, name)) for name in SEARCH_FIELDS if getattr(search, name)]
    choice_labels = {FILTER_LICENSE: dict(LICENSE_FILTER_CHOICES), FILTER_LAST_SEEN: dict(LAST_SEEN_FILTER_CHOICES)}
    for name in search.filters_in_use:
        value = search.filter_value(name)
        if name == FILTER_TEAM:
            shown = (
                team_visible_queryset(user=user).filter(pk=search.team_id or 0).values_list("name", flat=True).first()
                or "Unknown team"
            )
        elif name in choice_labels:
            shown = choice_labels[name].get(value, value)
        else:
            shown = NOT_REPORTED_LABEL if value == NOT_REPORTED else value
        described.append((SEARCH_LABELS[name], shown))
    return described
