"""The site's own "not found" page under ``make run`` too.

With DEBUG on, Django answers every 404 with its technical page, which lists every URL pattern of
the site to whoever opens a wrong link (an unbooked learner opening a room, say). DEBUG stays on in
development so that a 500 still shows its traceback; this middleware, which ``settings/dev.py`` adds
last, gives 404s the page production gives, with status 404. 403s need nothing: Django renders the
site's handler403 whatever DEBUG says.

Last in the list, so WhiteNoise has served static files before it is reached, CommonMiddleware still
redirects ``/path`` to ``/path/`` and Wagtail's redirects still apply to its 404s.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver

from portal.middleware import DualModeMiddleware


class SiteNotFoundPageMiddleware(DualModeMiddleware):
    def handle(self, request: HttpRequest) -> HttpResponse:
        unrouted = _unrouted(request)
        if unrouted is not None:
            return _not_found(request, unrouted)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        unrouted = _unrouted(request)
        if unrouted is not None:  # the page reads the session and the site's settings: sync work
            return await sync_to_async(_not_found)(request, unrouted)
        return await self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """``Http404`` raised by a view (a room that is not yours, a Wagtail page that is not there,
        a media file that is missing)."""
        if isinstance(exception, Http404):
            return _not_found(request, exception)
        return None


def _unrouted(request: HttpRequest) -> Resolver404 | None:
    """Why no URL pattern matches the request, or ``None`` when one does. Django resolves before any
    view runs, so an unknown address never reaches ``process_exception``."""
    try:
        get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
    except Resolver404 as error:
        return error
    return None


def _not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    handler = get_resolver(getattr(request, "urlconf", None)).resolve_error_handler(404)
    return handler(request, exception=exception)
