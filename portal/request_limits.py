"""A cap on request bodies (``MAX_REQUEST_BODY_BYTES``), enforced before anything reads or parses them.

Twisted, under Daphne, spools each request body (to a temporary file from 100 kB) and only when the
client has sent all of it does Daphne hand it to the application: all of it at once, as in-memory
chunks on the application's queue, whether the application reads them or not. Django then copies and
parses it. A 50 MB upload to any address (the login page) raised a process's peak memory by about
660 MB before Django refused it; an ASGI middleware alone, answering 413 without reading, still left
about 570 MB of that, because Daphne queues the body anyway. So the cap is enforced at two levels:

* ``install_body_limit()`` wraps Daphne's request. A body whose ``Content-Length`` is over the cap,
  or a chunked one that grows past it, is thrown away as it arrives (nothing spooled, nothing queued
  for the application) and answered 413 once the client has sent it: reading the rest keeps the
  connection in step, so the client sees the answer instead of a reset.
* ``BodySizeLimitMiddleware`` guards the ASGI application under any other server: 413 from the
  ``Content-Length`` header without reading a byte, or as soon as streamed chunks pass the cap.

Bodies under the cap are buffered as before; the cap bounds what one request can cost, not how many
requests arrive at once.
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger(__name__)
TOO_LARGE = 413


class BodyTooLarge(Exception):
    pass


def install_body_limit() -> None:
    """Wrap Daphne's ``WebRequest`` so over-limit bodies are discarded as they arrive (idempotent)."""
    from daphne.http_protocol import WebRequest

    if getattr(WebRequest, "body_limited", False):
        return
    limit = settings.MAX_REQUEST_BODY_BYTES
    got_length, handle_content_chunk, process = WebRequest.gotLength, WebRequest.handleContentChunk, WebRequest.process

    def limited_got_length(self, length):
        # Daphne hands the body to Django, which parses forms itself. Twisted would parse every form
        # POST once more first, and answer a multipart body it cannot parse (one with no parts at all,
        # as Wagtail's editing-session ping sends for a snippet or setting without a saved revision)
        # with a bare 400 of its own, before Django or the access log see the request.
        self._parsePOSTFormSubmission = False
        self.body_bytes = 0
        self.body_refused = length is not None and length > limit
        got_length(self, 0 if self.body_refused else length)  # 0: an empty in-memory buffer, no temp file

    def limited_handle_content_chunk(self, data):
        self.body_bytes += len(data)
        if not self.body_refused and self.body_bytes > limit:  # a chunked body just passed the cap
            self.body_refused = True
            self.content.seek(0)
            self.content.truncate()
        if not self.body_refused:
            handle_content_chunk(self, data)

    def limited_process(self):
        if not getattr(self, "body_refused", False):
            return process(self)
        logger.warning(
            "413: request body over MAX_REQUEST_BODY_BYTES (%d bytes received): %s %r",
            self.body_bytes,
            self.method.decode("ascii", "replace"),
            self.path.decode("ascii", "replace")[:200],
        )
        self.basic_error(TOO_LARGE, b"Content Too Large", f"The request body is larger than {limit} bytes.")
        return None

    WebRequest.gotLength = limited_got_length
    WebRequest.handleContentChunk = limited_handle_content_chunk
    WebRequest.process = limited_process
    WebRequest.body_limited = True


class BodySizeLimitMiddleware:
    """ASGI middleware: HTTP requests with a body over ``limit`` bytes get 413 before the application
    reads it."""

    def __init__(self, app, limit: int | None = None):
        self.app = app
        self.limit = settings.MAX_REQUEST_BODY_BYTES if limit is None else limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            return await _too_large(send, self.limit)
        received = 0
        response_started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        async def tracked_send(message):
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not response_started:
                await _too_large(send, self.limit)
        return None


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _too_large(send, limit: int) -> None:
    body = f"Request body too large: the limit is {limit} bytes.\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": TOO_LARGE,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
