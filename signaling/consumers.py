from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import secrets
import time
from urllib.parse import parse_qs

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.utils import timezone

from mentoring.models import CallAttendance
from mentoring.services.calls import (
    call_join,
    call_leave,
    call_peer_id,
    call_peers_present,
    call_quality_record,
    call_release,
    call_sweep_stale,
    call_touch,
)
from portal import shutdown

from .groups import peer_group, room_group, user_notifications_group, user_session_calls_group, user_sockets_group
from .live import unread_count_valid
from .protocol import (
    CLOSE_FLOOD,
    CLOSE_NOT_ALLOWED,
    CLOSE_REPLACED,
    CLOSE_REVOKED,
    CLOSE_SILENT,
    CLOSE_TOO_BIG,
    INTERNAL_ERROR,
    Chat,
    Leave,
    MediaState,
    Ping,
    ProtocolError,
    Signal,
    Stats,
    TokenBucket,
    parse_client_message,
)
from .revocation import login_id, revoked
from .turn import ice_servers_for

logger = logging.getLogger(__name__)
# A goodbye from the page: 1000 when it closes the socket itself, 1001 ("going away") when the
# browser closes it because the tab closed or navigated away (a reload, another page). A socket that
# just drops (1006) is not one: the page reconnects and resumes its presence.
GOODBYE_CLOSES = (1000, 1001)


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
    ticker: asyncio.Task | None = None

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
        on (a Redis or database hiccup must not silently stop the heartbeat)."""

        async def run() -> None:
            await asyncio.sleep(random.uniform(0, interval))  # spread the ticks of many sockets over time
            while True:
                try:
                    # A tick stuck on a dead connection must not stop the ticks after it.
                    await asyncio.wait_for(tick(time.monotonic()), timeout=max(5.0, 2 * interval))
                except Exception:
                    logger.exception("%s: periodic work failed", type(self).__name__)
                await asyncio.sleep(interval)

        self.ticker = asyncio.create_task(run())

    def stop_ticker(self) -> None:
        if self.ticker:
            self.ticker.cancel()
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
        logger.exception("%s %s: handling %s failed", type(self).__name__, getattr(self, "channel_name", "?"), message["type"])
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
        logger.warning("%s %s stopped receiving from the channel layer; asking the client to reconnect", type(self).__name__, self.channel_name)
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
        """Which login this socket was opened with (see signaling/revocation.py)."""
        self.socket_login = await database_sync_to_async(login_id)(self.scope.get("session"))

    async def auth_revoke(self, event: dict) -> None:
        if revoked(event, self.socket_login):
            await self.revoke()

    async def revoke(self) -> None:
        await self.close(code=CLOSE_REVOKED)


class NotificationConsumer(LiveSocketMixin, AsyncJsonWebsocketConsumer):
    """Pushes a user's live notifications and unread count to every open tab of theirs (see
    PROTOCOL.md). Receive-only for the client: frames it sends are ignored.

    A page says whom it was rendered for (``?user=<id>``); a socket that would open for someone else
    (the browser signed in as another person since) is refused like an anonymous one, so a tab never
    shows another person's notifications."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not _is_expected_user(self.scope, user.pk):
            await self.close(code=CLOSE_REVOKED)
            return
        await self.remember_login()
        await self.join_groups([user_notifications_group(user.pk), user_sockets_group(user.pk)])
        await self.accept()
        self.start_ticker(settings.CHANNEL_GROUP_REFRESH_SECONDS, self._tick)

    async def _tick(self, now: float) -> None:
        if not await self.still_hearing(now, patience=settings.CHANNEL_GROUP_REFRESH_SECONDS * 1.5):
            await self.close_deaf()
            return
        await self.refresh_groups(now)

    async def disconnect(self, code: int) -> None:
        self.stop_ticker()
        await self.leave_groups()

    async def receive(self, text_data=None, bytes_data=None) -> None:
        # Nothing is accepted from the client on this socket.
        return

    async def notification_push(self, event: dict) -> None:
        message = {"type": "notification", "notification": event["notification"]}
        unread = unread_count_valid(event.get("unread"))
        if unread is not None:
            message["unread"] = unread
        await self.send_json(message)

    async def notifications_read(self, event: dict) -> None:
        unread = unread_count_valid(event.get("unread"))
        if unread is None:
            logger.warning("dropped a notifications.read event without a valid unread count")
            return
        await self.send_json({"type": "notifications-read", "unread": unread})


