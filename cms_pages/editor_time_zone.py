"""Wagtail's admin in each editor's own time zone: the one on their site profile (``User.time_zone``).

Wagtail shows and reads every date in its admin in the zone of the editor's ``UserProfile``
(``current_time_zone``, UTC when empty). This keeps that field in step with the site profile on every
admin request, so an editor in Berlin who types 19:31 in the scheduling dialog means 19:31 in Berlin.
Wagtail's own time-zone choice is hidden (``WAGTAIL_USER_TIME_ZONES = []``): there is one setting, on
the site's profile page.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse

from portal.middleware import DualModeMiddleware

ADMIN_PREFIX = "/cms/"


def editor_time_zone_sync(*, user) -> None:
    """Copy the user's time zone to their Wagtail profile (created if missing), and leave the profile
    on the user, where Wagtail's admin reads it without another query."""
    from wagtail.users.models import UserProfile

    if not user.is_authenticated:
        return
    profile = UserProfile.get_for_user(user)
    if profile.current_time_zone != user.time_zone:
        profile.current_time_zone = user.time_zone
        profile.save(update_fields=["current_time_zone"])
    user.wagtail_userprofile = profile


def _sync(request: HttpRequest) -> None:
    editor_time_zone_sync(user=request.user)


class EditorTimeZoneMiddleware(DualModeMiddleware):
    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(ADMIN_PREFIX):
            _sync(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(ADMIN_PREFIX):
            await sync_to_async(_sync)(request)
        return await self.get_response(request)
