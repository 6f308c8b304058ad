"""Closing a user's open WebSockets when their access ends.

A socket is authenticated once, at its handshake; after that only this closes it. Logout closes the
sockets opened with that login (the user's other devices stay), a password change closes the
sockets of every other login (the one that changed it stays signed in), and a deactivation, a
password reset or a password set by staff closes them all.

Sockets are told apart by a random login id put in the session at login. Unlike the session key,
it survives the key rotation Django does on a password change, and it is no credential, so it can
travel through the channel layer. A login without one (made before this existed) is unknown: a
logout or a password change then closes all of the user's sockets, the safe side.
"""

from __future__ import annotations

import logging
import secrets

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .groups import user_sockets_group

logger = logging.getLogger(__name__)

LOGIN_ID_KEY = "peerlearn_login_id"


def login_started(request) -> None:
    """At login: give this login its id."""
    request.session[LOGIN_ID_KEY] = secrets.token_hex(16)


def login_id(session) -> str:
    """The login id of a session ("" when there is none). Reads the session store: call it from sync code."""
    return (session.get(LOGIN_ID_KEY, "") if session is not None else "") or ""


def sockets_revoke(*, user_id: int, only_login: str | None = None, except_login: str | None = None) -> None:
    """Close the user's sockets (only those of ``only_login``, or all but ``except_login``'s) once
    the current transaction commits. An empty or missing id narrows nothing: all sockets close."""
    event = {"type": "auth.revoke", "only": only_login or "", "keep": except_login or ""}

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(user_sockets_group(user_id), event)
        except Exception:  # the sockets still fail the access check when they reconnect
            logger.exception("could not close the sockets of user %s", user_id)

    transaction.on_commit(send)


def revoked(event: dict, login: str) -> bool:
    """Whether an ``auth.revoke`` event applies to a socket opened with the login ``login``."""
    if event.get("only") and event["only"] != login:
        return False
    return not (event.get("keep") and event["keep"] == login)