class CallConsumer(LiveSocketMixin, AsyncWebsocketConsumer):
    """Signaling for one session's call room (``/ws/session/<room id>/``); see PROTOCOL.md.

    Access is decided by the same selector as the room page. Every client frame is validated
    against the closed protocol; only validated values are relayed, and ``from`` is stamped here.

    Presence survives a dropped socket: the page reconnects with the same ``client`` token, gets the
    same peer id and resumes its presence, so the others keep their peer connection (and media) to
    it. Only a goodbye (``leave``, close 1000 or 1001), revocation or silence past the presence timeout
    ends a presence; a presence whose server died is ended by the other participants' sockets.
    """

    RATE_PER_SECOND = 40
    RATE_BURST = 120

    async def connect(self) -> None:
        self.peer_id = ""
        self.ending = False  # this socket's close ends the presence (said goodbye, revoked, silent)
        self.replaced = False  # a newer socket of the same page took the presence over
        user = self.scope.get("user")
        room_id = self.scope["url_route"]["kwargs"]["room_id"]
        entered = await database_sync_to_async(_enter)(room_id, user, _client_token(self.scope), self.channel_name, self.scope.get("session"))
        if entered is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        session, attendance, resumed, peers, self.socket_login = entered
        self.session_id = session.pk
        self.user_id = user.pk
        self.display_name = user.display_name
        self.role = "mentor" if session.mentor_id == user.pk else "learner"
        self.bucket = TokenBucket(self.RATE_PER_SECOND, self.RATE_BURST, time.monotonic())
        self.peer_id = attendance.peer_id
        self.since = attendance.joined_at.isoformat()
        # The presences this socket already knows: a layer that delivers a peer's "joined" late (the
        # pub/sub layer shares one subscription per process) must not announce them a second time.
        self.known = {peer["id"]: peer["since"] for peer in peers}
        if resumed:
            # An older socket of the same page, if its server is still up, hands over and goes quiet.
            await self.channel_layer.group_send(peer_group(self.session_id, self.peer_id), {"type": "call.replace", "channel": self.channel_name})
        self.last_heard = time.monotonic()
        await self.join_groups(
            [
                room_group(self.session_id),
                peer_group(self.session_id, self.peer_id),
                user_sockets_group(self.user_id),
                user_session_calls_group(self.user_id, self.session_id),
            ]
        )
        # Who is present, read again now that this socket hears the room: a presence that ended (or
        # began) between the first read and joining the group was announced before this socket could
        # hear it, and would otherwise stay a ghost in this page's list (or be missing from it).
        peers = await database_sync_to_async(call_peers_present)(session_id=self.session_id, exclude_peer_id=self.peer_id)
        self.known = {peer["id"]: peer["since"] for peer in peers}
        await self.accept()
        await self._send(
            {
                "type": "welcome",
                "you": self._me(),
                "resumed": resumed,
                "peers": peers,
                "iceServers": ice_servers_for(user_id=self.user_id),
                "iceTransportPolicy": settings.ICE_TRANSPORT_POLICY,
                "heartbeat": settings.CALL_HEARTBEAT_SECONDS,
                "stats": settings.CALL_STATS_SECONDS,
            }
        )
        await self._announce_joined(resumed)
        self.start_ticker(settings.CALL_HEARTBEAT_SECONDS, self._heartbeat)

    async def disconnect(self, code: int) -> None:
        self.stop_ticker()
        if not self.peer_id:
            return
        if not self.replaced:
            if self.ending or code in (*GOODBYE_CLOSES, CLOSE_FLOOD, CLOSE_TOO_BIG):
                if await database_sync_to_async(call_leave)(peer_id=self.peer_id, connection=self.channel_name):
                    await self._announce_left(self.peer_id, self.since)
            else:
                await database_sync_to_async(call_release)(peer_id=self.peer_id, connection=self.channel_name)
        await self.leave_groups()
        self.peer_id = ""

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if not self.peer_id or self.replaced or self.ending:
            return  # closing: frames still queued behind the close are dropped
        self.last_heard = time.monotonic()
        if not self.bucket.take(self.last_heard):
            logger.warning("call socket of user %s in session %s closed for flooding", self.user_id, self.session_id)
            await self._send({"type": "error", "code": "flood", "message": "Too many messages: slow down."})
            await self._end(CLOSE_FLOOD)
            return
        try:
            message = parse_client_message(text_data if text_data is not None else bytes_data)
        except ProtocolError as error:
            await self._send(error.frame())
            if error.code == "too_big":
                await self._end(CLOSE_TOO_BIG)
            return
        room = room_group(self.session_id)
        if isinstance(message, Signal):
            if message.to == self.peer_id:
                await self._send({"type": "error", "code": "bad_value", "message": "You cannot signal yourself."})
                return
            await self.channel_layer.group_send(
                peer_group(self.session_id, message.to), {"type": "relay.signal", "from": self.peer_id, "data": message.data}
            )
        elif isinstance(message, Chat):
            line = {"type": "relay.chat", "from": self.peer_id, "name": self.display_name, "text": message.text, "at": timezone.now().isoformat()}
            await self.relay_chat(line, echo=True)  # the sender's own copy needs no trip through Redis
            await self.channel_layer.group_send(room, line)
        elif isinstance(message, MediaState):
            await self.channel_layer.group_send(
                room,
                {"type": "relay.media_state", "from": self.peer_id, "audio": message.audio, "video": message.video, "screen": message.screen},
            )
        elif isinstance(message, Leave):
            await self._end(1000)
        elif isinstance(message, Ping):
            await self._send({"type": "pong", "t": message.t})
        elif isinstance(message, Stats):
            # One report per half interval at most: each one is a database write.
            if self.last_heard - getattr(self, "stats_at", -1e9) >= settings.CALL_STATS_SECONDS / 2:
                self.stats_at = self.last_heard
                await database_sync_to_async(call_quality_record)(session_id=self.session_id, user_id=self.user_id, stats=message)

    async def _heartbeat(self, now: float) -> None:
        """Every CALL_HEARTBEAT_SECONDS: drop a silent client, keep this presence fresh (or take it
        back if it was ended meanwhile), refresh group memberships, end stale presences."""
        if not self.peer_id or self.replaced:
            return
        if now - self.last_heard > settings.CALL_PRESENCE_TIMEOUT_SECONDS:
            await self._send({"type": "error", "code": "silent", "message": "Nothing heard from you for too long."})
            await self._end(CLOSE_SILENT)
            return
        if not await self.still_hearing(now, patience=settings.CALL_HEARTBEAT_SECONDS * 1.5):
            await self.close_deaf()  # the page reconnects and resumes its presence on a fresh consumer
            return
        await self.refresh_groups(now)
        state, gone = await database_sync_to_async(_keep_alive)(self.session_id, self.peer_id, self.channel_name)
        for peer_id, since in gone:
            await self._announce_left(peer_id, since)
        if state == "revoked":
            await self.revoke()
        elif state == "replaced":  # a newer socket of this page holds the presence now
            self.replaced = True
            await self.close(code=CLOSE_REPLACED)
        elif state == "ended":
            # Our presence was ended while we were unreachable (e.g. this process stalled). The page
            # reconnects and starts a fresh presence, with a welcome that tells it so.
            self.replaced = True  # nothing of ours is left to end at disconnect
            await self.close(code=shutdown.CLOSE_RECONNECT)

    async def _end(self, code: int) -> None:
        self.ending = True
        await self.close(code=code)

    async def _announce_joined(self, resumed: bool) -> None:
        await self.channel_layer.group_send(room_group(self.session_id), {"type": "relay.peer_joined", "peer": self._me(), "resumed": resumed})

    async def _announce_left(self, peer_id: str, since: str) -> None:
        await self.channel_layer.group_send(room_group(self.session_id), {"type": "relay.peer_left", "peer_id": peer_id, "since": since})

    # ------------------------------------------------------------------ channel-layer events
    async def relay_peer_joined(self, event: dict) -> None:
        peer = event["peer"]
        if peer["id"] == self.peer_id or (not event["resumed"] and self.known.get(peer["id"]) == peer["since"]):
            return
        self.known[peer["id"]] = peer["since"]
        await self._send({"type": "peer-joined", "peer": peer, "resumed": event["resumed"]})

    async def relay_peer_left(self, event: dict) -> None:
        peer_id, since = event["peer_id"], event["since"]
        if peer_id == self.peer_id or self.known.get(peer_id, since) != since:
            return  # about an earlier presence of a peer that is back: old news
        self.known.pop(peer_id, None)
        await self._send({"type": "peer-left", "peer_id": peer_id, "since": since})

    async def relay_signal(self, event: dict) -> None:
        await self._send({"type": "signal", "from": event["from"], "data": event["data"]})

    async def relay_chat(self, event: dict, echo: bool = False) -> None:
        if event["from"] != self.peer_id or echo:
            await self._send({"type": "chat", "from": event["from"], "name": event["name"], "text": event["text"], "at": event["at"]})

    async def relay_media_state(self, event: dict) -> None:
        if event["from"] != self.peer_id:
            await self._send(
                {"type": "media-state", "from": event["from"], "audio": event["audio"], "video": event["video"], "screen": event["screen"]}
            )

    async def call_revoke(self, event: dict) -> None:  # the learner's booking was cancelled
        await self.revoke()

    async def revoke(self) -> None:
        await self._send({"type": "error", "code": "revoked", "message": "Your access to this call ended."})
        await self._end(CLOSE_REVOKED)

    async def call_replace(self, event: dict) -> None:
        if event["channel"] == self.channel_name or not self.peer_id:
            return
        self.replaced = True
        await self._send({"type": "error", "code": "replaced", "message": "This call continues on a newer connection."})
        await self.close(code=CLOSE_REPLACED)

    # ------------------------------------------------------------------ helpers
    def _me(self) -> dict:
        return {"id": self.peer_id, "name": self.display_name, "role": self.role, "since": self.since}

    async def _send(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload))


