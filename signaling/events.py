"""The one door from domain code (``mentoring``, ``portal``) to people's open WebSockets.

Domain code says what should happen (show a notification, close a user's sockets); this module
knows which channel-layer group and event that takes. Group names and event types stay private to
``signaling``; the consumers handle the events (see PROTOCOL.md for the wire).

Everything here is sent once the surrounding transaction commits (at once outside one), and not at
all if it rolls back: sockets never hear of data that does not exist. A send that fails is logged
and dropped: the stored data is the truth, and a socket catches up when it reconnects or its page
reloads (a closed socket's access is checked again then).

Sockets are authenticated once, at their handshake; after that only :func:`close_user_sockets`
closes them. A logout closes the sockets opened with that login (the user's other devices keep
theirs), a password change closes those of every other login, a deactivation, a password reset or a
password set by staff closes them all. Logins are told apart by a random login id put in the session
at login (:func:`assign_login_id`). Unlike the session key it survives the key rotation Django does
on a password change, and it is no credential, so it can travel through the channel layer. A login
without one (made before this existed) is unknown: its logout or password change closes all of the
user's sockets, the safe side.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .groups import user_notifications_group, user_session_calls_group, user_sockets_group

logger = logging.getLogger(__name__)

# Channel-layer event types; each is handled by the consumer method of the same name with "_" for ".".
NOTIFICATION_PUSH = "notification.push"  # NotificationConsumer
NOTIFICATIONS_READ = "notifications.read"  # NotificationConsumer
AUTH_REVOKE = "auth.revoke"  # every live socket (LiveSocketMixin)
CALL_REVOKE = "call.revoke"  # CallConsumer

LOGIN_ID_KEY = "peerlearn_login_id"


def send_on_commit(group: str, event: dict | Callable[[], dict | None]) -> None:
    """Send ``event`` to every socket in ``group`` once the current transaction commits.

    The one place that sends to sockets from outside a consumer. ``event`` may also be a function
    that builds the event then (for what is only true after the commit, like a count), returning
    ``None`` to send nothing. Never raises for a failed send: it is logged and dropped."""

    def send() -> None:
        try:
            message = event() if callable(event) else event
            layer = get_channel_layer()
            if message is not None and layer is not None:
                async_to_sync(layer.group_send)(group, message)
        except Exception:
            logger.exception("could not send to the sockets of %s", group)

    transaction.on_commit(send)


def unread_count_valid(value: object) -> int | None:
    """An unread count as the wire carries it: a non-negative int (not a bool), else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def push_notification(*, user_id: int, notification: dict, count_unread: Callable[[], int | None]) -> None:
    """Show a new notification in every open tab of the user. ``count_unread`` is called after the
    commit, so every tab is set to the unread count the database holds, not to its own count plus
    one (which drifts once another tab reads them all); when it gives ``None`` the tabs add one."""

    def event() -> dict:
        message: dict = {"type": NOTIFICATION_PUSH, "notification": notification}
        unread = unread_count_valid(count_unread())
        if unread is not None:
            message["unread"] = unread
        return message

    send_on_commit(user_notifications_group(user_id), event)


def push_unread_count(*, user_id: int, count_unread: Callable[[], int | None]) -> None:
    """Tell every open tab of the user their unread count, as ``count_unread`` finds it after the
    commit (nothing is sent when it gives ``None``)."""

    def event() -> dict | None:
        unread = count_unread()
        if unread is None:
            return None
        if unread_count_valid(unread) is None:
            raise ValueError(f"not an unread count: {unread!r}")
        return {"type": NOTIFICATIONS_READ, "unread": unread}

    send_on_commit(user_notifications_group(user_id), event)


def close_user_sockets(*, user_id: int, only_login: str | None = None, except_login: str | None = None) -> None:
    """Close the user's open sockets, calls and notifications alike: only those of ``only_login``,
    or all but ``except_login``'s. An empty or missing login id narrows nothing: all close. A socket
    the event misses still fails the access check when it reconnects."""
    send_on_commit(
        user_sockets_group(user_id), {"type": AUTH_REVOKE, "only": only_login or "", "keep": except_login or ""}
    )


def close_call_sockets(*, user_id: int, session_id: int) -> None:
    """Close the user's open call sockets in one session (e.g. their booking ended)."""
    send_on_commit(user_session_calls_group(user_id, session_id), {"type": CALL_REVOKE})


def assign_login_id(session) -> None:
    """At login: give this login (the session) a new id, which its sockets are closed by."""
    session[LOGIN_ID_KEY] = secrets.token_hex(16)


def login_id_of(session) -> str:
    """The login id of a session ("" when there is none). Reads the session store: call it from sync code."""
    return (session.get(LOGIN_ID_KEY, "") if session is not None else "") or ""
