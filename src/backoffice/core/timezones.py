"""
The IANA time zones: which names are offered, which stay valid, and how a
name that a person types is resolved.

*Offered* are the current names of the time zone database: those of its
``zone.tab`` (every country's zones under their current names, such as
Asia/Kolkata or Europe/Kyiv), plus UTC. Deprecated aliases (US/Eastern,
Asia/Calcutta, GMT+0, Etc/GMT+5, ...) are not offered, but they are still
*valid*: a row may store one, and saving it again keeps it. Typed anew, an
alias resolves to the current name it stands for (its ``Link`` in the
database's ``tzdata.zi``).

The data is read from the time zone database that ``zoneinfo`` uses (the
system's, else the ``tzdata`` package). Where it has no ``zone.tab``, every
name outside the legacy areas is offered instead.
"""

import difflib
import importlib.resources
import os
import zoneinfo
from dataclasses import dataclass
from functools import cache

UTC = "UTC"
# Files of a zoneinfo directory that are no time zone anyone means.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})
# Areas of legacy aliases, used only when the database has no zone.tab.
_LEGACY_AREAS = ("Etc/", "SystemV/", "US/", "Canada/", "Mexico/", "Brazil/", "Chile/")
# How many names an error message lists.
MAX_LISTED = 6


def _database_file(name: str) -> str | None:
    """The text of ``name`` (``zone.tab``, ``tzdata.zi``) from zoneinfo's database, or None."""
    for directory in zoneinfo.TZPATH:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as file:
                return file.read()
    try:
        return importlib.resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return None


def _rows(text: str | None) -> list[list[str]]:
    if not text:
        return []
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def _known() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES) | {UTC}


@cache
def _current() -> dict[str, str]:
    """Each offered name and the countries it serves (for searching by country)."""
    countries = {row[0]: row[1] for row in _rows(_database_file("iso3166.tab")) if len(row) >= 2}
    known = _known()
    zones: dict[str, list[str]] = {}
    for row in _rows(_database_file("zone.tab")):
        if len(row) >= 3 and row[2] in known:
            zones.setdefault(row[2], []).append(countries.get(row[0], ""))
    if not zones:
        zones = {name: [] for name in known if "/" in name and not name.startswith(_LEGACY_AREAS)}
    zones[UTC] = []
    return {name: ", ".join(sorted(filter(None, set(found)))) for name, found in sorted(zones.items())}


@cache
def _aliases() -> dict[str, str]:
    """Every valid name that is not offered, mapped to the offered name it stands for."""
    current = _current()
    links: dict[str, str] = {}
    for line in (_database_file("tzdata.zi") or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    for alias, target in list(links.items()):
        for _ in range(3):  # a link to a link, in some builds of the data
            target = links.get(target, target)
        links[alias] = target
    # An offered name that is itself a link (UTC, to Etc/UTC) stands for its
    # target's other aliases; GMT is the same clock as UTC.
    by_target = {links[name]: name for name in current if name in links and links[name] not in current}
    by_target.setdefault("Etc/UTC", UTC)
    by_target.setdefault("Etc/GMT", UTC)
    aliases = {}
    for name in _known() - current.keys():
        target = links.get(name, name)
        if target in current:
            aliases[name] = target
        elif target in by_target:
            aliases[name] = by_target[target]
    return aliases


def time_zone_names() -> tuple[str, ...]:
    """The offered (current) IANA names, sorted."""
    return tuple(_current())


def time_zone_choices() -> list[tuple[str, str]]:
    """The offered names as (value, label): the name with spaces, then its countries."""
    return [(name, time_zone_label(name)) for name in _current()]


def time_zone_label(name: str) -> str:
    """``America/New_York`` as "America/New York · United States", to read and to search."""
    countries = _current().get(name, "")
    shown = name.replace("_", " ")
    return f"{shown} · {countries}" if countries else shown


def is_current_time_zone(name: str) -> bool:
    """Whether ``name`` is offered: a current IANA name."""
    return name in _current()


def time_zone_alias_of(name: str) -> str | None:
    """The current name that the deprecated alias ``name`` stands for, if any."""
    return _aliases().get(name)


def is_valid_time_zone(name: str) -> bool:
    """
    Whether ``name`` is a time zone that may be stored: any name of the
    database, deprecated aliases included, so that a row storing one can be
    saved again. What forms offer and accept as new input is narrower
    (``time_zone_resolve``).
    """
    return name in _known()


@dataclass(frozen=True)
class TimeZoneMatch:
    """
    What a typed name resolves to: ``name`` when it names one time zone,
    else ``candidates``: the zones it could mean (several matched), or close
    spellings (none matched). Both empty: nothing is near.
    """

    name: str | None = None
    candidates: tuple[str, ...] = ()
    ambiguous: bool = False


def _key(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).casefold()


def _city(name: str) -> str:
    return _key(name.rsplit("/", 1)[-1])


@cache
def _index() -> tuple[dict[str, str], dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """Full names, cities and countries (as keys) mapped to offered names."""
    full: dict[str, str] = {}
    cities: dict[str, set[str]] = {}
    countries: dict[str, set[str]] = {}
    for alias, target in _aliases().items():
        full[_key(alias)] = target
        cities.setdefault(_city(alias), set()).add(target)
    for name, served in _current().items():
        full[_key(name)] = name
        cities.setdefault(_city(name), set()).add(name)
        for country in filter(None, served.split(", ")):
            countries.setdefault(_key(country), set()).add(name)
    return (
        full,
        {key: frozenset(names) for key, names in cities.items()},
        {key: frozenset(names) for key, names in countries.items()},
    )


def _one_or_several(names: set[str] | frozenset[str], query: str) -> TimeZoneMatch:
    """One zone, or several: those whose city starts with ``query`` first."""
    if len(names) == 1:
        return TimeZoneMatch(name=next(iter(names)))
    ranked = sorted(names, key=lambda name: (not _city(name).startswith(query), name))
    return TimeZoneMatch(candidates=tuple(ranked), ambiguous=True)


def time_zone_resolve(text: str, *, keep: str = "") -> TimeZoneMatch:
    """
    Resolve what a person typed, in any case and with spaces or underscores,
    to one offered time zone.

    In order: ``keep`` (the value stored before, kept as it is even when it
    is a deprecated alias), a full name ("america/chicago"; an alias gives
    its current name), a city ("chicago", "new york", "calcutta"), a country
    ("japan"), then any part of a name or country ("america/chi", "york").
    A step that matches several zones makes the answer ambiguous; when
    nothing matches, the candidates are close spellings.
    """
    query = _key(text)
    if not query:
        return TimeZoneMatch()
    if keep and _key(keep) == query and is_valid_time_zone(keep):
        return TimeZoneMatch(name=keep)
    full, cities, countries = _index()
    if query in full:
        return TimeZoneMatch(name=full[query])
    for found in (cities.get(query), countries.get(query)):
        if found:
            return _one_or_several(found, query)
    parts = {name for key, name in full.items() if query in key}
    parts |= {name for key, names in countries.items() if query in key for name in names}
    if parts:
        return _one_or_several(parts, query)
    close = difflib.get_close_matches(query, [*full, *cities], n=MAX_LISTED, cutoff=0.75)
    names = dict.fromkeys(full[key] if key in full else min(cities[key]) for key in close)
    return TimeZoneMatch(candidates=tuple(names))
