"""Confirmations and calendar invitations: every booking, cancellation, time change and waitlist
promotion reaches both sides (stored notification, live push, email), and each email carries an
.ics that calendar apps apply to one event (stable UID, SEQUENCE raised by every change)."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from mentoring.models import Booking, Notification, Session
from mentoring.services import notifications as notifications_module
from mentoring.services.bookings import booking_cancel, booking_create, waitlist_join
from mentoring.services.calendar import invite_ics
from mentoring.services.notifications import Invite, notify
from mentoring.services.profiles import calendar_feed_get
from mentoring.services.sessions import session_cancel, session_update
from mentoring.tests.factories import make_session

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- reading what was sent
@dataclass
class Sent:
    """One email's calendar invitation, parsed as a mail client would find it."""

    method_param: str
    filename: str
    calendar: Calendar

    @property
    def event(self):
        (event,) = self.calendar.walk("VEVENT")
        return event

    @property
    def method(self) -> str:
        return str(self.calendar["method"])

    @property
    def sequence(self) -> int:
        return int(self.event["sequence"])


def invites_in(message) -> list[Sent]:
    found = []
    for part in message.message().walk():
        if part.get_content_type() == "text/calendar":
            found.append(
                Sent(
                    method_param=part.get_param("method"),
                    filename=part.get_filename(),
                    calendar=Calendar.from_ical(part.get_payload(decode=True)),
                )
            )
    return found


def room_link(session: Session) -> str:
    return f"{settings.SITE_URL}/sessions/{session.room_id}/room/"


def check_invite(sent: Sent, *, session: Session, recipient, method: str) -> None:
    """Everything a calendar app needs, as RFC 5545/5546 and our promises say."""
    event = sent.event
    assert sent.method == method == sent.method_param and sent.filename == "invite.ics"
    assert str(event["uid"]) == f"session-{session.pk}@peerlearn"
    start = event.decoded("dtstart")  # iCalendar times are whole seconds
    assert start.utcoffset() == timedelta(0) and start == session.starts_at.replace(microsecond=0)
    assert event.decoded("dtend") == session.ends_at.replace(microsecond=0)
    assert f"DTSTART:{session.starts_at:%Y%m%dT%H%M%S}Z" in sent.calendar.to_ical().decode()
    assert room_link(session) in str(event["location"]) and room_link(session) in str(event["description"])
    assert str(event["organizer"]).startswith("mailto:")
    assert str(event["attendee"]) == f"mailto:{recipient.email}"
    # Nobody's address reaches anybody else: only the recipient's own.
    raw = sent.calendar.to_ical().decode()
    others = {u.email for u in type(recipient).objects.exclude(pk=recipient.pk)}
    assert not [address for address in others if address in raw]
    assert str(event["status"]) == ("CANCELLED" if method == "CANCEL" else "CONFIRMED")


@dataclass
class Journey:
    """Runs one step (an HTTP request, mostly) and checks what each person got from it."""

    capture: object
    pushed: list
    session_pk: int = 0
    rows: int = 0
    valid: int = 0
    last_sequence: dict = field(default_factory=dict)

    def step(self, action, *expected):
        """``expected``: (recipient, notification kind, iTIP method) for every message the step sends; a
        method of ``None``: a message about no calendar event (a request still waiting, a proposal), which
        carries no invitation."""
        mails_before, notes_before, pushed_before = len(mail.outbox), _last_notification_pk(), len(self.pushed)
        with self.capture(execute=True):
            result = action()
        mails = mail.outbox[mails_before:]
        notes = list(Notification.objects.filter(pk__gt=notes_before))
        pushes = self.pushed[pushed_before:]
        assert len(mails) == len(notes) == len(pushes) == len(expected), (
            [(m.to, m.subject) for m in mails],
            expected,
        )
        for recipient, kind, method in expected:
            self.rows += 1
            (note,) = [n for n in notes if n.user_id == recipient.pk and n.kind == kind]
            assert (recipient.pk, kind) in pushes
            label = Notification.Kind(kind).label
            (message,) = [m for m in mails if m.to == [recipient.email] and m.subject == f"[PeerLearn] {label}"]
            assert note.text in message.body
            if method is None:
                assert invites_in(message) == []
                self.valid += 1
                continue
            # The step's session, or the one it made (a request accepted).
            session_pk = self.session_pk or getattr(result, "session_id", None)
            session = Session.objects.select_related("mentor").get(pk=session_pk)
            (sent,) = invites_in(message)
            check_invite(sent, session=session, recipient=recipient, method=method)
            previous = self.last_sequence.get(recipient.pk, -1)
            assert sent.sequence > previous, (recipient, kind, sent.sequence, previous)
            self.last_sequence[recipient.pk] = sent.sequence
            assert sent.sequence <= session.ics_sequence
            if method == "REQUEST":
                assert room_link(session) in message.body  # joinable from the email itself
            self.valid += 1
        return result


