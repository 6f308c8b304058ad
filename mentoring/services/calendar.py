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
from email.utils import parseaddr

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from icalendar import Calendar, Event, vText

from portal.accounts.models import User
from portal.dates import safe_localtime

from ..models import Session

INVITE_METHODS = ("REQUEST", "CANCEL")
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


def room_url(session: Session) -> str:
    return f"{settings.SITE_URL}/sessions/{session.room_id}/room/"


def _event(session: Session) -> Event:
    # One UID per session everywhere (the feed, the download, every emailed invite), so a calendar app
    # updates the same event; SEQUENCE tells it which version is newer.
    event = Event()
    event.add("uid", f"session-{session.pk}@peerlearn")
    event.add("sequence", session.ics_sequence)
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


def _organizer_address() -> str:
    # The site's own sender, never the mentor's address: people's emails are not shown to each other.
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "no-reply@peerlearn.local"


def invite_ics(*, session: Session, method: str, attendee: User | None = None) -> bytes:
    """An emailed invitation (RFC 5546): METHOD:REQUEST to add or update the event, METHOD:CANCEL to
    remove it from this attendee's calendar. It carries the room link, to join from the calendar.

    The organizer is the mentor by name at the site's own address, and the only attendee is the
    recipient: nobody's email address reaches anyone else's calendar."""
    if method not in INVITE_METHODS:
        raise ValueError(f"unknown iTIP method {method!r}")
    cal = _calendar(session.title)
    cal.add("method", method)
    event = _event(session)
    link = room_url(session)
    event["description"] = vText(_multi_line(f"Join the call: {link}\n\n{event['description']}"))
    event.add("location", link)
    mentor_name = _one_line(session.mentor.display_name)
    organizer = f"{mentor_name} (PeerLearn)" if mentor_name else "PeerLearn"
    event.add("organizer", f"mailto:{_organizer_address()}", parameters={"cn": organizer})
    if attendee is not None:
        role = "CHAIR" if attendee.pk == session.mentor_id else "REQ-PARTICIPANT"
        event.add(
            "attendee",
            f"mailto:{attendee.email}",
            parameters={
                "cn": _one_line(attendee.display_name) or attendee.email,
                "role": role,
                "partstat": "ACCEPTED",
                "rsvp": "FALSE",
            },
        )
    if method == "CANCEL":
        event["status"] = vText("CANCELLED")
    cal.add_component(event)
    return cal.to_ical()


def calendar_sequence_bump(*, session: Session) -> None:
    """Raise the session's iCalendar SEQUENCE: call it with every change a calendar must follow (a new
    time, a new title, a cancellation, a seat taken or given up) before building the invites for it,
    so every invite is newer than any sent before (a seat taken again after a CANCEL must win over it)."""
    Session.objects.filter(pk=session.pk).update(ics_sequence=F("ics_sequence") + 1)
    session.refresh_from_db(fields=["ics_sequence"])


def sessions_feed_ics(*, name: str, sessions: Iterable[Session]) -> bytes:
    cal = _calendar(name)
    for session in sessions:
        cal.add_component(_event(session))
    return cal.to_ical()
