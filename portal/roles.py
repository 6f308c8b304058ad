"""Which part of the site a Daphne process serves (``PROCESS_ROLE``): pages, sockets, or both.

``all`` serves everything (``make run``, the tests). In production the proxy routes ``/ws/`` to a pool
of ``signaling`` processes and pages to a pool of ``web`` processes (``deploy/nginx.conf``), so that a
page being rendered never holds up a relayed call message. A request that reaches the wrong pool (a
proxy misconfigured, a client pointed at a port) is refused plainly, never half served:

* a ``signaling`` process answers pages with 421 Misdirected Request, but still answers its own
  health probes (``/health/live/``, ``/health/ready/``) over HTTP, so readiness and drain work per pool;
* a ``web`` process refuses a WebSocket handshake (closed before accepting: Daphne answers 403).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

ROLES = ("all", "web", "signaling")
HEALTH_PREFIX = "/health/"
MISDIRECTED_PAGE = (
    b"421 Misdirected Request: this PeerLearn process serves only call signaling (WebSockets under /ws/) "
    b"and its health probes. Pages are served by the web processes.\n"
)


def pages_for_role(role: str, app):
    """The HTTP application of a process with ``role``: ``app`` itself, or on a signaling process one
    that passes only the health probes to ``app``."""
    if role != "signaling":
        return app

    async def signaling_only(scope, receive, send) -> None:
        if scope["path"].startswith(HEALTH_PREFIX):
            await app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 421,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(MISDIRECTED_PAGE)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": MISDIRECTED_PAGE})

    return signaling_only


def sockets_for_role(role: str, app):
    """The WebSocket application of a process with ``role``: ``app`` itself, or on a web process one
    that refuses every handshake."""
    if role != "web":
        return app

    async def web_only(scope, receive, send) -> None:
        message = await receive()
        if message["type"] == "websocket.connect":
            logger.warning("refused a WebSocket on a web process (PROCESS_ROLE=web): %r", scope["path"][:200])
            await send({"type": "websocket.close"})

    return web_only
