"""Call presence and attendance. The signaling consumer calls these; so do logout and cancellation."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from portal.accounts.models import User
from signaling.groups import user_calls_group, user_session_calls_group

from ..models import Booking, CallAttendance, Session

logger = logging.getLogger(__name__)


def call_join(*, session: Session, user: User, now: datetime | None = None) -> CallAttendance:
    """Record that ``user`` entered the room; the returned row carries the server-assigned peer id."""
    return CallAttendance.objects.create(session=session, user=user, peer_id=secrets.token_hex(8), joined_at=now or timezone.now())


def call_leave(*, peer_id: str, now: datetime | None = None) -> None:
    CallAttendance.objects.filter(peer_id=peer_id, left_at__isnull=True).update(left_at=now or timezone.now())


def call_peers_present(*, session_id: int, exclude_peer_id: str = "") -> list[dict]:
    rows = (
        CallAttendance.objects.filter(session_id=session_id, left_at__isnull=True)
        .exclude(peer_id=exclude_peer_id)
        .select_related("user", "session")
        .order_by("joined_at")
    )
    return [peer_payload(row) for row in rows]


def peer_payload(row: CallAttendance) -> dict:
    return {"id": row.peer_id, "name": row.user.display_name, "role": "mentor" if row.session.mentor_id == row.user_id else "learner"}


def calls_disconnect_user(*, user_id: int, session_id: int | None = None) -> None:
    """Close the user's open call sockets (all rooms, or one session's) once the transaction commits."""

    def send() -> None:
        layer = get_channel_layer()
        group = user_calls_group(user_id) if session_id is None else user_session_calls_group(user_id, session_id)
        try:
            async_to_sync(layer.group_send)(group, {"type": "call.revoke"})
        except Exception:  # the socket will still fail the access check on its next reconnect
            logger.exception("could not close call sockets of user %s", user_id)

    transaction.on_commit(send)


def sessions_mark_no_shows(*, now: datetime | None = None) -> int:
    """After a session ends, booked learners who never joined its call are marked no-show."""
    now = now or timezone.now()
    joined = CallAttendance.objects.filter(session_id=OuterRef("session_id"), user_id=OuterRef("learner_id"))
    return (
        Booking.objects.filter(status=Booking.Status.ACTIVE, no_show=False, session__ends_at__lte=now)
        .exclude(session__status=Session.Status.CANCELLED)
        .filter(session__ends_at__gte=now - timedelta(days=2))
        .exclude(Exists(joined))
        .update(no_show=True)
    )
