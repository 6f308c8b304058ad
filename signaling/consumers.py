from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .groups import user_notifications_group

# Close codes (4000-4999 are ours; documented in signaling/PROTOCOL.md once the call room lands).
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
