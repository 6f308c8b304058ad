from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mentoring.selectors import notifications_unread_count, user_has_call_ahead

from .turn import ice_servers_for

# The page only runs a test of a few seconds: its TURN credentials need not outlive that by much.
CALL_CHECK_CREDENTIAL_TTL = 10 * 60


@never_cache  # the page carries TURN credentials
@login_required
def call_check(request: HttpRequest) -> HttpResponse:
    back = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = ""
    # Relay credentials go only to people with a booked call in the next two days: an open sign-up
    # must not be a way to get free use of the TURN server. (The room itself is stricter: only while
    # its join window is open.)
    relay_allowed = user_has_call_ahead(user=request.user)
    ice_servers = ice_servers_for(user_id=request.user.pk, ttl=CALL_CHECK_CREDENTIAL_TTL, turn=relay_allowed)
    return render(
        request,
        "signaling/call_check.html",
        {
            "ice_servers": ice_servers,
            "credential_ttl": CALL_CHECK_CREDENTIAL_TTL,
            "back_url": back,
            "relay_withheld": not relay_allowed and bool(settings.TURN_URLS),
        },
    )


@never_cache  # "who is signed in now" is only true now (Cache-Control: no-store)
@require_GET
def live_identity(request: HttpRequest) -> JsonResponse:
    """Who this browser is signed in as now, for an open tab whose notification socket was closed
    (a logout or a login in another tab): the same person reconnects, anyone else sees a banner.
    Nothing beyond what the header of any page shows them: the user's id, short name, unread count."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"user": None})
    return JsonResponse(
        {"user": {"id": user.pk, "name": user.get_short_name()}, "unread": notifications_unread_count(user=user)}
    )
