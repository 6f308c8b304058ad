from __future__ import annotations

import zoneinfo

from django.utils import timezone

from portal.middleware import DualModeMiddleware


def _activate_for(user) -> None:
    if user is not None and user.is_authenticated and user.time_zone:
        try:
            timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            return
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    timezone.deactivate()


class UserTimezoneMiddleware(DualModeMiddleware):
    """Render times (and read form input) in the signed-in user's own time zone."""

    def handle(self, request):
        _activate_for(getattr(request, "user", None))
        return self.get_response(request)

    async def __acall__(self, request):
        _activate_for(await request.auser() if hasattr(request, "auser") else None)
        return await self.get_response(request)
