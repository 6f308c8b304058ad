"""Showing stored instants in a viewer's time zone without letting an extreme value break the page.

Python datetimes live between the years 1 and 9999. An instant that is valid in UTC (9999-12-31
20:00, or 0001-01-01 01:00) can fall outside that range once shifted to UTC+14 or UTC-12, and
``astimezone`` then raises ``OverflowError``. Whatever one person (or an admin, or an old row)
stored, other people's pages render: such an instant is shown in UTC instead.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, tzinfo
from typing import TypeVar

from django.utils import timezone

T = TypeVar("T")


def zone_or_utc(name: str | None) -> tzinfo:
    """The IANA zone of that name, or UTC for an empty or unknown one."""
    try:
        return zoneinfo.ZoneInfo(name) if name else UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def safe_localtime(value: T, tz: tzinfo | str | None = None) -> T:
    """``value`` in ``tz`` (a zone or its name; default: the active zone), like Django's ``localtime``;
    in UTC when the local time would fall outside the years 1 to 9999, and unchanged when even UTC does.
    Anything else (naive datetimes, dates, ``None``) comes back as it is."""
    if not isinstance(value, datetime) or timezone.is_naive(value):
        return value
    zone = zone_or_utc(tz) if isinstance(tz, str) else tz
    try:
        return timezone.localtime(value, zone)
    except (OverflowError, ValueError):
        pass
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return value


# Django ``date`` format characters (https://docs.djangoproject.com/en/5.2/ref/templates/builtins/#date).
_MONTH_NAMES = frozenset("bEFMN")
_HAS_YEAR = frozenset("coruUyY")  # formats that already show (or stand for) the year


def format_with_year(format_string: str, value: datetime, now: datetime) -> str:
    """``format_string`` with the year after its month name when ``value`` is not in ``now``'s year
    (both already in the viewer's zone): "D j M, H:i" shows "Thu 1 Jan, 10:00" this year and
    "Thu 1 Jan 2099, 10:00" otherwise. Formats without a month name, or with a year, stay as they are.
    A backslash escapes a character, as in Django's own formats."""
    if value.year == now.year:
        return format_string
    month_at = None
    escaped = False
    for index, char in enumerate(format_string):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _HAS_YEAR:
            return format_string
        elif char in _MONTH_NAMES and month_at is None:
            month_at = index
    if month_at is None:
        return format_string
    return f"{format_string[: month_at + 1]} Y{format_string[month_at + 1 :]}"
