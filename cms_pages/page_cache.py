"""A whole-page cache for anonymous visitors of Wagtail pages.

Only responses that a page marks cacheable (``CacheablePageMixin``) are stored, only for requests
without a session or messages cookie and without a query string. Any publish, unpublish, move or
delete of a page bumps a version number, so the next visit renders afresh.

The entries and the version live in the ``pages`` cache, which every process shares (Redis, or files
under var/ for `make run`): a scheduled publish done by ``run_periodic`` or ``manage.py
publish_scheduled`` clears what Daphne serves. A page whose body shows live data (seats left, Book
buttons) is not cached at all (``CacheablePageMixin``).
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from portal.middleware import DualModeMiddleware

VERSION_KEY = "pagecache:version"
SKIP_PREFIXES = ("/cms/", "/admin/", "/accounts/", "/static/", "/media/", "/ws/", "/documents/")


def page_cache():
    """The cache every process shares for pages and the site chrome (settings ``CACHES["pages"]``)."""
    return caches["pages"]


def page_cache_version(cache=None) -> int:
    """The current version. Missing (first use, or evicted) is a fresh number, never an earlier one
    whose entries may still be there."""
    cache = cache or page_cache()
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, time.time_ns(), None)
        version = cache.get(VERSION_KEY)
    return version


async def _aversion(cache) -> int:
    version = await cache.aget(VERSION_KEY)
    if version is None:
        await cache.aadd(VERSION_KEY, time.time_ns(), None)
        version = await cache.aget(VERSION_KEY)
    return version


def page_cache_bump() -> None:
    """A new version now (no database involved)."""
    cache = page_cache()
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        # Missing (first use, or evicted): a fresh number no earlier version can have had.
        cache.set(VERSION_KEY, time.time_ns(), None)


def page_cache_clear(**_kwargs) -> None:
    """Invalidate every cached page (connected to Wagtail's publish/unpublish/move/delete signals).

    Bumped now and again when the transaction commits: a visit rendered between the two, from the
    data as it was before the commit, is stored under a version that is then already gone."""
    page_cache_bump()
    transaction.on_commit(page_cache_bump)


def _eligible(request: HttpRequest) -> bool:
    return (
        settings.PAGE_CACHE_SECONDS > 0
        and request.method in ("GET", "HEAD")
        and not request.META.get("QUERY_STRING")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
        and not request.path.startswith(SKIP_PREFIXES)
        # Wagtail's preview renders a draft through this chain as a dummy request: never the cached page.
        and not getattr(request, "is_dummy", False)
    )


class AnonymousPageCacheMiddleware(DualModeMiddleware):
    def handle(self, request: HttpRequest) -> HttpResponse:
        if not _eligible(request):
            return self.get_response(request)
        cache = page_cache()
        cached = cache.get(_key(request, page_cache_version(cache)))
        if cached is not None:
            return _from_cache(cached)
        response = self.get_response(request)
        if _cacheable(request, response):
            # The version is read again: rendering may itself have changed it (creating the chrome).
            cache.set(
                _key(request, page_cache_version(cache)),
                (response.content, response["Content-Type"]),
                settings.PAGE_CACHE_SECONDS,
            )
            response["X-Page-Cache"] = "miss"
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if not _eligible(request):
            return await self.get_response(request)
        cache = page_cache()
        cached = await cache.aget(_key(request, await _aversion(cache)))
        if cached is not None:
            return _from_cache(cached)
        response = await self.get_response(request)
        if _cacheable(request, response):
            await cache.aset(
                _key(request, await _aversion(cache)),
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
