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
