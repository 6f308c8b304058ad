from __future__ import annotations

import zoneinfo

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.utils import timezone


def _activate_for(user) -> None:
    if user is not None and user.is_authenticated and user.time_zone:
        try:
            timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            return
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    timezone.deactivate()


class UserTimezoneMiddleware:
    """Render times (and read form input) in the signed-in user's own time zone.

    Async-capable so that, under Daphne, it adds no extra hop to the sync thread."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        _activate_for(getattr(request, "user", None))
        return self.get_response(request)

    async def __acall__(self, request):
        _activate_for(await request.auser() if hasattr(request, "auser") else None)
        return await self.get_response(request)
