"""Graceful shutdown under Daphne: on SIGTERM the process first fails readiness (so the load balancer
stops sending new work), then asks every open WebSocket to reconnect elsewhere (close 4012: call
pages resume their presence on another process, media keeps flowing), then exits.

Only active where Daphne serves the application; elsewhere (tests, ``manage.py``) nothing is installed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import weakref

from django.conf import settings

logger = logging.getLogger(__name__)
# "Reconnect, please" (PROTOCOL.md). Not the standard 1012: Daphne's WebSocket library only sends
# 1000 and 3000-4999 from the server side.
CLOSE_RECONNECT = 4012
state = {"draining": False}
_sockets: weakref.WeakSet = weakref.WeakSet()


def track(consumer) -> None:
    _sockets.add(consumer)


def untrack(consumer) -> None:
    _sockets.discard(consumer)


def install_graceful_shutdown() -> None:
    if "daphne.server" not in sys.modules:
        return
    from twisted.internet import reactor

    def take_over_sigterm() -> None:  # after Twisted installed its own handlers
        loop = asyncio.get_event_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(drain(reactor)))

    reactor.callWhenRunning(take_over_sigterm)


async def drain(reactor) -> None:
    if state["draining"]:
        return
    state["draining"] = True
    logger.warning(
        "SIGTERM: failing readiness for %ss, then asking %d socket(s) to reconnect elsewhere",
        settings.SHUTDOWN_DRAIN_SECONDS,
        len(_sockets),
    )
    await asyncio.sleep(settings.SHUTDOWN_DRAIN_SECONDS)
    for consumer in list(_sockets):
        try:
            await consumer.close(code=CLOSE_RECONNECT)
        except Exception:  # a socket that is already gone
            logger.debug("could not close %r", consumer, exc_info=True)
    await asyncio.sleep(1)  # let the close frames go out
    reactor.stop()
