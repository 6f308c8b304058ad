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
