from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.dates import safe_localtime

from ..models import Booking, Session
from .notifications import notify

# (field on Booking, how long before the start it is due), longest lead first
REMINDERS = (
    ("reminded_24h_at", timedelta(hours=24)),
    ("reminded_15m_at", timedelta(minutes=15)),
)


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def time_left_words(left: timedelta) -> str:
    """The time until a start as a reminder says it: "in 5 minutes", "in 1 hour 20 minutes",
    "in about 23 hours". A reminder goes out when it is due or later (a booking made 5 minutes before
    the start, a periodic run that came late), so it says what is left, never the nominal lead."""
    minutes = max(1, round(left.total_seconds() / 60))
    if minutes < 60:
        return f"in {_plural(minutes, 'minute')}"
    hours, rest = divmod(minutes, 60)
    if rest == 0:
        return f"in {_plural(hours, 'hour')}"
    if hours < 3:
        return f"in {_plural(hours, 'hour')} {_plural(rest, 'minute')}"
    return f"in about {_plural(round(minutes / 60), 'hour')}"


def _start_words(start: datetime, zone: str, now: datetime) -> str:
    """The start in the person's zone: "14:00 Europe/Berlin", with the day when it is not today there."""
    local = safe_localtime(start, zone)
    local_now = safe_localtime(now, local.tzinfo)
    zone_name = zone if local.tzinfo is not None and str(local.tzinfo) == zone else "UTC"
    if local.date() == local_now.date():
        return f"{local:%H:%M} {zone_name}"
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} {zone_name}"


def reminders_send(*, now: datetime | None = None) -> int:
    """Remind booked learners and their mentors 24 hours and 15 minutes before a session.

    A reminder says the time really left. One whose shorter successor is already due is not sent
    (a seat booked 10 minutes before the start gets one reminder, not two), and a seat booked within
    the 24 hours before the start gets only the short one (its confirmation is a few hours old at most). Safe to run from several
    processes at once: rows being handled elsewhere are skipped.
    """
    now = now or timezone.now()
    sent = 0
    for index, (field, lead) in enumerate(REMINDERS):
        next_lead = REMINDERS[index + 1][1] if index + 1 < len(REMINDERS) else timedelta(0)
        with transaction.atomic():
            due = (
                Booking.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    status=Booking.Status.ACTIVE,
                    session__status=Session.Status.SCHEDULED,
                    session__starts_at__gt=now + next_lead,
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
                if field == "reminded_24h_at" and session.starts_at - booking.created_at < lead:
                    # Booked inside the day before: the confirmation just said when. Only the short one.
                    setattr(booking, field, now)
                    booking.save(update_fields=[field])
                    continue
                words = time_left_words(session.starts_at - now)
                notify(
                    user=booking.learner,
                    kind="reminder",
                    text=f"Reminder: “{session.title}” with {session.mentor.display_name} starts {words} "
                    f"({_start_words(session.starts_at, booking.learner.time_zone, now)}).",
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
                        text=f"Reminder: your session “{session.title}” starts {words} "
                        f"({_start_words(session.starts_at, session.mentor.time_zone, now)}).",
                        link=reverse("dashboard"),
                    )
    return sent
