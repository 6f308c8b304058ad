from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ..models import Booking, Session
from .notifications import notify

# (field on Booking, how long before the start, words for the message)
REMINDERS = (
    ("reminded_24h_at", timedelta(hours=24), "tomorrow"),
    ("reminded_15m_at", timedelta(minutes=15), "in 15 minutes"),
)


def reminders_send(*, now: datetime | None = None) -> int:
    """Remind booked learners and their mentors 24 hours and 15 minutes before a session.

    Safe to run from several processes at once: rows being handled elsewhere are skipped.
    """
    now = now or timezone.now()
    sent = 0
    for field, lead, words in REMINDERS:
        with transaction.atomic():
            due = (
                Booking.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    status=Booking.Status.ACTIVE,
                    session__status=Session.Status.SCHEDULED,
                    session__starts_at__gt=now,
                    session__starts_at__lte=now + lead,
                    **{f"{field}__isnull": True},
                )
                .select_related("session", "session__mentor", "learner")
            )
            mentors_told: set[tuple[int, int]] = set()
            for booking in due:
                session = booking.session
                if field == "reminded_24h_at" and booking.reminded_15m_at:
                    continue
                start = timezone.localtime(session.starts_at, zoneinfo.ZoneInfo(booking.learner.time_zone))
                notify(
                    user=booking.learner,
                    kind="reminder",
                    text=f"Reminder: “{session.title}” with {session.mentor.display_name} starts {words} "
                    f"({start:%H:%M} {booking.learner.time_zone}).",
                    link=reverse("session_detail", args=[session.pk]),
                )
                setattr(booking, field, now)
                booking.save(update_fields=[field])
                sent += 1
                if (session.pk, session.mentor_id) not in mentors_told:
                    mentors_told.add((session.pk, session.mentor_id))
                    notify(
                        user=session.mentor,
                        kind="reminder",
                        text=f"Reminder: your session “{session.title}” starts {words}.",
                        link=reverse("dashboard"),
                    )
    return sent
