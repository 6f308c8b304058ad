"""The one door from domain code to a person's notification sockets (every open tab of theirs).

Callers run these once their data is committed (``transaction.on_commit``); group names and the
channel-layer event types stay private to ``signaling``. A push that cannot be delivered is logged
and dropped: the stored data is the truth, and a tab catches up when it reconnects or reloads.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .groups import user_notifications_group

logger = logging.getLogger(__name__)

# Channel-layer event types, handled by ``NotificationConsumer`` (see PROTOCOL.md for the wire).
NOTIFICATION_PUSH = "notification.push"
NOTIFICATIONS_READ = "notifications.read"


def unread_count_valid(value: object) -> int | None:
    """An unread count as the wire carries it: a non-negative int (not a bool), else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _send(user_id: int, event: dict) -> None:
    try:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(user_notifications_group(user_id), event)
    except Exception:
        logger.exception("live %s to user %s failed", event["type"], user_id)


def notification_push(*, user_id: int, notification: dict, unread: int | None) -> None:
    """Show a new notification in every open tab of the user; ``unread`` is their unread count
    after it (``None`` when it could not be counted: the tabs then add one)."""
    event: dict = {"type": NOTIFICATION_PUSH, "notification": notification}
    if unread_count_valid(unread) is not None:
        event["unread"] = unread
    _send(user_id, event)


def unread_count_push(*, user_id: int, unread: int) -> None:
    """Tell every open tab of the user their unread count changed (e.g. to 0: all were read)."""
    if unread_count_valid(unread) is None:
        raise ValueError(f"not an unread count: {unread!r}")
    _send(user_id, {"type": NOTIFICATIONS_READ, "unread": unread})
