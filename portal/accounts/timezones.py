"""IANA time zone names offered to users."""

from __future__ import annotations

import zoneinfo
from functools import cache


@cache
def timezone_names() -> tuple[str, ...]:
    # Region/City names only: the legacy aliases (EST5EDT, Etc/GMT+3, ...) confuse people.
    names = {
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
    }
    return ("UTC", *sorted(names))


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in timezone_names()]


def is_valid_timezone(name: str) -> bool:
    return name in timezone_names()
