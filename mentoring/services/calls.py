"""Call presence and attendance. The signaling consumer calls these; so do logout and cancellation."""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from portal.accounts.models import User
from signaling.events import close_call_sockets

from ..models import Booking, CallAttendance, CallQuality, Session


class CallPresence(enum.Enum):
    """What a call socket's heartbeat finds of the presence it holds (:func:`call_keep_alive`)."""

    FRESH = "fresh"  # still held by this socket, and now marked alive
    REVOKED = "revoked"  # its user is no longer active
    REPLACED = "replaced"  # a newer socket of the same page holds it now
    ENDED = "ended"  # ended by the others while this socket was unreachable


@dataclass(frozen=True)
class QualitySample:
    """One participant's summary of their call over the last interval (their browser's getStats())."""

    rtt_ms: float | None
    loss_pct: float | None
    in_kbps: float | None
    out_kbps: float | None
    local: str  # ICE candidate types of the selected pair ("host", "srflx", "prflx", "relay"), or ""
    remote: str
    protocol: str  # "udp", "tcp" or ""
    ice_restarts: int  # counted since the page loaded
    reconnects: int


def call_peer_id(*, session_id: int, user_id: int, client: str) -> str:
    """The peer id of one page in one room: made by the server, the same for every socket that page
    opens (so a reconnect resumes instead of adding a ghost), and never another user's."""
    message = f"call-peer:{int(session_id)}:{int(user_id)}:{client}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:16]


def call_join(
    *, session: Session, user: User, peer_id: str, connection: str, now: datetime | None = None
) -> tuple[CallAttendance, bool]:
    """Record that ``user`` is in the room on socket ``connection``. Returns the presence row and
    whether it resumed an open presence of the same page (a reconnect) rather than starting one."""
    now = now or timezone.now()
    with transaction.atomic():
        resumed = CallAttendance.objects.filter(peer_id=peer_id, left_at__isnull=True).update(
            connection=connection, last_seen=now, reconnects=F("reconnects") + 1
        )
        if resumed:
            return CallAttendance.objects.get(peer_id=peer_id, left_at__isnull=True), True
        try:
            with transaction.atomic():
                row = CallAttendance.objects.create(
                    session=session, user=user, peer_id=peer_id, connection=connection, joined_at=now, last_seen=now
                )
        except IntegrityError:  # another socket of the same page opened the presence a moment ago
            CallAttendance.objects.filter(peer_id=peer_id, left_at__isnull=True).update(
                connection=connection, last_seen=now
            )
            return CallAttendance.objects.get(peer_id=peer_id, left_at__isnull=True), True
        return row, False


def call_keep_alive(*, peer_id: str, connection: str, now: datetime | None = None) -> CallPresence:
    """The socket ``connection`` is alive: mark its presence fresh, or say why it holds none now.

    ``REVOKED`` when its user was deactivated or deleted, also by a path that closed no sockets
    (e.g. Wagtail's user admin): the heartbeat is the backstop. ``REPLACED`` when a newer socket of
    the same page took the presence over, ``ENDED`` when the others ended it after the presence
    timeout."""
    now = now or timezone.now()
    touched = CallAttendance.objects.filter(
        peer_id=peer_id, left_at__isnull=True, connection=connection, user__is_active=True
    ).update(last_seen=now)
    if touched:
        return CallPresence.FRESH
    if not CallAttendance.objects.filter(peer_id=peer_id, user__is_active=True).exists():
        return CallPresence.REVOKED
    if CallAttendance.objects.filter(peer_id=peer_id, left_at__isnull=True).exists():
        return CallPresence.REPLACED
    return CallPresence.ENDED


def call_leave(*, peer_id: str, connection: str, now: datetime | None = None) -> bool:
    """End the presence held by socket ``connection``; False if that socket no longer held it."""
    return bool(
        CallAttendance.objects.filter(peer_id=peer_id, left_at__isnull=True, connection=connection).update(
            left_at=now or timezone.now(), connection=""
        )
    )


def call_release(*, peer_id: str, connection: str, now: datetime | None = None) -> bool:
    """The socket dropped without saying goodbye: keep the presence open for a reconnect of the same
    page; if none comes, :func:`call_sweep_stale` ends it after the presence timeout. But when its
    person is in the room from a newer page already (a reload whose goodbye was lost), nothing will
    reconnect to it: it ends now, and True says so (the caller announces the departure)."""
    now = now or timezone.now()
    held = CallAttendance.objects.filter(peer_id=peer_id, left_at__isnull=True, connection=connection)
    row = held.values("session_id", "user_id", "joined_at").first()
    if row is None:
        return False
    newer = CallAttendance.objects.filter(
        session_id=row["session_id"], user_id=row["user_id"], left_at__isnull=True, joined_at__gt=row["joined_at"]
    ).exclude(peer_id=peer_id)
    if newer.exists():
        return bool(held.update(left_at=now, connection=""))
    held.update(connection="")
    return False


