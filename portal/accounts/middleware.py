from __future__ import annotations

import zoneinfo

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import urlencode

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


# The admins' own login and logout views send the visitor to the site's (allauth) pages.
_MFA_EXEMPT = ("/admin/login/", "/admin/logout/", "/cms/login/", "/cms/logout/")


def needs_mfa(user) -> bool:
    """Staff (Django admin) and editors (Wagtail admin) hold other people's data: they need two-factor
    authentication, not just a password."""
    return user.is_active and (user.is_staff or user.is_superuser or user.has_perm("wagtailadmin.access_admin"))


def _mfa_setup_redirect(request):
    from allauth.mfa.utils import is_mfa_enabled

    user = request.user
    if not user.is_authenticated or not needs_mfa(user) or is_mfa_enabled(user):
        return None
    messages.warning(
        request, "Staff and editor accounts need two-factor authentication. Set up an authenticator app to continue."
    )
    return redirect(f"{settings.MFA_SETUP_URL}?{urlencode({'next': request.path})}")


class StaffMFAMiddleware(DualModeMiddleware):
    """With ``MFA_REQUIRED_FOR_STAFF``, an account that can enter ``/admin/`` or ``/cms/`` is sent to
    set up an authenticator app before it gets there. Logging in with it then always asks for a code,
    because every login (the admins' included) goes through allauth's login."""

    @staticmethod
    def applies(request) -> bool:
        return (
            settings.MFA_REQUIRED_FOR_STAFF
            and request.path_info.startswith(settings.ADMIN_PATH_PREFIXES)
            and not request.path_info.startswith(_MFA_EXEMPT)
        )

    def handle(self, request):
        return (self.applies(request) and _mfa_setup_redirect(request)) or self.get_response(request)

    async def __acall__(self, request):
        if self.applies(request):
            response = await sync_to_async(_mfa_setup_redirect)(request)
            if response is not None:
                return response
        return await self.get_response(request)
