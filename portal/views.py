from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import escape_leading_slashes, url_has_allowed_host_and_scheme


def bench_trivial(request: HttpRequest) -> HttpResponse:
    """The benchmark's reference point: Django with no database and no template."""
    return HttpResponse(b"ok", content_type="text/plain")


STALE_PAGE = (
    "That page was out of date (you signed in or out in another tab, or it was open a long time), "
    "so nothing was done. Here it is again: check it and send it once more."
)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form from a stale page (its CSRF token is from before a sign-in or sign-out, or expired): nothing
    was done, and the person gets the page afresh, with the action to confirm, instead of a bare 403.
    A login form from a stale tab, sent by someone signed in meanwhile, shows them signed in."""
    if (
        request.headers.get("Accept", "").startswith("application/json")
        or request.headers.get("Sec-Fetch-Mode") == "cors"
    ):
        return JsonResponse(
            {"error": "This page is out of date (you signed in or out in another tab). Reload it and try again."},
            status=403,
        )
    if reason == REASON_NO_CSRF_COOKIE and not request.COOKIES:
        return render(request, "403_cookies.html", status=403)
    if request.user.is_authenticated and request.path in (reverse("account_login"), reverse("account_signup")):
        # A login form from a stale tab, or a sign-up's second click after the first signed the browser in.
        messages.info(request, f"You are signed in as {request.user.display_name or request.user.email}.")
        next_url = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = settings.LOGIN_REDIRECT_URL
        return redirect(next_url)
    if request.method == "POST":
        messages.warning(request, STALE_PAGE)
        return redirect(escape_leading_slashes(request.get_full_path()))
    return render(request, "403.html", status=403)
