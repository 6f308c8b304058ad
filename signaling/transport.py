"""A per-socket frame-rate limit in Daphne itself, before frames reach any consumer.

The consumers' own limit (``CallConsumer.RATE_PER_SECOND``) only sees frames as fast as the event
loop hands them over. A client that writes frames as fast as its network allows keeps Daphne busy
parsing them, so the consumer sees a trickle and its limit would trip only after seconds, while every
other socket on the process waits. Counting frames where Daphne parses them cuts such a socket off
within milliseconds: it gets close code 4029 and nothing more it sent reaches the application.

The limit is far above what a call page sends (heartbeats, chat, ICE candidates), so it never
touches a well-behaved client; ordinary floods still meet the consumer's limit first, with an
``error`` frame explaining it.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from .protocol import CLOSE_FLOOD, TokenBucket

logger = logging.getLogger(__name__)


def install_frame_limit() -> None:
    """Wrap Daphne's ``WebSocketProtocol.onMessage`` and ``onPing`` with one token bucket per socket
    (idempotent). A message split into continuation frames counts once: frame and message sizes are
    bounded by the protocol's own limits (64 KiB per message, checked by the consumer)."""
    from daphne.ws_protocol import WebSocketProtocol

    if getattr(WebSocketProtocol.onMessage, "frame_limited", False):
        return
    rate, burst = settings.WS_FRAMES_PER_SECOND, settings.WS_FRAME_BURST

    def allowed(protocol) -> bool:
        if getattr(protocol, "flood_closed", False):
            return False
        now = time.monotonic()
        bucket = getattr(protocol, "frame_bucket", None)
        if bucket is None:
            bucket = protocol.frame_bucket = TokenBucket(rate, burst, now)
        if bucket.take(now):
            return True
        protocol.flood_closed = True
        logger.warning(
            "closing WebSocket %s %s: more than %s frames a second", protocol.client_addr, protocol.path, rate
        )
        protocol.sendClose(code=CLOSE_FLOOD, reason="Too many messages.")
        return False

    def limited(original):
        def handler(self, *args):
            if allowed(self):
                return original(self, *args)
            return None

        handler.frame_limited = True
        return handler

    WebSocketProtocol.onMessage = limited(WebSocketProtocol.onMessage)
    WebSocketProtocol.onPing = limited(WebSocketProtocol.onPing)


class _Deferred:
    """A debug-log argument formatted only if the message is written."""

    __slots__ = ("args", "function")

    def __init__(self, function, args):
        self.function, self.args = function, args

    def __str__(self) -> str:
        return self.function(*self.args)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def install_lazy_autobahn_debug() -> None:
    """Autobahn formats the arguments of its debug messages (coloured names through click) before it
    knows whether debug logging is on: four ``click.style`` calls for every frame sent, about a tenth
    of a relayed message's time in the profile under bench/signaling.py. Deferred here until a debug
    message is really written (idempotent)."""
    from autobahn.twisted import websocket
    from autobahn.websocket import protocol

    for module in (protocol, websocket):  # the framing, and Twisted's transport glue (every frame received)
        if not isinstance(module.hltype, _Lazy):
            module.hltype = _Lazy(module.hltype)
            module.hlval = _Lazy(module.hlval)


class _Lazy:
    __slots__ = ("function",)

    def __init__(self, function):
        self.function = function

    def __call__(self, *args) -> _Deferred:
        return _Deferred(self.function, args)


def install_shared_protocol_options() -> None:
    """Autobahn copies its 29 protocol options (sizes, timeouts, ping intervals) from the factory onto every
    WebSocket connection that opens, unless the protocol class already has them. Daphne runs one factory per
    process, so they are set once on Daphne's protocol class from it instead: each idle socket is that much
    smaller (idempotent)."""
    from daphne.ws_protocol import WebSocketProtocol

    if getattr(WebSocketProtocol._connectionMade, "shares_options", False):
        return
    original = WebSocketProtocol._connectionMade

    def connection_made(self) -> None:
        cls = type(self)
        if cls.__dict__.get("options_factory") is not self.factory:
            for name in self.CONFIG_ATTRS:
                if name in self.__dict__:  # set on this very connection: it keeps its own
                    continue
                value = getattr(self.factory, name)
                # A function (a callback option) stays a plain function, not a method of the connection.
                setattr(cls, name, staticmethod(value) if callable(value) else value)
            cls.options_factory = self.factory
        original(self)

    connection_made.shares_options = True
    WebSocketProtocol._connectionMade = connection_made
