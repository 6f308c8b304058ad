"""iCalendar output: one session's .ics and a user's subscribable feed. Times are written in UTC.

Every text that reaches a file goes through ``_one_line`` or ``_multi_line`` first, whatever is
stored: a title or name written before control characters were refused (or by an admin, or by
another caller) must not break anyone's calendar. icalendar then escapes TEXT (RFC 5545 3.3.11:
backslash, semicolon, comma, newline) and folds lines at 75 octets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vText

from portal.dates import safe_localtime

from ..models import Session

PRODID = "-//PeerLearn//Mentoring sessions//EN"

_LINE_BREAKS = re.compile(r"\r\n|\r|\n|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Control characters other than tab and newline, DEL, and lone surrogates (not encodable as UTF-8).
_UNWRITABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")


def _multi_line(value: str) -> str:
    """Stored text as an iCalendar TEXT value: any line break becomes LF (escaped as ``\\n`` by
    icalendar), other control characters go."""
    lines = _LINE_BREAKS.split(value)
    return "\n".join(_UNWRITABLE.sub("", line) for line in lines)


def _one_line(value: str) -> str:
    """Stored text for a one-line property (a summary, a calendar's name): line breaks become spaces."""
    return " ".join(_UNWRITABLE.sub("", line).strip() for line in _LINE_BREAKS.split(value)).strip()


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    # An X- property is not escaped by icalendar unless it is given as TEXT.
    cal.add("x-wr-calname", vText(_one_line(name)))
    return cal


def _event(session: Session) -> Event:
    event = Event()
    event.add("uid", f"session-{session.pk}@peerlearn")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", safe_localtime(session.starts_at, UTC))
    event.add("dtend", safe_localtime(session.ends_at, UTC))
    event.add("summary", _one_line(f"{session.title} (PeerLearn)"))
    event.add(
        "description", _multi_line(f"With {_one_line(session.mentor.display_name)}.\n\n{session.description}".strip())
    )
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
