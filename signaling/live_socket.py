"""What every live socket of ours shares: its periodic work, its group memberships, surviving a
message it cannot handle, noticing a deaf channel layer, and closing when its user's access ends."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from portal import shutdown

from .events import login_id_of
from .protocol import CLOSE_REVOKED, INTERNAL_ERROR

logger = logging.getLogger(__name__)


def revokes(event: dict, login: str) -> bool:
    """Whether an ``auth.revoke`` event (``signaling.events.close_user_sockets``) applies to a socket
    opened with the login ``login``."""
    if event.get("only") and event["only"] != login:
        return False
    return not (event.get("keep") and event["keep"] == login)


def _tolerate_closed(send):
    """Between this consumer closing its socket (a ``leave``, a revocation) and Daphne reporting the
    disconnect, messages for the socket keep arriving (signals relayed to it, room news). Daphne
    refuses to send them on the closing connection by raising; that exception would end the
    consumer before its ``disconnect`` runs, leaving the presence and the group memberships behind
    (a ghost in the others' lists until the presence timeout). Such a message has nobody to reach:
    it is dropped."""

    async def send_unless_closed(message):
        try:
            await send(message)
        except Disconnected:
            logger.debug("dropped %s for a closed socket", message.get("type"))

    return send_unless_closed


async def _release_channel(layer, channel: str) -> None:
    """Forget a finished consumer's own channel in the channel layer.

    Channels has no "delete channel": the pub/sub layer unsubscribes a consumer's channel only when
    the consumer's pending ``receive`` is cancelled while it waits (channels_redis.pubsub ``receive``).
    When a message for the consumer arrived while it was closing (its own ``peer-left``, a relayed
    signal, an echo), that ``receive`` has already returned, cancelling it does nothing, and the
    channel stays subscribed in Redis, with its queue in this process, for as long as the process
    lives. So every consumer unsubscribes its own channel at its end. Both calls are idempotent."""
    if isinstance(layer, RedisPubSubChannelLayer):
        loop_layer = layer._get_layer()
        loop_layer.channels.pop(channel, None)
        await loop_layer._get_shard(channel).unsubscribe(channel)
    elif isinstance(layer, RedisChannelLayer):
        layer.receive_buffer.pop(channel, None)


class LiveSocketMixin:
    """Periodic work for as long as the socket lives, and group memberships that live as long.

    Memberships expire ``CHANNEL_GROUP_EXPIRY`` seconds after they were last added; a live consumer
    re-adds them every ``CHANNEL_GROUP_REFRESH_SECONDS``. So a process that is killed (its
    ``disconnect`` never runs) leaves nothing behind for long, and after a Redis restart, which
    forgets every group, each live socket is back in its groups within one refresh.
    """

    groups_joined: list[str]
    ticker: asyncio.TimerHandle | asyncio.Task | None = None

    async def __call__(self, scope, receive, send):
        # The ticker dies with the consumer, also when the consumer dies of an exception (e.g. Redis
        # went away under it): a leftover ticker would go on acting for a socket that is gone.
        shutdown.track(self)  # a draining process asks every open socket to reconnect elsewhere
        try:
            await super().__call__(scope, receive, _tolerate_closed(send))
        finally:
            shutdown.untrack(self)
            self.stop_ticker()
            await self.release_channel_layer()

    async def release_channel_layer(self) -> None:
        """However the consumer ended (its ``disconnect`` ran, or it died before that), nothing of it
        stays subscribed: not its groups, not its own channel (see ``_release_channel``)."""
        layer, channel = getattr(self, "channel_layer", None), getattr(self, "channel_name", None)
        if layer is None or channel is None:
            return

        async def release() -> None:
            await self.leave_groups()
            await _release_channel(layer, channel)

        try:
            await asyncio.wait_for(release(), timeout=10)  # a dead Redis must not hold the consumer forever
        except Exception:
            logger.exception("%s %s: could not leave the channel layer", type(self).__name__, channel)

    def start_ticker(self, interval: float, tick) -> None:
        """Run ``tick(now)`` every ``interval`` seconds; a failing tick is logged and the ticker goes
        on (a Redis or database hiccup must not silently stop the heartbeat).

        Between ticks a socket holds only a timer handle, not a sleeping task (about 1.5 KiB less for
        each idle socket); the task that runs a tick lives as long as that tick."""
        loop = asyncio.get_running_loop()

        def due() -> None:
            self.ticker = loop.create_task(run_once())

        async def run_once() -> None:
            try:
                # A tick stuck on a dead connection must not stop the ticks after it.
                await asyncio.wait_for(tick(time.monotonic()), timeout=max(5.0, 2 * interval))
            except Exception:
                logger.exception("%s: periodic work failed", type(self).__name__)
            if self.ticker is asyncio.current_task():  # not stopped meanwhile
                self.ticker = loop.call_later(interval, due)

        # Spread the ticks of many sockets over time.
        self.ticker = loop.call_later(random.uniform(0, interval), due)

    def stop_ticker(self) -> None:
        if self.ticker:
            self.ticker.cancel()  # the timer, or the task running a tick
            self.ticker = None

    async def dispatch(self, message: dict) -> None:
        """Channels' own dispatch (4.2 and later) first hops to Django's one sync thread to close stale
        database connections, for every frame and every relayed message. That thread also renders
        the process's pages, so each chat line and ICE candidate would wait behind whatever page is
        being rendered (relay p99 over a second under browsing load). These consumers touch the
        database only through ``database_sync_to_async``, which closes stale connections around each
        call itself, so the hop is skipped here."""
        if not message["type"].startswith("websocket."):
            self.layer_heard_at = time.monotonic()  # anything from the channel layer proves it delivers
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        if message["type"] in ("websocket.connect", "websocket.disconnect"):
            await handler(message)  # the socket's life itself: a failure here ends the consumer
            return
        try:
            await handler(message)
        except StopConsumer:
            raise
        except Exception:
            await self.message_failed(message)

    async def message_failed(self, message: dict) -> None:
        """One message (a client frame, an event from the channel layer) could not be handled: that
        message is lost, not the socket. A client frame's sender, and only the sender, is told."""
        logger.exception(
            "%s %s: handling %s failed", type(self).__name__, getattr(self, "channel_name", "?"), message["type"]
        )
        if message["type"] != "websocket.receive":
            return
        try:
            await self.send(text_data=json.dumps(INTERNAL_ERROR))
        except Exception:
            logger.exception("%s: could not report the failure to the client", type(self).__name__)

    async def still_hearing(self, now: float, patience: float) -> bool:
        """Whether this consumer still receives from the channel layer. Each call sends the consumer
        a message through the layer; if the previous one has not come back within ``patience``
        seconds, the consumer is deaf (e.g. Redis restarted under it and the layer did not recover)
        and everything sent to it would be lost without anyone noticing."""
        if now - getattr(self, "layer_heard_at", 0.0) < patience:
            self.echo_sent_at = None
            return True
        sent_at = getattr(self, "echo_sent_at", None)
        if sent_at is not None:
            return now - sent_at <= patience
        self.echo_sent_at = now
        await self.channel_layer.send(self.channel_name, {"type": "socket.echo"})
        return True

    async def socket_echo(self, event: dict) -> None:
        self.echo_sent_at = None

    async def close_deaf(self) -> None:  # 4012: reconnect, please; this consumer cannot serve the socket
        logger.warning(
            "%s %s stopped receiving from the channel layer; asking the client to reconnect",
            type(self).__name__,
            self.channel_name,
        )
        await self.close(code=shutdown.CLOSE_RECONNECT)

    async def join_groups(self, groups: list[str]) -> None:
        self.groups_joined = groups
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_refreshed = time.monotonic()

    async def refresh_groups(self, now: float) -> None:
        if now - self.groups_refreshed >= settings.CHANNEL_GROUP_REFRESH_SECONDS:
            await self.join_groups(self.groups_joined)

    async def leave_groups(self) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def remember_login(self) -> None:
        """Which login this socket was opened with (see ``signaling.events.close_user_sockets``)."""
        self.socket_login = await database_sync_to_async(login_id_of)(self.scope.get("session"))

    async def auth_revoke(self, event: dict) -> None:
        if revokes(event, self.socket_login):
            await self.revoke()

    async def revoke(self) -> None:
        await self.close(code=CLOSE_REVOKED)
