from __future__ import annotations

import logging

from django.urls import path, re_path

from . import consumers

logger = logging.getLogger(__name__)


async def refuse_unknown_path(scope, receive, send) -> None:
    """Any other socket address: closing before accepting makes Daphne answer the handshake 403 at
    once. Without this route the router raises, and Daphne answers 500 a second later with a traceback."""
    message = await receive()
    if message["type"] == "websocket.connect":
        logger.info("refused a WebSocket to an unknown path: %r", scope["path"][:200])
        await send({"type": "websocket.close"})


websocket_urlpatterns = [
    path("ws/notifications/", consumers.NotificationConsumer.as_asgi()),
    path("ws/session/<uuid:room_id>/", consumers.CallConsumer.as_asgi()),
    re_path(r"", refuse_unknown_path),  # last: matches every path
]
