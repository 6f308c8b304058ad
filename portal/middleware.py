"""A base for our middleware that works in both the sync and async request paths, and the middleware
that refuses input the database cannot store.

Under Daphne (ASGI) a sync-only middleware forces an extra hop to the sync thread on every
request; these run natively in whichever mode Django calls them.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, UnreadablePostError
from django.http.cookie import parse_cookie
from django.template.loader import render_to_string


class DualModeMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self.handle(request)

    def handle(self, request):
        raise NotImplementedError

    async def __acall__(self, request):
        raise NotImplementedError


# PostgreSQL text cannot hold NUL; any other character (including the U+FFFD that Django puts in place
# of invalid UTF-8 in an address) stores fine.
UNSTORABLE = "\x00"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _in_pairs(pairs) -> bool:
    return any(UNSTORABLE in key or UNSTORABLE in value for key, value in pairs)


def _in_query_dict(data) -> bool:
    return any(UNSTORABLE in key or any(UNSTORABLE in value for value in values) for key, values in data.lists())


def unstorable_part(request: HttpRequest, *, include_body: bool = True) -> str | None:
    """Which part of the request (path, query, cookie, form) carries a character the database cannot
    store, after URL decoding; ``None`` when it is clean."""
    if UNSTORABLE in request.path:
        return "path"
    if _in_query_dict(request.GET):
        return "query"
    # A quoted cookie may spell NUL as "\000"; the session cookie's value is looked up in the database.
    if _in_pairs(request.COOKIES.items()):
        return "cookie"
    if include_body and _has_form_body(request):
        try:
            if _in_query_dict(request.POST):
                return "form"
        except UnreadablePostError:  # the client went away: nothing will be stored anyway
            return None
        if any(UNSTORABLE in key for key in request.FILES):  # Django drops NUL from file names itself
            return "form"
    return None


def _has_form_body(request: HttpRequest) -> bool:
    return request.method == "POST" and request.content_type in _FORM_TYPES


class UnstorableInputMiddleware(DualModeMiddleware):
    """Answers 400 to a request whose address, query, cookies or form fields hold a NUL character,
    before anything can look it up or store it (PostgreSQL refuses NUL in text: a 500 otherwise).
    Form fields are parsed here, which CsrfViewMiddleware would do next anyway."""

    def handle(self, request: HttpRequest) -> HttpResponse:
        return _refusal(unstorable_part(request)) or self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        part = unstorable_part(request, include_body=False)
        if part is None and _has_form_body(request):  # parsing a multipart body is blocking work
            part = await sync_to_async(unstorable_part)(request)
        return _refusal(part) or await self.get_response(request)


def _refusal(part: str | None) -> HttpResponse | None:
    if part is None:
        return None
    # Django's request log records it as a warning ("Bad Request: <path>") like any other 400.
    return HttpResponseBadRequest(render_to_string("400.html"))


class UnstorableWebSocketMiddleware:
    """The same rule for WebSocket handshakes, which no Django middleware sees: one whose address, query
    or cookies hold a NUL is refused (closed before accepting: Daphne answers 403) before the session
    is looked up."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and _handshake_is_unstorable(scope):
            await receive()  # websocket.connect
            await send({"type": "websocket.close"})
            return None
        return await self.app(scope, receive, send)


def _handshake_is_unstorable(scope) -> bool:
    if UNSTORABLE in scope["path"] or UNSTORABLE in unquote_plus(scope.get("query_string", b"").decode("latin-1")):
        return True
    cookies = [value.decode("latin-1") for name, value in scope.get("headers", ()) if name.lower() == b"cookie"]
    return any(_in_pairs(parse_cookie(header).items()) for header in cookies)
