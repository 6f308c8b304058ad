"""iCalendar output: one session's .ics and a user's subscribable feed. Times are written in UTC."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from ..models import Session

PRODID = "-//PeerLearn//Mentoring sessions//EN"


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    return cal


def _event(session: Session) -> Event:
    event = Event()
    event.add("uid", f"session-{session.pk}@peerlearn")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", session.starts_at.astimezone(UTC))
    event.add("dtend", session.ends_at.astimezone(UTC))
    event.add("summary", f"{session.title} (PeerLearn)")
    event.add("description", f"With {session.mentor.display_name}.\n\n{session.description}".strip())
    event.add("url", f"{settings.SITE_URL}/sessions/{session.pk}/")
    event.add("status", "CANCELLED" if session.status == Session.Status.CANCELLED else "CONFIRMED")
    return event


def session_ics(session: Session) -> bytes:
    cal = _calendar(session.title)
    cal.add("method", "PUBLISH")
    cal.add_component(_event(session))
    return cal.to_ical()


def sessions_feed_ics(*, name: str, sessions: Iterable[Session]) -> bytes:
    cal = _calendar(name)
    for session in sessions:
        cal.add_component(_event(session))
    return cal.to_ical()