def _last_notification_pk() -> int:
    last = Notification.objects.order_by("-pk").first()
    return last.pk if last else 0


@pytest.fixture
def pushed(monkeypatch):
    """Every live push to a person's open tabs (the bell), as (user id, kind)."""
    calls = []
    real = notifications_module.push_notification

    def recording(*, user_id, notification, count_unread):
        calls.append((user_id, notification["kind"]))
        return real(user_id=user_id, notification=notification, count_unread=count_unread)

    monkeypatch.setattr(notifications_module, "push_notification", recording)
    return calls


def whole_minute(ahead: timedelta) -> datetime:
    """A start as the session form gives it: a whole minute (an edit that keeps it keeps it exactly)."""
    return (timezone.now() + ahead).replace(second=0, microsecond=0)


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def edit_form(session: Session, zone: str, **overrides) -> dict:
    data = {
        "title": session.title,
        "description": session.description,
        "skills": [],
        "starts_at": timezone.localtime(session.starts_at, zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": str(session.duration_minutes),
        "capacity": str(session.capacity),
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- the whole loop
def test_every_event_reaches_both_sides_with_a_calendar_invite(
    mentor, learner, other_learner, pushed, django_capture_on_commit_callbacks
):
    session = make_session(mentor, starts_at=whole_minute(timedelta(days=3)), capacity=1, title="Code review")
    assert mail.outbox == [] and not Notification.objects.exists()  # publishing a session sends nothing
    journey = Journey(capture=django_capture_on_commit_callbacks, pushed=pushed, session_pk=session.pk)
    as_learner, as_other, as_mentor = signed_in(learner), signed_in(other_learner), signed_in(mentor)

    # Booking: the learner's confirmation, the mentor's notice; both add the event to their calendar.
    response = journey.step(
        lambda: as_learner.post(f"/sessions/{session.pk}/book/"),
        (learner, "booking_confirmed", "REQUEST"),
        (mentor, "booking_made", "REQUEST"),
    )
    assert response.status_code == 302
    booking = Booking.objects.get(learner=learner, status=Booking.Status.ACTIVE)

    # Joining the full session's waitlist sends nothing yet.
    journey.step(lambda: as_other.post(f"/sessions/{session.pk}/waitlist/"))

    # The learner gives up the seat: their calendar drops the event; the mentor's is updated; the
    # waiting learner gets the seat and the event, and the mentor hears about it.
    journey.step(
        lambda: as_learner.post(f"/bookings/{booking.pk}/cancel/", {"confirmed": "yes"}),
        (learner, "booking_cancelled", "CANCEL"),
        (mentor, "booking_cancelled", "REQUEST"),
        (other_learner, "waitlist_promoted", "REQUEST"),
        (mentor, "booking_made", "REQUEST"),
    )
    assert Booking.objects.get(learner=other_learner).status == Booking.Status.ACTIVE

    # The mentor moves the session: everyone booked, and the mentor, get the update.
    new_start = timezone.localtime(session.starts_at, zoneinfo.ZoneInfo(mentor.time_zone)) + timedelta(hours=2)
    response = journey.step(
        lambda: as_mentor.post(
            f"/sessions/{session.pk}/edit/",
            edit_form(session, mentor.time_zone, starts_at=f"{new_start:%Y-%m-%dT%H:%M}"),
        ),
        (other_learner, "session_changed", "REQUEST"),
        (mentor, "session_changed", "REQUEST"),
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.starts_at == new_start

    # The mentor cancels: every calendar drops it.
    journey.step(
        lambda: as_mentor.post(f"/sessions/{session.pk}/cancel/", {"confirmed": "yes", "reason": "Ill"}),
        (other_learner, "session_cancelled", "CANCEL"),
        (mentor, "session_cancelled", "CANCEL"),
    )
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED

    print(
        f"\n[invites] {journey.rows} events x both sides, emails with a valid .ics {journey.valid}, "
        f"missing {journey.rows - journey.valid}"
    )
    assert journey.rows == journey.valid == 10


def test_sequence_rises_from_booking_through_a_new_time_to_the_cancellation(
    mentor, learner, pushed, django_capture_on_commit_callbacks
):
    session = make_session(mentor, starts_in=timedelta(days=4), capacity=2)
    journey = Journey(capture=django_capture_on_commit_callbacks, pushed=pushed, session_pk=session.pk)
    journey.step(
        lambda: booking_create(session_id=session.pk, learner=learner),
        (learner, "booking_confirmed", "REQUEST"),
        (mentor, "booking_made", "REQUEST"),
    )
    booked = journey.last_sequence[learner.pk]
    journey.step(
        lambda: session_update(
            session_id=session.pk,
            mentor=mentor,
            title="Renamed review",
            description=session.description,
            skills=[],
            starts_at=session.starts_at + timedelta(days=1),
            duration_minutes=45,
            capacity=2,
        ),
        (learner, "session_changed", "REQUEST"),
        (mentor, "session_changed", "REQUEST"),
    )
    moved = journey.last_sequence[learner.pk]
    journey.step(
        lambda: session_cancel(session_id=session.pk, actor=mentor),
        (learner, "session_cancelled", "CANCEL"),
        (mentor, "session_cancelled", "CANCEL"),
    )
    assert booked < moved < journey.last_sequence[learner.pk] == Session.objects.get(pk=session.pk).ics_sequence
    invite = invites_in(mail.outbox[-2])[0]
    assert "Renamed review" in str(invite.event["summary"])


def test_a_description_only_edit_sends_nothing_and_keeps_the_sequence(
    mentor, learner, django_capture_on_commit_callbacks
):
    session = make_session(mentor, starts_at=whole_minute(timedelta(days=4)), capacity=2)
    booking_create(session_id=session.pk, learner=learner)
    sequence = Session.objects.get(pk=session.pk).ics_sequence
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(mentor).post(
            f"/sessions/{session.pk}/edit/", edit_form(session, mentor.time_zone, description="Bring tests too.")
        )
    assert response.status_code == 302
    assert Session.objects.get(pk=session.pk).description == "Bring tests too."
    assert len(mail.outbox) == sent and Session.objects.get(pk=session.pk).ics_sequence == sequence


def test_a_seat_taken_again_after_a_cancel_is_newer_than_the_cancel(
    mentor, learner, pushed, django_capture_on_commit_callbacks
):
    session = make_session(mentor, starts_in=timedelta(days=4), capacity=2)
    journey = Journey(capture=django_capture_on_commit_callbacks, pushed=pushed, session_pk=session.pk)
    first = journey.step(
        lambda: booking_create(session_id=session.pk, learner=learner),
        (learner, "booking_confirmed", "REQUEST"),
        (mentor, "booking_made", "REQUEST"),
    )
    journey.step(
        lambda: booking_cancel(booking_id=first.pk, learner=learner),
        (learner, "booking_cancelled", "CANCEL"),
        (mentor, "booking_cancelled", "REQUEST"),
    )
    # Journey.step asserts each recipient's SEQUENCE rises: a calendar would otherwise keep the CANCEL.
    journey.step(
        lambda: booking_create(session_id=session.pk, learner=learner),
        (learner, "booking_confirmed", "REQUEST"),
        (mentor, "booking_made", "REQUEST"),
    )


# --------------------------------------------------------------------------- one click, one effect
def test_a_double_click_sends_one_email_pair(mentor, learner, django_capture_on_commit_callbacks):
    session = make_session(mentor, starts_in=timedelta(days=2), capacity=3)
    browser = signed_in(learner)
    with django_capture_on_commit_callbacks(execute=True):
        answers = [browser.post(f"/sessions/{session.pk}/book/", follow=True) for _ in range(2)]
    assert all(a.status_code == 200 for a in answers)
    assert Booking.objects.filter(session=session).count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted([learner.email, mentor.email])
    assert Notification.objects.count() == 2
    booking = Booking.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            browser.post(f"/bookings/{booking.pk}/cancel/", {"confirmed": "yes"})
    assert len(mail.outbox) == 4 and Notification.objects.count() == 4
    as_mentor = signed_in(mentor)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            as_mentor.post(f"/sessions/{session.pk}/cancel/", {"confirmed": "yes"})
    # Nobody booked any more: the mentor alone is told, once.
    assert len(mail.outbox) == 5 and Notification.objects.filter(user=mentor, kind="session_cancelled").count() == 1


# --------------------------------------------------------------------------- the other calendar doors
def test_the_feed_and_the_download_carry_the_invites_uid_and_sequence(
    mentor, learner, django_capture_on_commit_callbacks
):
    session = make_session(mentor, starts_in=timedelta(days=5), capacity=2)
    with django_capture_on_commit_callbacks(execute=True):
        booking_create(session_id=session.pk, learner=learner)
        session_update(
            session_id=session.pk,
            mentor=mentor,
            title=session.title,
            description="",
            skills=[],
            starts_at=session.starts_at + timedelta(hours=3),
            duration_minutes=60,
            capacity=2,
        )
    last_invite = invites_in(mail.outbox[-1])[0].event
    browser = signed_in(learner)
    download = Calendar.from_ical(browser.get(f"/sessions/{session.pk}/calendar.ics").content)
    feed_url = f"/calendar/feed/{calendar_feed_get(user=learner).token}.ics"
    feed = Calendar.from_ical(Client().get(feed_url).content)
    (feed_event,) = [e for e in feed.walk("VEVENT") if str(e["uid"]) == str(last_invite["uid"])]
    (download_event,) = download.walk("VEVENT")
    for event in (feed_event, download_event):
        assert str(event["uid"]) == f"session-{session.pk}@peerlearn"
        assert int(event["sequence"]) == int(last_invite["sequence"]) == Session.objects.get(pk=session.pk).ics_sequence
        assert event.decoded("dtstart") == last_invite.decoded("dtstart")


# --------------------------------------------------------------------------- the email itself
def test_the_invite_is_a_calendar_part_with_its_method(mentor, learner, django_capture_on_commit_callbacks):
    session = make_session(mentor, starts_in=timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        booking_create(session_id=session.pk, learner=learner)
    message = next(m for m in mail.outbox if m.to == [learner.email])
    (part,) = [p for p in message.message().walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST" and part.get_content_charset() == "utf-8"
    assert part.get_content_disposition() == "attachment" and part.get_filename() == "invite.ics"
    assert message.content_subtype == "plain" and not getattr(message, "alternatives", None)


# --------------------------------------------------------------------------- hostile stored text
HOSTILE_TITLE = "Evil\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\x00\ud800; title, \\ end\u2028x"
HOSTILE_NAME = 'Mal\nlory "the" ;:, mentor\x00\udfff'


def test_hostile_stored_text_still_yields_a_parseable_invite(mentor, learner, django_capture_on_commit_callbacks):
    session = make_session(mentor, starts_in=timedelta(days=2))
    # What PostgreSQL can hold (CR/LF), stored as an old row or an admin might have it...
    Session.objects.filter(pk=session.pk).update(title="Line\r\nbreak\rSUMMARY:x", description="a\r\n\x0bb")
    with django_capture_on_commit_callbacks(execute=True):
        booking_create(session_id=session.pk, learner=learner)
    for message in mail.outbox:
        (sent,) = invites_in(message)
        assert str(sent.event["summary"]) == "Line break SUMMARY:x (PeerLearn)"
        assert len(sent.calendar.walk("VEVENT")) == 1
    # ...and what it cannot (NUL, lone surrogates), as another caller might hand it over in memory.
    session = Session.objects.select_related("mentor").get(pk=session.pk)
    session.title, session.description = HOSTILE_TITLE, "desc\x00\ud800\r\nline"
    session.mentor.display_name = HOSTILE_NAME
    learner.display_name = HOSTILE_NAME
    for method in ("REQUEST", "CANCEL"):
        calendar = Calendar.from_ical(invite_ics(session=session, method=method, attendee=learner))
        (event,) = calendar.walk("VEVENT")
        assert str(calendar["method"]) == method
        assert "\n" not in str(event["summary"]) and "\x00" not in str(event["summary"])
        assert str(event["summary"]).startswith("Evil METHOD:CANCEL BEGIN:VEVENT; title, \\ end")
        assert room_link(session) in str(event["location"])
    before = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        note = notify(
            user=learner,
            kind="session_changed",
            text=f"“{session.title}” with {session.mentor.display_name} changed.",
            link="/dashboard/",
            invite=Invite(session, "REQUEST"),
        )
    assert "\x00" not in note.text and "\n" not in note.text
    (message,) = mail.outbox[before:]
    (sent,) = invites_in(message)
    assert sent.method == sent.method_param == "REQUEST"  # the title's "METHOD:CANCEL" fools nothing
    assert "\ud800" not in message.body and "\x00" not in message.body


def test_an_unknown_method_is_refused(mentor):
    session = make_session(mentor, starts_in=timedelta(days=2))
    with pytest.raises(ValueError):
        Invite(session, "PUBLISH")
    with pytest.raises(ValueError):
        invite_ics(session=session, method="REFRESH")


def test_a_session_at_the_calendars_edge_still_books_and_invites(mentor, learner, django_capture_on_commit_callbacks):
    session = make_session(mentor, starts_in=timedelta(days=2))
    far = datetime(9999, 12, 31, 22, 0, tzinfo=UTC)
    Session.objects.filter(pk=session.pk).update(starts_at=far, ends_at=far + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        booking_create(session_id=session.pk, learner=learner)
    assert Booking.objects.filter(session=session).count() == 1
    for message in mail.outbox:
        (sent,) = invites_in(message)
        assert sent.event.decoded("dtstart") == far


def test_waitlist_promotion_after_capacity_rises_tells_each_learner_once(
    mentor, learner, other_learner, django_capture_on_commit_callbacks
):
    session = make_session(mentor, starts_in=timedelta(days=3), capacity=1)
    booking_create(session_id=session.pk, learner=learner)
    waitlist_join(session_id=session.pk, learner=other_learner)
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        session_update(
            session_id=session.pk,
            mentor=mentor,
            title=session.title,
            description="",
            skills=[],
            starts_at=session.starts_at + timedelta(hours=1),
            duration_minutes=60,
            capacity=2,
        )
    kinds = sorted(Notification.objects.values_list("user__email", "kind"))
    assert kinds == sorted(
        [
            (learner.email, "session_changed"),
            (mentor.email, "session_changed"),
            (other_learner.email, "waitlist_promoted"),
            (mentor.email, "booking_made"),
        ]
    )


def test_every_request_and_reschedule_path_reaches_both_sides(
    mentor, learner, pushed, django_capture_on_commit_callbacks
):
    from mentoring.models import RescheduleProposal, SessionRequest
    from mentoring.services.availability import availability_update
    from mentoring.services.requests import (
        request_accept,
        request_create,
        request_decline,
        request_slots,
        request_withdraw,
        requests_expire,
    )
    from mentoring.services.reschedule import reschedule_accept, reschedule_decline, reschedule_propose

    availability_update(
        mentor=mentor,
        time_zone="Europe/Berlin",
        session_lengths=[60],
        buffer_before=0,
        buffer_after=0,
        min_notice=120,
        max_days_ahead=30,
        daily_cap=None,
        weekly_cap=None,
        auto_accept=False,
        weekly_hours={day: [(8 * 60, 20 * 60)] for day in range(7)},
    )
    journey = Journey(capture=django_capture_on_commit_callbacks, pushed=pushed)

    def ask(index: int) -> SessionRequest:
        start = request_slots(mentor=mentor, duration_minutes=60)[index].starts_at
        return journey.step(
            lambda: request_create(
                learner=learner, mentor_id=mentor.pk, starts_at=start, duration_minutes=60, agenda="Pairing"
            ),
            (learner, "request_sent", None),
            (mentor, "request_received", None),
        )

    # A request, accepted: both get the event.
    asked = ask(0)
    accepted = journey.step(
        lambda: request_accept(request_id=asked.pk, mentor=mentor),
        (learner, "request_accepted", "REQUEST"),
        (mentor, "request_accepted", "REQUEST"),
    )
    journey.session_pk = accepted.session_id
    # A request declined, one withdrawn, one left to expire (one waits at a time per mentor and learner).
    declined = ask(10)
    journey.step(
        lambda: request_decline(request_id=declined.pk, mentor=mentor, message="Not this week"),
        (learner, "request_declined", None),
        (mentor, "request_declined", None),
    )
    withdrawn = ask(20)
    journey.step(
        lambda: request_withdraw(request_id=withdrawn.pk, learner=learner),
        (learner, "request_withdrawn", None),
        (mentor, "request_withdrawn", None),
    )
    expiring = ask(30)
    later = SessionRequest.objects.get(pk=expiring.pk).expires_at + timedelta(minutes=1)
    journey.step(
        lambda: requests_expire(now=later),
        (learner, "request_expired", None),
        (mentor, "request_expired", None),
    )

    # The learner proposes a new time; the mentor accepts: the same event (UID), a newer SEQUENCE.
    session = Session.objects.get(pk=accepted.session_id)
    new_time = request_slots(mentor=mentor, duration_minutes=60)[5].starts_at
    proposal = journey.step(
        lambda: reschedule_propose(session_id=session.pk, user=learner, starts_at=new_time),
        (learner, "reschedule_proposed", None),
        (mentor, "reschedule_proposed", None),
    )
    journey.step(
        lambda: reschedule_accept(proposal_id=proposal.pk, user=mentor),
        (learner, "reschedule_accepted", "REQUEST"),
        (mentor, "reschedule_accepted", "REQUEST"),
    )
    assert Session.objects.get(pk=session.pk).starts_at == new_time
    # The mentor proposes another; the learner declines it: the event stays as it is.
    other_time = request_slots(mentor=mentor, duration_minutes=60)[8].starts_at
    proposal = journey.step(
        lambda: reschedule_propose(session_id=session.pk, user=mentor, starts_at=other_time),
        (learner, "reschedule_proposed", None),
        (mentor, "reschedule_proposed", None),
    )
    journey.step(
        lambda: reschedule_decline(proposal_id=proposal.pk, user=learner, message="That clashes"),
        (learner, "reschedule_declined", None),
        (mentor, "reschedule_declined", None),
    )
    assert RescheduleProposal.objects.get(pk=proposal.pk).status == "declined"
    # The learner cancels the one-to-one: both calendars drop it, and the mentor's time is free again.
    booking = Booking.objects.get(session=session, learner=learner)
    journey.step(
        lambda: booking_cancel(booking_id=booking.pk, learner=learner),
        (learner, "booking_cancelled", "CANCEL"),
        (mentor, "booking_cancelled", "CANCEL"),
    )
    assert Session.objects.get(pk=session.pk).status == Session.Status.CANCELLED
    assert new_time in [s.starts_at for s in request_slots(mentor=mentor, duration_minutes=60)]
    print(
        f"\n[invites] 1:1 paths: {journey.rows} path x recipient messages, delivered by socket and email "
        f"{journey.valid} (those about an event with a valid .ics), missing {journey.rows - journey.valid}"
    )
    assert journey.rows == journey.valid == 26
