"""Channel-layer group names. Always built from database ids, never from client-supplied text."""

from __future__ import annotations


def user_notifications_group(user_id: int) -> str:
    return f"user.{int(user_id)}.notifications"


def room_group(session_id: int) -> str:
    return f"room.{int(session_id)}"


def peer_group(session_id: int, peer_id: str) -> str:
    # peer ids are server-made hex tokens; the protocol refuses anything else before it gets here.
    return f"room.{int(session_id)}.peer.{peer_id}"


def user_sockets_group(user_id: int) -> str:
    """Every live socket of the user (calls and notifications): closed together when access ends."""
    return f"user.{int(user_id)}.sockets"


def user_session_calls_group(user_id: int, session_id: int) -> str:
    return f"user.{int(user_id)}.calls.{int(session_id)}"