CLIENT_TOKEN_RE = re.compile(r"^[0-9a-f]{16,64}$")
USER_ID_RE = re.compile(r"[1-9][0-9]{0,18}")


def _is_expected_user(scope: dict, user_id: int) -> bool:
    """Whether the socket's ``?user=`` (if the page gave one) names the signed-in user. One value,
    decimal digits only; anything else is refused."""
    given = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True).get("user")
    if given is None:
        return True
    return len(given) == 1 and USER_ID_RE.fullmatch(given[0]) is not None and int(given[0]) == user_id


def _client_token(scope: dict) -> str:
    """The page's reconnect token (``?client=``), or a fresh one: without it every socket is a new presence."""
    token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("client", [""])[0]
    return token if CLIENT_TOKEN_RE.fullmatch(token) else secrets.token_hex(16)


def _enter(room_id, user, client: str, channel: str, http_session):
    """One trip to the database for a new socket: the access check, the presence, the peers present,
    the login it was opened with."""
    session = _live_session_for(room_id, user)
    if session is None:
        return None
    peer_id = call_peer_id(session_id=session.pk, user_id=user.pk, client=client)
    attendance, resumed = call_join(session=session, user=user, peer_id=peer_id, connection=channel)
    return session, attendance, resumed, call_peers_present(session_id=session.pk, exclude_peer_id=peer_id), login_id(http_session)


def _keep_alive(session_id: int, peer_id: str, channel: str) -> tuple[str, list[tuple[str, str]]]:
    """("fresh" | "revoked" | "replaced" | "ended", (peer id, since) of the stale presences this call
    ended). "revoked": the user was deactivated or deleted by a path that sent no revocation (e.g.
    Wagtail's user admin); the heartbeat is the backstop."""
    if call_touch(peer_id=peer_id, connection=channel):
        state = "fresh"
    elif not CallAttendance.objects.filter(peer_id=peer_id, user__is_active=True).exists():
        state = "revoked"
    else:
        state = "replaced" if CallAttendance.objects.filter(peer_id=peer_id, left_at__isnull=True).exists() else "ended"
    return state, call_sweep_stale(session_id=session_id)


def _live_session_for(room_id, user):
    """The one door (the room page's selector), plus the join window."""
    from django.http import Http404

    from mentoring.selectors import session_get_for_participant, session_is_live

    try:
        session = session_get_for_participant(room_id=room_id, user=user)
    except Http404:
        return None
    return session if session_is_live(session) else None

