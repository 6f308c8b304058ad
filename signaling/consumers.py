from __future__ import annotations

import json
import logging
import re
import secrets
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from mentoring.errors import NotFound
from mentoring.selectors import session_get_for_participant, session_is_live
from mentoring.services.calls import (
    CallPresence,
    QualitySample,
    call_end_replaced,
    call_join,
    call_keep_alive,
    call_leave,
    call_peer_id,
    call_peers_present,
    call_quality_record,
    call_release,
    call_sweep_stale,
)
from portal import shutdown

from .events import login_id_of, unread_count_valid
from .groups import peer_group, room_group, user_notifications_group, user_session_calls_group, user_sockets_group
from .live_socket import LiveSocketMixin
from .protocol import (
    CLOSE_FLOOD,
    CLOSE_NOT_ALLOWED,
    CLOSE_REPLACED,
    CLOSE_REVOKED,
    CLOSE_SILENT,
    CLOSE_TOO_BIG,
    Chat,
    Leave,
    MediaState,
    Ping,
    ProtocolError,
    ScreenShare,
    Signal,
    Stats,
    TokenBucket,
    parse_client_message,
)
from .turn import ice_servers_for

logger = logging.getLogger(__name__)
# A goodbye from the page: 1000 when it closes the socket itself, 1001 ("going away") when the
# browser closes it because the tab closed or navigated away (a reload, another page). A socket that
# just drops (1006) is not one: the page reconnects and resumes its presence.
GOODBYE_CLOSES = (1000, 1001)


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
        entered = await database_sync_to_async(_enter)(
            room_id, user, _client_token(self.scope), self.channel_name, self.scope.get("session")
        )
        if entered is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        session, attendance, resumed, peers, self.socket_login, replaced = entered
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
            await self.channel_layer.group_send(
                peer_group(self.session_id, self.peer_id), {"type": "call.replace", "channel": self.channel_name}
            )
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
        peers = await database_sync_to_async(call_peers_present)(
            session_id=self.session_id, exclude_peer_id=self.peer_id
        )
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
        for old_peer, since in replaced:  # this person's earlier page, gone without its goodbye
            await self._announce_left(old_peer, since)
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
            elif await database_sync_to_async(call_release)(peer_id=self.peer_id, connection=self.channel_name):
                await self._announce_left(self.peer_id, self.since)  # its person is here from a newer page
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
        # Each relayed message is serialised once, here: the others' consumers forward the frame as it
        # is (built from validated fields only), with "from" beside it so that each can skip its own.
        room = room_group(self.session_id)
        if isinstance(message, Signal):
            if message.to == self.peer_id:
                await self._send({"type": "error", "code": "bad_value", "message": "You cannot signal yourself."})
                return
            payload = {"type": "signal", "from": self.peer_id, "data": message.data}
            await self.channel_layer.group_send(peer_group(self.session_id, message.to), _relay_event(payload))
        elif isinstance(message, Chat):
            payload = {
                "type": "chat",
                "from": self.peer_id,
                "name": self.display_name,
                "text": message.text,
                "at": timezone.now().isoformat(),
            }
            event = _relay_event(payload)
            # To the others first; the sender's own copy needs no trip through Redis.
            await self.channel_layer.group_send(room, event)
            await self.send(text_data=event["frame"])
        elif isinstance(message, MediaState):
            payload = {
                "type": "media-state",
                "from": self.peer_id,
                "audio": message.audio,
                "video": message.video,
                "screen": message.screen,
            }
            await self.channel_layer.group_send(room, _relay_event(payload))
        elif isinstance(message, ScreenShare):
            # To everyone, the sender too: each page orders the starts by the server's time, the
            # sender's own included, and the latest one keeps the screen.
            payload = {
                "type": "screen-share",
                "from": self.peer_id,
                "name": self.display_name,
                "action": message.action,
                "at": timezone.now().isoformat(),
            }
            await self.channel_layer.group_send(room, _relay_event(payload))
        elif isinstance(message, Leave):
            await self._end(1000)
        elif isinstance(message, Ping):
            await self._send({"type": "pong", "t": message.t})
        elif isinstance(message, Stats):
            # One report per half interval at most: each one is a database write.
            if self.last_heard - getattr(self, "stats_at", -1e9) >= settings.CALL_STATS_SECONDS / 2:
                self.stats_at = self.last_heard
                await database_sync_to_async(call_quality_record)(
                    session_id=self.session_id, user_id=self.user_id, sample=_quality_sample(message)
                )

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
        presence, gone = await database_sync_to_async(_keep_alive)(self.session_id, self.peer_id, self.channel_name)
        for peer_id, since in gone:
            await self._announce_left(peer_id, since)
        if presence is CallPresence.REVOKED:
            await self.revoke()
        elif presence is CallPresence.REPLACED:  # a newer socket of this page holds the presence now
            self.replaced = True
            await self.close(code=CLOSE_REPLACED)
        elif presence is CallPresence.ENDED:
            # Our presence was ended while we were unreachable (e.g. this process stalled). The page
            # reconnects and starts a fresh presence, with a welcome that tells it so.
            self.replaced = True  # nothing of ours is left to end at disconnect
            await self.close(code=shutdown.CLOSE_RECONNECT)

    async def _end(self, code: int) -> None:
        self.ending = True
        await self.close(code=code)

    async def _announce_joined(self, resumed: bool) -> None:
        await self.channel_layer.group_send(
            room_group(self.session_id), {"type": "relay.peer_joined", "peer": self._me(), "resumed": resumed}
        )

    async def _announce_left(self, peer_id: str, since: str) -> None:
        await self.channel_layer.group_send(
            room_group(self.session_id), {"type": "relay.peer_left", "peer_id": peer_id, "since": since}
        )

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

    # The relayed frames were built and serialised by the sending consumer from validated fields.
    async def relay_signal(self, event: dict) -> None:
        await self.send(text_data=_relayed_frame(event, "signal"))

    async def relay_chat(self, event: dict) -> None:
        if event["from"] != self.peer_id:  # the sender had its copy at once
            await self.send(text_data=_relayed_frame(event, "chat"))

    async def relay_media_state(self, event: dict) -> None:
        if event["from"] != self.peer_id:
            await self.send(text_data=_relayed_frame(event, "media-state"))

    async def relay_screen_share(self, event: dict) -> None:
        await self.send(text_data=_relayed_frame(event, "screen-share"))

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
        await self.send(text_data=_dumps(payload))


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# The channel-layer event of a relayed message: its frame for the receivers to forward, and beside it
# the fields themselves, as the previous version's consumers read them, so that during a rolling
# deploy the old and the new signaling processes still relay each other's messages.
_EVENT_TYPES = {
    "signal": "relay.signal",
    "chat": "relay.chat",
    "media-state": "relay.media_state",
    "screen-share": "relay.screen_share",
}


