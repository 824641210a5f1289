"""Reads of the Active Devices page: the visible devices, the search and the versions chart."""

import datetime
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from django.core.paginator import Page
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404
from django.utils import timezone

from backoffice.core.pagination import DEFAULT_PAGE_SIZE, page_size_parse, paginate
from backoffice.core.text import id_parse, text_is_clean
from backoffice.devices.last_seen import ONLINE_WITHIN, STATE_LABELS, STATES, last_seen_q
from backoffice.devices.models import NEVER_SEEN_SORTS_AS, Device, DeviceLicenseTally
from backoffice.licensing.choices import LicenseStatus
from backoffice.licensing.models import NO_EXPIRY, tally_status_on
from backoffice.licensing.selectors import license_status_q
from backoffice.organization.models import Team
from backoffice.organization.selectors import team_visible_queryset
from backoffice.tenancy.models import User

# Sort keys offered on the Active Devices page, mapped to the ORM ordering.
# A version sorts by its sort key, so that 6.10 comes after 6.9; the team,
# the license and the time zone by the copies the database keeps on the
# device row (``Device.sort_team`` and the rest), which an index orders.
DEVICE_SORTS: dict[str, tuple[str, ...]] = {
    "team": ("sort_team",),
    "platform": ("platform",),
    "name": ("nickname",),
    "reg_date": ("registered_at",),
    "change_date": ("changed_at",),
    "license": ("sort_license",),
    "time_zone": ("sort_time_zone",),
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
    def has_boxes(self) -> bool:
        """Whether a search box (not a filter) is filled."""
        return any(getattr(self, name) for name in SEARCH_FIELDS)

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
NULLABLE_SORT_KEYS = frozenset({"sort_license", "last_check_in_at"})


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


def _tally_visible(tally: QuerySet[DeviceLicenseTally], *, user: User) -> QuerySet[DeviceLicenseTally]:
    """The rows of a devices tally that ``user`` may see: a Team Administrator's team's only."""
    if user.is_team_administrator:
        return tally.filter(team_id=user.team_id or 0)
    return tally


def device_registered_count(
    *, user: User, search: DeviceSearch | None = None, figures: "DeviceFigures | None" = None
) -> int:
    """How many registered devices ``user`` may see that ``search`` gives, summed over ``device_figures``."""
    search = search or DeviceSearch()
    figures = figures or device_figures(user=user, search=search)
    return figures.total(search)


@dataclass(frozen=True)
class _Cell:
    """
    Registered devices that share what the filters ask of a device: a team,
    a platform, a version, a license choice on the day (None: not read) and,
    for devices outside Online, their last-seen state and whether they went
    unseen for 7 and for 30 days; and how many.
    """

    team_id: int
    platform: str
    app_version: str
    app_version_key: str
    license: str | None
    seen: str
    not_seen_7: bool
    not_seen_30: bool
    n: int

    def seen_choices(self) -> tuple[str, ...]:
        """The Last seen choices this cell's devices are in (a device outside Online)."""
        return (
            self.seen,
            *((NOT_SEEN_7_DAYS,) if self.not_seen_7 else ()),
            *((NOT_SEEN_30_DAYS,) if self.not_seen_30 else ()),
        )

    def value(self, name: str) -> Any:
        """The cell's choice of filter ``name`` (not Last seen)."""
        if name == FILTER_TEAM:
            return self.team_id
        if name == FILTER_PLATFORM:
            return self.platform
        if name == FILTER_VERSION:
            return self.app_version
        if self.license is None:
            raise ValueError("These figures were read without the license states of the devices outside Online")
        return self.license

    def matches(self, search: DeviceSearch, names: Iterable[str]) -> bool:
        """Whether the cell's devices pass the filters ``names`` (not Last seen) of ``search`` that are set."""
        for name in names:
            wanted = getattr(search, _FILTER_ATTRIBUTES[name])
            if wanted is None or (name == FILTER_LICENSE and not wanted):
                continue  # not set ("" is a choice of Platform and Version: not reported)
            if self.value(name) != wanted:
                return False
        return True


def _grouped_by(name: str) -> Callable[[_Cell], Iterable[Any]]:
    if name == FILTER_LAST_SEEN:
        return _Cell.seen_choices
    return lambda cell: (cell.value(name),)


@dataclass(frozen=True)
class DeviceFigures:
    """
    The registered devices ``user`` may see that a search could give, in
    cells (``_Cell``), from one statement. With no search box filled: the
    license tally's rows (``DeviceLicenseTally``: every device by team,
    platform, version and license state) and the devices outside Online
    counted by the same key and their last-seen state (read through the
    last-seen index; by license state only when the search has a License
    status or Last seen filter, which need the two together); a group's
    Online devices are its tally count less those outside. With a box (text
    cannot be tallied): the devices the boxes match, counted the same way.
    The total, the filters' counts and the versions chart are sums over these
    cells: with no box the cost follows the number of cells and of the
    devices not seen lately, not the size of the fleet; with one, the
    matches, read once. The figures are exact (one snapshot).
    """

    tally: tuple[_Cell, ...]
    outside: tuple[_Cell, ...]
    team_names: Mapping[int, str]

    def _sums(self, search: DeviceSearch, names: tuple[str, ...], group: Callable[[_Cell], Iterable[Any]]) -> Counter:
        """The devices passing the filters ``names`` of ``search``, summed by ``group`` of their cell."""
        others = tuple(name for name in names if name != FILTER_LAST_SEEN)
        seen = search.last_seen if FILTER_LAST_SEEN in names else ""
        sums: Counter = Counter()

        def add(cells: Iterable[_Cell], sign: int) -> None:
            for cell in cells:
                if cell.matches(search, others):
                    for key in group(cell):
                        sums[key] += sign * cell.n

        if not seen or seen == _USUAL_STATE:
            add(self.tally, 1)
        if seen == _USUAL_STATE:
            add(self.outside, -1)
        elif seen:
            add((cell for cell in self.outside if seen in cell.seen_choices()), 1)
        return sums

    def total(self, search: DeviceSearch) -> int:
        return sum(self._sums(search, FILTERS, lambda cell: (None,)).values())

    def counts(self, search: DeviceSearch, name: str) -> dict[Any, int]:
        """Filter ``name``'s choices and how many devices each gives with the rest of ``search``."""
        rest = tuple(other for other in FILTERS if other != name)
        if name != FILTER_LAST_SEEN:
            return {key: n for key, n in self._sums(search, rest, _grouped_by(name)).items() if n}
        # Outside Online: each cell's choices; Online: what the tally leaves.
        counts: Counter = Counter()
        for cell in self.outside:
            if cell.matches(search, rest):
                for choice in cell.seen_choices():
                    counts[choice] += cell.n
        everyone = sum(cell.n for cell in self.tally if cell.matches(search, rest))
        counts[_USUAL_STATE] = everyone - sum(counts[state] for state in STATES if state != _USUAL_STATE)
        return {key: n for key, n in counts.items() if n}

    def breakdown(self, search: DeviceSearch, name: str) -> dict[Any, int]:
        """
        How many devices ``search`` gives (every filter, ``name``'s own too,
        unlike ``counts``) per choice of filter ``name``: a team id, a
        platform or a version ("" for not reported); no zero counts.
        """
        if name not in (FILTER_TEAM, FILTER_PLATFORM, FILTER_VERSION):
            raise ValueError(f"No breakdown by filter {name!r}")
        return {key: n for key, n in self._sums(search, FILTERS, _grouped_by(name)).items() if n}

    def versions(self, search: DeviceSearch) -> dict[str, int]:
        """How many devices ``search`` gives per version."""
        return self.breakdown(search, FILTER_VERSION)

    def states(self, search: DeviceSearch) -> dict[str, int]:
        """
        How many devices ``search`` gives (every filter, Last seen too) in
        each last-seen state of ``STATES``, zero counts included: outside
        Online, the cells' states; Online, what the tally leaves.
        """
        others = tuple(name for name in FILTERS if name != FILTER_LAST_SEEN)
        seen = search.last_seen
        away = [cell for cell in self.outside if cell.matches(search, others)]
        states = dict.fromkeys(STATES, 0)
        if not seen or seen == _USUAL_STATE:
            everyone = sum(cell.n for cell in self.tally if cell.matches(search, others))
            states[_USUAL_STATE] = everyone - sum(cell.n for cell in away)
        if seen != _USUAL_STATE:
            for cell in away:
                if not seen or seen in cell.seen_choices():
                    states[cell.seen] += cell.n
        return states

    def version_keys(self) -> dict[str, str]:
        return {cell.app_version: cell.app_version_key for cell in self.tally}


_TALLY_SIDE = "tally"
# Of the last-seen states, the one most devices of a healthy fleet are in
# (online): its devices are what a tally row leaves once the others are counted.
_USUAL_STATE = STATES[0]  # online: the range of ``device_figures``'s outside ends where it begins


def device_figures(
    *, user: User, search: DeviceSearch | None = None, now: datetime.datetime | None = None
) -> DeviceFigures:
    """
    The cells of ``DeviceFigures`` for ``user`` at ``now``, enough for
    ``search``, in one statement. With no search box filled: the license
    tally's rows and the devices outside Online. With a box (text cannot be
    tallied): the devices the boxes match (through the trigram indexes),
    counted by the same key and their last-seen state.
    """
    now = now or timezone.now()
    search = search or DeviceSearch()
    registered = device_visible_queryset(user=user).filter(registered_at__isnull=False).order_by()
    if search.has_boxes:
        rows = _device_cells_query(registered.filter(_boxes_q(search)), side="matched", joint=True, now=now)
    else:
        # The license state of a device outside Online matters only when the
        # License status and Last seen choices meet (a filter of either set).
        joint = bool(search.license_status or search.last_seen)
        # Every state after Online (idle, offline, never seen) is one range
        # of the last-seen index's expression: the company's devices outside
        # Online are read from that index, whatever the statistics of the
        # whole table (other companies' fleets switched off) lead the
        # planner to expect.
        outside = Q(outside_key__lt=now - ONLINE_WITHIN)
        registered = registered.alias(outside_key=never_seen_first(F("last_check_in_at")))
        tally = (
            _tally_visible(DeviceLicenseTally.objects.filter(n__gt=0), user=user)
            .order_by()
            .annotate(
                team_name=F("team__name"),
                side=Value(_TALLY_SIDE),
                held=F("licensed"),
                suspended=F("is_suspended"),
                expires=F("expires_on"),
                seen=Value(""),
                seen_7=Value(False),
                seen_30=Value(False),
                count=F("n"),
            )
            .values_list(*_CELL_COLUMNS)
        )
        rows = tally.union(
            _device_cells_query(registered.filter(outside), side="outside", joint=joint, now=now), all=True
        )
    day = timezone.localdate(now)
    tallied: dict[_CellKey, int] = {}
    away: list[_Cell] = []
    team_names: dict[int, str] = {}
    for row in rows:
        team_id, team_name, platform, version, version_key, side, held, suspended, expires, seen, seen_7, seen_30, n = (
            row
        )
        if side != "outside":
            team_names[team_id] = team_name
        if held is None:
            license = None
        elif held:
            license = tally_status_on(is_suspended=bool(suspended), expires_on=expires, day=day).value
        else:
            license = LICENSE_NONE
        key: _CellKey = (team_id, platform, version, version_key, license)
        if side in (_TALLY_SIDE, "matched"):
            tallied[key] = tallied.get(key, 0) + n
        if side == _TALLY_SIDE or seen == _USUAL_STATE:
            continue
        away.append(_cell(key, seen=seen, not_seen_7=bool(seen_7), not_seen_30=bool(seen_30), n=n))
    return DeviceFigures(
        tally=tuple(_cell(key, seen="", not_seen_7=False, not_seen_30=False, n=n) for key, n in tallied.items()),
        outside=tuple(away),
        team_names=team_names,
    )


# A cell's devices' team, platform, version, version key and license choice.
type _CellKey = tuple[int, str, str, str, str | None]


def _cell(key: _CellKey, *, seen: str, not_seen_7: bool, not_seen_30: bool, n: int) -> _Cell:
    team_id, platform, version, version_key, license = key
    return _Cell(
        team_id=team_id,
        platform=platform,
        app_version=version,
        app_version_key=version_key,
        license=license,
        seen=seen,
        not_seen_7=not_seen_7,
        not_seen_30=not_seen_30,
        n=n,
    )


_CELL_COLUMNS = (
    "team_id",
    "team_name",
    "platform",
    "app_version",
    "app_version_key",
    "side",
    "held",
    "suspended",
    "expires",
    "seen",
    "seen_7",
    "seen_30",
    "count",
)


def _device_cells_query(devices: QuerySet[Device], *, side: str, joint: bool, now: datetime.datetime) -> QuerySet:
    """
    ``devices`` counted by the cells' key (team, platform, version, license
    state when ``joint``, else none) and last-seen state, as ``_CELL_COLUMNS``
    rows. A side other than "outside" names the teams.
    """
    license_state = (
        {
            "held": ExpressionWrapper(Q(license__isnull=False), output_field=BooleanField()),
            "suspended": Coalesce("license__is_suspended", Value(False)),
            "expires": Coalesce("license__expires_on", Value(NO_EXPIRY)),
        }
        if joint
        else {
            "held": Value(None, output_field=BooleanField()),
            "suspended": Value(None, output_field=BooleanField()),
            "expires": Value(None, output_field=DateField()),
        }
    )
    return (
        devices.annotate(
            team_name=Value("") if side == "outside" else F("team__name"),  # outside: the tally names every team
            side=Value(side),
            **license_state,
            seen=Case(
                *(When(last_seen_q(state, now=now), then=Value(state)) for state in STATES), output_field=CharField()
            ),
            seen_7=Case(When(last_seen_filter_q(NOT_SEEN_7_DAYS, now=now), then=True), default=False),
            seen_30=Case(When(last_seen_filter_q(NOT_SEEN_30_DAYS, now=now), then=True), default=False),
        )
        .values(*_CELL_COLUMNS[:-1])
        .annotate(count=Count("id"))
        .values_list(*_CELL_COLUMNS)
    )


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


def device_filters(
    *,
    user: User,
    search: DeviceSearch,
    now: datetime.datetime | None = None,
    figures: DeviceFigures | None = None,
) -> list[Filter]:
    """
    The filters beside the Search pane, each choice with the number of
    registered devices it would give combined with the rest of the search:
    the boxes and every other filter, not the filter's own choice. Sums over
    ``device_figures`` (one query for the page's counts, total and chart).
    Choices that give nothing are left out, except the one selected.
    """
    figures = figures or device_figures(user=user, search=search, now=now)
    return _filters_from_figures(search, figures)


def _filters_from_figures(search: DeviceSearch, figures: DeviceFigures) -> list[Filter]:
    """``device_filters`` for a search by the filters alone, summed over the cells."""
    keys = figures.version_keys()
    teams = [(team_id, figures.team_names[team_id], n) for team_id, n in figures.counts(search, FILTER_TEAM).items()]
    platforms = list(figures.counts(search, FILTER_PLATFORM).items())
    versions = [(version, keys[version], n) for version, n in figures.counts(search, FILTER_VERSION).items()]
    by_choice = {name: figures.counts(search, name) for name in (FILTER_LICENSE, FILTER_LAST_SEEN)}
    return _filters_of(search, teams, platforms, versions, by_choice)


def _filters_of(
    search: DeviceSearch,
    teams: list[tuple[int, str, int]],
    platforms: list[tuple[str, int]],
    versions: list[tuple[str, str, int]],
    by_choice: Mapping[str, Mapping[str, int]],
) -> list[Filter]:
    """The five filters from their counts: teams and platforms by name (not reported last), newest version first."""
    teams = sorted(teams, key=lambda row: (row[1].lower(), row[0]))
    platforms = sorted(platforms, key=lambda row: (row[0] == "", row[0].lower()))
    versions = sorted(versions, key=lambda row: (row[0] == "", row[1], row[0]), reverse=True)
    versions = [row for row in versions if row[0]] + [row for row in versions if not row[0]]
    filters = [
        _filter(
            search,
            FILTER_TEAM,
            "Team",
            [(str(team_id), name, n) for team_id, name, n in teams],
            missing_label="Unknown team",
        ),
        _filter(
            search,
            FILTER_PLATFORM,
            "Platform",
            [(platform or NOT_REPORTED, platform or NOT_REPORTED_LABEL, n) for platform, n in platforms],
        ),
        _filter(
            search,
            FILTER_VERSION,
            "ReconPro version",
            [(version or NOT_REPORTED, version or NOT_REPORTED_LABEL, n) for version, _, n in versions],
        ),
    ]
    for name, label, choices in (
        (FILTER_LICENSE, "License status", LICENSE_FILTER_CHOICES),
        (FILTER_LAST_SEEN, "Last seen", LAST_SEEN_FILTER_CHOICES),
    ):
        counts = by_choice[name]
        filters.append(_filter(search, name, label, [(value, text, counts.get(value, 0)) for value, text in choices]))
    return filters


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
    devices: QuerySet[Device],
    *,
    user: User | None = None,
    search: DeviceSearch | None = None,
    figures: DeviceFigures | None = None,
) -> list[VersionSlice]:
    """
    Count ``devices`` per ReconPro version, largest first; devices that have
    not reported a version count as "Unknown" (an empty version). With
    ``user`` (``devices`` being the registered devices ``user`` may see that
    ``search`` gives), the counts are sums over ``device_figures``; otherwise
    one GROUP BY.
    """
    search = search or DeviceSearch()
    if user is not None:
        figures = figures or device_figures(user=user, search=search)
        rows = sorted(figures.versions(search).items(), key=lambda row: (-row[1], row[0]))
    else:
        counted = devices.order_by().values("app_version").annotate(count=Count("id")).order_by("-count", "app_version")
        rows = [(row["app_version"], row["count"]) for row in counted]
    total = sum(count for _, count in rows)
    return [VersionSlice(version=version, count=count, percent=100.0 * count / total) for version, count in rows]


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
