from __future__ import annotations

import json
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from mentoring.services.calls import call_join, call_leave, call_peers_present

from .groups import peer_group, room_group, user_calls_group, user_notifications_group, user_session_calls_group
from .protocol import (
    CLOSE_FLOOD,
    CLOSE_NOT_ALLOWED,
    CLOSE_REVOKED,
    CLOSE_TOO_BIG,
    Chat,
    Leave,
    MediaState,
    Ping,
    ProtocolError,
    Signal,
    TokenBucket,
    parse_client_message,
)
from .turn import ice_servers_for

# Close codes (4000-4999 are ours; documented in signaling/PROTOCOL.md).
CLOSE_UNAUTHENTICATED = 4401


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """Pushes a user's live notifications. Receive-only for the client: frames it sends are ignored."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group_name = user_notifications_group(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        group_name = getattr(self, "group_name", None)
        if group_name:
            await self.channel_layer.group_discard(group_name, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        # Nothing is accepted from the client on this socket.
        return

    async def notification_push(self, event: dict) -> None:
        await self.send_json({"type": "notification", "notification": event["notification"]})


class CallConsumer(AsyncWebsocketConsumer):
    """Signaling for one session's call room (``/ws/session/<room id>/``); see PROTOCOL.md.

    Access is decided by the same selector as the room page. Every client frame is validated
    against the closed protocol; only validated values are relayed, and ``from`` is stamped here.
    """

    RATE_PER_SECOND = 40
    RATE_BURST = 120

    async def connect(self) -> None:
        self.peer_id = ""
        user = self.scope.get("user")
        room_id = self.scope["url_route"]["kwargs"]["room_id"]
        session = await database_sync_to_async(_live_session_for)(room_id, user)
        if session is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.session_id = session.pk
        self.user_id = user.pk
        self.display_name = user.display_name
        self.role = "mentor" if session.mentor_id == user.pk else "learner"
        self.bucket = TokenBucket(self.RATE_PER_SECOND, self.RATE_BURST, time.monotonic())
        attendance = await database_sync_to_async(call_join)(session=session, user=user)
        self.peer_id = attendance.peer_id
        self.groups_joined = [
            room_group(self.session_id),
            peer_group(self.session_id, self.peer_id),
            user_calls_group(self.user_id),
            user_session_calls_group(self.user_id, self.session_id),
        ]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        peers = await database_sync_to_async(call_peers_present)(session_id=self.session_id, exclude_peer_id=self.peer_id)
        ice_servers = ice_servers_for(user_id=self.user_id)
        await self._send(
            {
                "type": "welcome",
                "you": self._me(),
                "peers": peers,
                "iceServers": ice_servers,
                "iceTransportPolicy": settings.ICE_TRANSPORT_POLICY,
            }
        )
        await self.channel_layer.group_send(room_group(self.session_id), {"type": "relay.peer_joined", "peer": self._me()})

    async def disconnect(self, code: int) -> None:
        if not self.peer_id:
            return
        await database_sync_to_async(call_leave)(peer_id=self.peer_id)
        await self.channel_layer.group_send(room_group(self.session_id), {"type": "relay.peer_left", "peer_id": self.peer_id})
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.peer_id = ""

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if not self.peer_id:
            return
        if not self.bucket.take(time.monotonic()):
            await self._send({"type": "error", "code": "flood", "message": "Too many messages: slow down."})
            await self.close(code=CLOSE_FLOOD)
            return
        try:
            message = parse_client_message(text_data if text_data is not None else bytes_data)
        except ProtocolError as error:
            await self._send(error.frame())
            if error.code == "too_big":
                await self.close(code=CLOSE_TOO_BIG)
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
            await self.channel_layer.group_send(
                room,
                {
                    "type": "relay.chat", "from": self.peer_id, "name": self.display_name, "text": message.text,
                    "at": timezone.now().isoformat(),
                },
            )
        elif isinstance(message, MediaState):
            await self.channel_layer.group_send(
                room,
                {"type": "relay.media_state", "from": self.peer_id, "audio": message.audio, "video": message.video, "screen": message.screen},
            )
        elif isinstance(message, Leave):
            await self.close(code=1000)
        elif isinstance(message, Ping):
            await self._send({"type": "pong", "t": message.t})

    # ------------------------------------------------------------------ channel-layer events
    async def relay_peer_joined(self, event: dict) -> None:
        if event["peer"]["id"] != self.peer_id:
            await self._send({"type": "peer-joined", "peer": event["peer"]})

    async def relay_peer_left(self, event: dict) -> None:
        if event["peer_id"] != self.peer_id:
            await self._send({"type": "peer-left", "peer_id": event["peer_id"]})

    async def relay_signal(self, event: dict) -> None:
        await self._send({"type": "signal", "from": event["from"], "data": event["data"]})

    async def relay_chat(self, event: dict) -> None:
        await self._send({"type": "chat", "from": event["from"], "name": event["name"], "text": event["text"], "at": event["at"]})

    async def relay_media_state(self, event: dict) -> None:
        if event["from"] != self.peer_id:
            await self._send(
                {"type": "media-state", "from": event["from"], "audio": event["audio"], "video": event["video"], "screen": event["screen"]}
            )

    async def call_revoke(self, event: dict) -> None:
        await self._send({"type": "error", "code": "revoked", "message": "Your access to this call ended."})
        await self.close(code=CLOSE_REVOKED)

    # ------------------------------------------------------------------ helpers
    def _me(self) -> dict:
        return {"id": self.peer_id, "name": self.display_name, "role": self.role}

    async def _send(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload))


def _live_session_for(room_id, user):
    """The one door (the room page's selector), plus the join window."""
    from django.http import Http404

    from mentoring.selectors import session_get_for_participant, session_is_live

    try:
        session = session_get_for_participant(room_id=room_id, user=user)
    except Http404:
        return None
    return session if session_is_live(session) else None