def call_end_replaced(*, session_id: int, user_id: int, peer_id: str, now: datetime | None = None) -> list[tuple]:
    """A new page of a person entered the room (``peer_id``): their older presences whose sockets
    dropped without a goodbye (a reload, its goodbye lost) will not come back, so they end now
    instead of after the presence timeout. Returns their (peer id, since), to announce each once."""
    released = CallAttendance.objects.filter(
        session_id=session_id, user_id=user_id, left_at__isnull=True, connection=""
    ).exclude(peer_id=peer_id)
    gone = []
    for pk, old_peer, joined_at in released.values_list("pk", "peer_id", "joined_at"):
        if released.filter(pk=pk).update(left_at=now or timezone.now()):
            gone.append((old_peer, joined_at.isoformat()))
    return gone


def call_sweep_stale(*, session_id: int, now: datetime | None = None) -> list[tuple[str, str]]:
    """End the presences in a room not heard from within the presence timeout; returns their
    (peer id, since). Each row is ended by exactly one caller, so each departure is announced once."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.CALL_PRESENCE_TIMEOUT_SECONDS)
    stale = CallAttendance.objects.filter(session_id=session_id, left_at__isnull=True, last_seen__lt=cutoff)
    gone = []
    for pk, peer_id, joined_at in stale.values_list("pk", "peer_id", "joined_at"):
        if stale.filter(pk=pk).update(left_at=F("last_seen"), connection=""):
            gone.append((peer_id, joined_at.isoformat()))
    return gone


def call_peers_present(*, session_id: int, exclude_peer_id: str = "", now: datetime | None = None) -> list[dict]:
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.CALL_PRESENCE_TIMEOUT_SECONDS)
    rows = (
        CallAttendance.objects.filter(session_id=session_id, left_at__isnull=True, last_seen__gte=cutoff)
        .exclude(peer_id=exclude_peer_id)
        .select_related("user", "session")
        .order_by("joined_at")
    )
    return [peer_payload(row) for row in rows]


def peer_payload(row: CallAttendance) -> dict:
    """A participant as the room sees it; ``since`` tells one presence of a peer id from a later one."""
    return {
        "id": row.peer_id,
        "name": row.user.display_name,
        "role": "mentor" if row.session.mentor_id == row.user_id else "learner",
        "since": row.joined_at.isoformat(),
    }


def call_report_context(*, session: Session, now: datetime | None = None) -> dict:
    """What a report made from inside the call room carries for the moderators: when, and who was in
    the call at that moment (with when each joined)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CALL_PRESENCE_TIMEOUT_SECONDS)
    present = (
        CallAttendance.objects.filter(session=session, left_at__isnull=True, last_seen__gte=cutoff)
        .select_related("user")
        .order_by("joined_at")
    )
    return {
        "source": "call room",
        "reported_at": now.isoformat(),
        "in_call": [
            {
                "user_id": row.user_id,
                "name": row.user.display_name,
                "role": "mentor" if row.user_id == session.mentor_id else "learner",
                "joined_at": row.joined_at.isoformat(),
                "reconnects": row.reconnects,
            }
            for row in present
        ],
    }


def call_quality_record(
    *, session_id: int, user_id: int, sample: QualitySample, now: datetime | None = None
) -> CallQuality:
    """Add one getStats() summary from a participant's browser to their record for the session."""
    now = now or timezone.now()
    with transaction.atomic():
        record, _ = CallQuality.objects.select_for_update().get_or_create(
            session_id=session_id, user_id=user_id, defaults={"first_at": now, "last_at": now}
        )
        record.samples += 1
        if sample.rtt_ms is not None:
            record.rtt_samples += 1
            record.rtt_ms_total += sample.rtt_ms
            record.rtt_ms_max = max(record.rtt_ms_max or 0, sample.rtt_ms)
        if sample.loss_pct is not None:
            record.loss_samples += 1
            record.loss_pct_total += sample.loss_pct
            record.loss_pct_max = max(record.loss_pct_max or 0, sample.loss_pct)
        record.in_kbps_total += sample.in_kbps or 0
        record.out_kbps_total += sample.out_kbps or 0
        if sample.local or sample.remote:
            record.candidate_types = _add_to_set(
                record.candidate_types, f"{sample.local or '?'}/{sample.remote or '?'}", 60
            )
        if sample.protocol:
            record.protocols = _add_to_set(record.protocols, sample.protocol, 20)
        # The client counts since the page loaded; keep the highest count it reported.
        record.ice_restarts = max(record.ice_restarts, sample.ice_restarts)
        record.reconnects = max(record.reconnects, sample.reconnects)
        record.last_at = now
        record.save()
    return record


def _add_to_set(joined: str, item: str, max_length: int) -> str:
    items = [i for i in joined.split(", ") if i]
    if item not in items:
        items.append(item)
    text = ", ".join(items)
    return text if len(text) <= max_length else joined


def calls_disconnect_user(*, user_id: int, session_id: int) -> None:
    """Close the user's open call sockets in one session (their booking ended) once the transaction
    commits. Ending all of a user's sockets is ``signaling.events.close_user_sockets``."""
    close_call_sockets(user_id=user_id, session_id=session_id)


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
