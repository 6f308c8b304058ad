"""Closing a user's open WebSockets when their access ends.

A socket is authenticated once, at its handshake; after that only this closes it. Logout closes the
sockets opened with that login (the user's other devices stay), a password change closes the
sockets of every other login (the one that changed it stays signed in), and a deactivation or a
password set by staff closes them all. Sockets are told apart by a tag derived from their session
key, so no session key ever travels through the channel layer.
"""

from __future__ import annotations

import hashlib
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .groups import user_sockets_group

logger = logging.getLogger(__name__)


def session_tag(session_key: str | None) -> str:
    return hashlib.sha256(f"peerlearn-socket:{session_key or ''}".encode()).hexdigest()[:32] if session_key else ""


def sockets_revoke(*, user_id: int, only_session: str | None = None, except_session: str | None = None) -> None:
    """Close the user's sockets (only those of ``only_session``, or all but ``except_session``'s)
    once the current transaction commits."""
    event = {"type": "auth.revoke", "only": session_tag(only_session), "keep": session_tag(except_session)}

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(user_sockets_group(user_id), event)
        except Exception:  # the sockets still fail the access check when they reconnect
            logger.exception("could not close the sockets of user %s", user_id)

    transaction.on_commit(send)


def revoked(event: dict, tag: str) -> bool:
    """Whether an ``auth.revoke`` event applies to a socket opened with the session tagged ``tag``."""
    if event.get("only") and event["only"] != tag:
        return False
    return not (event.get("keep") and event["keep"] == tag)
