"""A whole-page cache for anonymous visitors of Wagtail pages.

Only responses that a page marks cacheable (``CacheablePageMixin``) are stored, only for requests
without a session or messages cookie and without a query string. Any publish, unpublish, move or
delete of a page bumps a version number, so the next visit renders afresh.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from portal.middleware import DualModeMiddleware

VERSION_KEY = "pagecache:version"
SKIP_PREFIXES = ("/cms/", "/admin/", "/accounts/", "/static/", "/media/", "/ws/", "/documents/")


def page_cache_clear(**_kwargs) -> None:
    """Invalidate every cached page (connected to Wagtail's publish/unpublish/move/delete signals)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 1, None)


def _eligible(request: HttpRequest) -> bool:
    return (
        settings.PAGE_CACHE_SECONDS > 0
        and request.method in ("GET", "HEAD")
        and not request.META.get("QUERY_STRING")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
        and not request.path.startswith(SKIP_PREFIXES)
    )


class AnonymousPageCacheMiddleware(DualModeMiddleware):
    def handle(self, request: HttpRequest) -> HttpResponse:
        if not _eligible(request):
            return self.get_response(request)
        cached = cache.get(_key(request, cache.get(VERSION_KEY, 0)))
        if cached is not None:
            return _from_cache(cached)
        response = self.get_response(request)
        if _cacheable(request, response):
            # The version is read again: rendering may itself have changed it.
            cache.set(
                _key(request, cache.get(VERSION_KEY, 0)),
                (response.content, response["Content-Type"]),
                settings.PAGE_CACHE_SECONDS,
            )
            response["X-Page-Cache"] = "miss"
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if not _eligible(request):
            return await self.get_response(request)
        cached = await cache.aget(_key(request, await cache.aget(VERSION_KEY, 0)))
        if cached is not None:
            return _from_cache(cached)
        response = await self.get_response(request)
        if _cacheable(request, response):
            await cache.aset(
                _key(request, await cache.aget(VERSION_KEY, 0)),
                (response.content, response["Content-Type"]),
                settings.PAGE_CACHE_SECONDS,
            )
            response["X-Page-Cache"] = "miss"
        return response


def _key(request: HttpRequest, version: int) -> str:
    # Hashed: a path is as long as a visitor makes it, and a cache key has a limit (250 for memcached).
    where = hashlib.sha256(f"{request.get_host()}:{request.path}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"pagecache:{version}:{where}"


def _from_cache(cached: tuple[bytes, str]) -> HttpResponse:
    content, content_type = cached
    response = HttpResponse(content, content_type=content_type)
    response["X-Page-Cache"] = "hit"
    # Set here because CommonMiddleware, below this one, never sees a hit. Without it Daphne sends
    # the page chunked, and the chunked terminator waits on a delayed ACK: about 40 ms per page on
    # a keep-alive connection (bench/http_load.py measured landing at 43 requests/s instead of 200+).
    response["Content-Length"] = str(len(content))
    return response


def _cacheable(request: HttpRequest, response: HttpResponse) -> bool:
    return (
        getattr(response, "page_cacheable", False)
        and response.status_code == 200
        and not response.cookies
        and not getattr(request, "is_preview", False)
    )
