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
    """Wrap Daphne's ``WebSocketProtocol.onMessage`` with a token bucket (idempotent)."""
    from daphne.ws_protocol import WebSocketProtocol

    original = WebSocketProtocol.onMessage
    if getattr(original, "frame_limited", False):
        return
    rate, burst = settings.WS_FRAMES_PER_SECOND, settings.WS_FRAME_BURST

    def on_message(self, payload, is_binary):
        if getattr(self, "flood_closed", False):
            return
        now = time.monotonic()
        bucket = getattr(self, "frame_bucket", None)
        if bucket is None:
            bucket = self.frame_bucket = TokenBucket(rate, burst, now)
        if not bucket.take(now):
            self.flood_closed = True
            logger.warning("closing WebSocket %s %s: more than %s frames a second", self.client_addr, self.path, rate)
            self.sendClose(code=CLOSE_FLOOD, reason="Too many messages.")
            return
        original(self, payload, is_binary)

    on_message.frame_limited = True
    WebSocketProtocol.onMessage = on_message