def _relay_event(payload: dict) -> dict:
    return {**payload, "type": _EVENT_TYPES[payload["type"]], "frame": _dumps(payload)}


def _relayed_frame(event: dict, kind: str) -> str:
    """The frame to forward: the sender's, or, from a process of the previous version (fields, no
    frame), one built from the event's fields."""
    frame = event.get("frame")
    if isinstance(frame, str):
        return frame
    return _dumps({**{key: value for key, value in event.items() if key != "type"}, "type": kind})


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
    replaced = [] if resumed else call_end_replaced(session_id=session.pk, user_id=user.pk, peer_id=peer_id)
    return (
        session,
        attendance,
        resumed,
        call_peers_present(session_id=session.pk, exclude_peer_id=peer_id),
        login_id_of(http_session),
        replaced,
    )


def _keep_alive(session_id: int, peer_id: str, channel: str) -> tuple[CallPresence, list[tuple[str, str]]]:
    """One trip to the database per heartbeat: what became of this socket's presence, and the
    (peer id, since) of the stale presences in the room this call ended."""
    return call_keep_alive(peer_id=peer_id, connection=channel), call_sweep_stale(session_id=session_id)


def _live_session_for(room_id, user):
    """The one door (the room page's selector), plus the join window."""
    try:
        session = session_get_for_participant(room_id=room_id, user=user)
    except NotFound:
        return None
    return session if session_is_live(session) else None


def _quality_sample(stats: Stats) -> QualitySample:
    """A client's validated ``stats`` message as the domain records it."""
    return QualitySample(
        rtt_ms=stats.rtt_ms,
        loss_pct=stats.loss_pct,
        in_kbps=stats.in_kbps,
        out_kbps=stats.out_kbps,
        local=stats.local,
        remote=stats.remote,
        protocol=stats.protocol,
        ice_restarts=stats.ice_restarts,
        reconnects=stats.reconnects,
    )
