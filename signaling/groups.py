"""Channel-layer group names. Always built from database ids, never from client-supplied text."""

from __future__ import annotations


def user_notifications_group(user_id: int) -> str:
    return f"user.{int(user_id)}.notifications"
