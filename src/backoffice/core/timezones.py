"""The IANA time zones offered in forms, and how they are shown."""

import zoneinfo
from functools import cache


@cache
def time_zone_names() -> tuple[str, ...]:
    """Return the canonical IANA zone names, sorted, without legacy aliases."""
    legacy = ("Etc/", "SystemV/", "US/", "Canada/", "Mexico/", "Brazil/", "Chile/")
    names = {
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(legacy) and name != "posixrules"
    }
    names.add("UTC")
    return tuple(sorted(names))


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in time_zone_names()]


def is_valid_time_zone(name: str) -> bool:
    return name in time_zone_names()
