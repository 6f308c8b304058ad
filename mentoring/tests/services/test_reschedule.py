"""Rescheduling a one-to-one session: propose, accept, decline, withdraw, expire. Every rule and
refusal, the calendar invitations both sides get, and the reminders that follow the new time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.mime.base import MIMEBase

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from icalendar import Calendar

from mentoring.errors import MentoringError, NotFound
from mentoring.models import Availability, Booking, Notification, RescheduleProposal, Session, WeeklyHours
from mentoring.periodic import JOBS
from mentoring.services import reschedule as reschedule_module
from mentoring.services.bookings import booking_cancel
from mentoring.services.reminders import reminders_send
from mentoring.services.reschedule import (
    reschedule_accept,
    reschedule_decline,
    reschedule_propose,
    reschedule_withdraw,
    reschedules_expire,
)
from mentoring.services.sessions import session_cancel
from mentoring.tests.factories import make_booking, make_session

pytestmark = pytest.mark.django_db


def at(days: int, hour: int, minute: int = 0) -> datetime:
    """``days`` from today at hour:minute UTC (the test mentor's hours are in UTC)."""
    today = timezone.now().astimezone(UTC).date()
    return datetime(today.year, today.month, today.day, hour, minute, tzinfo=UTC) + timedelta(days=days)


def open_hours(mentor, *, lengths=(60,), start_hour: int = 8, end_hour: int = 20, **rules) -> Availability:
    """Every day 08:00-20:00 UTC, an hour's notice, 60 days ahead (unless ``rules`` say otherwise)."""
    availability = Availability.objects.create(
        mentor=mentor,
        time_zone="UTC",
        session_lengths=list(lengths),
        min_notice=rules.pop("min_notice", 60),
        max_days_ahead=rules.pop("max_days_ahead", 60),
        **rules,
    )
    WeeklyHours.objects.bulk_create(
        WeeklyHours(availability=availability, weekday=day, start_minute=start_hour * 60, end_minute=end_hour * 60)
        for day in range(7)
    )
    return availability


@pytest.fixture
def one_to_one(mentor, learner):
    """A booked one-to-one session on day 3 at 10:00 UTC, the mentor available every day."""
    open_hours(mentor)
    session = make_session(mentor, starts_at=at(3, 10), duration=60, capacity=1)
    make_booking(session, learner)
    session.refresh_from_db()
    return session


def invites(outbox) -> dict[str, Calendar]:
    """Each recipient's calendar invitation, parsed."""
    found = {}
    for message in outbox:
        for attachment in message.attachments:
            if isinstance(attachment, MIMEBase):  # a MIME part of its own (text/calendar; method=...)
                filename, content = attachment.get_filename(), attachment.get_payload(decode=True)
            else:
                filename, content = attachment[0], attachment[1]
            if filename == "invite.ics":
                found[message.to[0]] = Calendar.from_ical(content)
    return found


def event_of(calendar: Calendar):
    return next(component for component in calendar.walk("VEVENT"))


# --------------------------------------------------------------------------- proposing
def test_learner_proposes_and_the_mentor_is_asked(one_to_one, mentor, learner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = reschedule_propose(
            session_id=one_to_one.pk, user=learner, starts_at=at(4, 15), message="Clash with work, sorry!"
        )
    assert (proposal.status, proposal.proposed_by, proposal.starts_at) == ("pending", learner, at(4, 15))
    assert proposal.ends_at == at(4, 16)  # the session's own length
    asked = Notification.objects.get(user=mentor)
    assert asked.kind == "reschedule_proposed" and asked.link == f"/sessions/{one_to_one.pk}/"
    # In the mentor's zone (America/New_York): 15:00 UTC is 10:00 or 11:00 there.
    assert "Alice Learner proposes a new time" in asked.text and "(America/New_York)" in asked.text
    assert "Clash with work" in asked.text
    told = Notification.objects.get(user=learner)
    assert told.kind == "reschedule_proposed" and "You proposed" in told.text and "(Asia/Kolkata)" in told.text
    assert sorted(m.to[0] for m in mail.outbox) == sorted([mentor.email, learner.email])
    assert invites(mail.outbox) == {}  # nothing changed yet: no calendar update
    one_to_one.refresh_from_db()
    assert one_to_one.starts_at == at(3, 10)


def test_mentor_proposes_and_the_learner_is_asked(one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=mentor, starts_at=at(5, 9))
    assert proposal.proposed_by == mentor
    asked = Notification.objects.get(user=learner)
    assert "Maya Mentor proposes a new time" in asked.text and "(Asia/Kolkata)" in asked.text


@pytest.mark.parametrize("who", ["outsider", "other_learner"])
def test_only_the_participants_may_propose(one_to_one, request, who):
    person = request.getfixturevalue(who)
    with pytest.raises(NotFound):
        reschedule_propose(session_id=one_to_one.pk, user=person, starts_at=at(4, 15))
    assert not RescheduleProposal.objects.exists()


def test_a_waitlisted_learner_or_one_who_cancelled_is_no_participant(one_to_one, learner, other_learner):
    from mentoring.models import WaitlistEntry

    WaitlistEntry.objects.create(session=one_to_one, learner=other_learner)
    with pytest.raises(NotFound):
        reschedule_propose(session_id=one_to_one.pk, user=other_learner, starts_at=at(4, 15))
    booking_cancel(booking_id=Booking.objects.get(learner=learner).pk, learner=learner)
    with pytest.raises(NotFound):
        reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))


def test_an_unknown_session_is_not_found(learner):
    with pytest.raises(NotFound):
        reschedule_propose(session_id=987654, user=learner, starts_at=at(4, 15))


def test_group_sessions_are_not_proposed(mentor, learner):
    open_hours(mentor)
    group = make_session(mentor, starts_at=at(3, 10), capacity=3)
    make_booking(group, learner)
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=group.pk, user=mentor, starts_at=at(4, 15))
    assert error.value.code == "group" and "Edit" in error.value.message


def test_a_one_to_one_nobody_booked_is_edited_instead(mentor):
    open_hours(mentor)
    session = make_session(mentor, starts_at=at(3, 10))
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=session.pk, user=mentor, starts_at=at(4, 15))
    assert error.value.code == "no_learner"


def test_a_cancelled_or_started_session_cannot_move(one_to_one, mentor, learner):
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15), now=at(3, 10, 30))
    assert error.value.code == "past"
    session_cancel(session_id=one_to_one.pk, actor=mentor)
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    assert error.value.code == "cancelled"


@pytest.mark.parametrize(
    ("starts_at", "code"),
    [
        (lambda: at(4, 3), "outside_hours"),  # before the hours
        (lambda: at(4, 19, 30), "outside_hours"),  # would end after them
        (lambda: at(4, 15, 10), "outside_hours"),  # not on the half-hour grid
        (lambda: at(90, 10), "too_far"),
        (lambda: timezone.now() + timedelta(minutes=20), "too_soon"),
        (lambda: at(3, 10), "same_time"),
    ],
)
def test_the_new_time_must_be_a_free_slot(one_to_one, learner, starts_at, code):
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=starts_at())
    assert error.value.code == code and error.value.message
    assert not RescheduleProposal.objects.exists()


def test_a_time_another_session_of_the_mentor_takes_is_refused(one_to_one, mentor, learner):
    make_session(mentor, starts_at=at(4, 15), title="Group hour", capacity=3)
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15, 30))
    assert error.value.code == "slot_taken"


def test_the_sessions_own_time_does_not_block_its_move(one_to_one, learner):
    # 10:30 overlaps the session's own 10:00-11:00: moving half an hour later is fine.
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(3, 10, 30))
    assert proposal.starts_at == at(3, 10, 30)


def test_the_learner_may_not_propose_a_time_of_their_other_booking(one_to_one, mentor, learner):
    other_mentor_session = make_session(_other_mentor(), starts_at=at(4, 15), title="Elsewhere", capacity=2)
    make_booking(other_mentor_session, learner)
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    assert error.value.code == "overlap"
    # The mentor may propose it (the learner's calendar is not theirs to probe); the learner's answer
    # is refused then.
    proposal = reschedule_propose(session_id=one_to_one.pk, user=mentor, starts_at=at(4, 15))
    with pytest.raises(MentoringError) as error:
        reschedule_accept(proposal_id=proposal.pk, user=learner)
    assert error.value.code == "overlap"
    assert RescheduleProposal.objects.get().status == "pending"


def _other_mentor():
    from conftest import make_user

    return make_user("olga@example.com", "Olga Other", "mentor")


def test_one_pending_proposal_per_session(one_to_one, mentor, learner):
    reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    for person in (learner, mentor):
        with pytest.raises(MentoringError) as error:
            reschedule_propose(session_id=one_to_one.pk, user=person, starts_at=at(5, 15))
        assert error.value.code == "pending" and "already proposed" in error.value.message
    assert RescheduleProposal.objects.count() == 1


def test_the_database_keeps_one_pending_proposal_per_session(one_to_one, learner):
    reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    with pytest.raises(IntegrityError, match="reschedule_one_pending_per_session"), transaction.atomic():
        RescheduleProposal.objects.create(
            session=one_to_one, proposed_by=learner, starts_at=at(5, 9), ends_at=at(5, 10)
        )


def test_a_race_the_check_lost_is_the_same_friendly_refusal(one_to_one, learner, monkeypatch):
    reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    # As if the pending check ran before the other request's insert was visible.
    real_filter = RescheduleProposal.objects.filter

    def blind_filter(*args, **kwargs):
        if kwargs.get("status") == RescheduleProposal.Status.PENDING and "session" in kwargs:
            return RescheduleProposal.objects.none()
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(RescheduleProposal.objects, "filter", blind_filter)
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(5, 15))
    assert error.value.code == "pending"


@pytest.mark.parametrize(
    ("message", "code"),
    [("Hello\x00there", "message_text"), ("Bell\x07", "message_text"), ("x" * 1001, "message_text")],
)
def test_hostile_messages_are_refused(one_to_one, learner, message, code):
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15), message=message)
    assert error.value.code == code
    assert not RescheduleProposal.objects.exists()


def test_a_naive_time_is_refused(one_to_one, learner):
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15).replace(tzinfo=None))
    assert error.value.code == "bad_time"


def test_a_session_keeps_its_own_length_when_it_moves(mentor, learner):
    """A 45-minute session with a mentor who offers 30 and 60 minutes for new requests still moves to
    a free 45-minute slot of the mentor's hours; a time off the hours' grid is refused."""
    open_hours(mentor, lengths=(30, 60))
    session = make_session(mentor, starts_at=at(3, 10), duration=45)
    make_booking(session, learner)
    proposal = reschedule_propose(session_id=session.pk, user=learner, starts_at=at(4, 15))
    reschedule_accept(proposal_id=proposal.pk, user=mentor)
    session.refresh_from_db()
    assert (session.starts_at, session.duration_minutes) == (at(4, 15), 45)
    assert session.ends_at == at(4, 15) + timedelta(minutes=45)
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=session.pk, user=learner, starts_at=at(4, 15) + timedelta(minutes=7))
    assert error.value.code == "outside_hours"


def test_a_mentor_without_availability_has_no_times(mentor, learner):
    session = make_session(mentor, starts_at=at(3, 10))
    make_booking(session, learner)
    with pytest.raises(MentoringError) as error:
        reschedule_propose(session_id=session.pk, user=learner, starts_at=at(4, 15))
    assert error.value.code == "unavailable" and "no free times" in error.value.message


def test_private_sessions_from_requests_move_the_same_way(one_to_one, mentor, learner):
    Session.objects.filter(pk=one_to_one.pk).update(private=True)
    proposal = reschedule_propose(session_id=one_to_one.pk, user=mentor, starts_at=at(4, 15))
    reschedule_accept(proposal_id=proposal.pk, user=learner)
    one_to_one.refresh_from_db()
    assert one_to_one.starts_at == at(4, 15) and one_to_one.private


# --------------------------------------------------------------------------- accepting
def test_accepting_moves_the_same_session_and_both_get_the_updated_invite(
    one_to_one, mentor, learner, django_capture_on_commit_callbacks
):
    room, sequence_before = one_to_one.room_id, one_to_one.ics_sequence
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        accepted = reschedule_accept(proposal_id=proposal.pk, user=mentor)

    assert accepted.status == "accepted" and accepted.responded_at is not None
    session = Session.objects.get(pk=one_to_one.pk)
    assert (session.starts_at, session.ends_at) == (at(4, 15), at(4, 16))
    assert session.room_id == room and session.ics_sequence == sequence_before + 1
    assert Booking.objects.get(session=session).learner == learner  # the seat follows

    for person in (mentor, learner):
        note = Notification.objects.filter(user=person, kind="reschedule_accepted").get()
        assert "now starts" in note.text and f"({person.time_zone})" in note.text
    calendars = invites(mail.outbox)
    assert set(calendars) == {mentor.email, learner.email}
    for calendar in calendars.values():
        assert str(calendar["method"]) == "REQUEST"
        event = event_of(calendar)
        assert str(event["uid"]) == f"session-{session.pk}@peerlearn"
        assert int(event["sequence"]) == sequence_before + 1
        assert event.decoded("dtstart") == at(4, 15)
        assert event.decoded("dtend") == at(4, 16)
        assert f"/sessions/{room}/room/" in str(event["location"])
    print(f"\n[reschedule] invites 2 recipients, UID stable, SEQUENCE {sequence_before} -> {sequence_before + 1}")


def test_the_sequence_keeps_rising_with_every_move(one_to_one, mentor, learner, django_capture_on_commit_callbacks):
    sequences = []
    for day, proposer, answerer in ((4, learner, mentor), (5, mentor, learner)):
        proposal = reschedule_propose(session_id=one_to_one.pk, user=proposer, starts_at=at(day, 15))
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            reschedule_accept(proposal_id=proposal.pk, user=answerer)
        sequences.append(int(event_of(invites(mail.outbox)[learner.email])["sequence"]))
    assert sequences[1] > sequences[0]


def test_reminders_follow_the_new_time(one_to_one, mentor, learner):
    booking = Booking.objects.get(session=one_to_one)
    Booking.objects.filter(pk=booking.pk).update(reminded_24h_at=timezone.now(), reminded_15m_at=timezone.now())
    proposal = reschedule_propose(session_id=one_to_one.pk, user=mentor, starts_at=at(4, 15))
    reschedule_accept(proposal_id=proposal.pk, user=learner)
    booking.refresh_from_db()
    assert booking.reminded_24h_at is None and booking.reminded_15m_at is None
    # A day before the new time, the 24-hour reminder goes out again.
    assert reminders_send(now=at(3, 15, 30)) == 1
    assert Notification.objects.filter(user=learner, kind="reminder").exists()


def test_accepting_twice_is_one_effect(one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    reschedule_accept(proposal_id=proposal.pk, user=mentor)
    sequence = Session.objects.get(pk=one_to_one.pk).ics_sequence
    notes = Notification.objects.count()
    again = reschedule_accept(proposal_id=proposal.pk, user=mentor)
    assert again.pk == proposal.pk and again.status == "accepted"
    assert Session.objects.get(pk=one_to_one.pk).ics_sequence == sequence
    assert Notification.objects.count() == notes


def test_the_proposer_cannot_accept_their_own_proposal(one_to_one, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    with pytest.raises(MentoringError) as error:
        reschedule_accept(proposal_id=proposal.pk, user=learner)
    assert error.value.code == "own_proposal"


@pytest.mark.parametrize("who", ["outsider", "other_learner", "admin_user"])
def test_nobody_else_finds_a_proposal(one_to_one, learner, request, who):
    person = request.getfixturevalue(who)
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    for answer in (reschedule_accept, reschedule_withdraw):
        with pytest.raises(NotFound):
            answer(proposal_id=proposal.pk, user=person)
    with pytest.raises(NotFound):
        reschedule_decline(proposal_id=proposal.pk, user=person)
    with pytest.raises(NotFound):
        reschedule_accept(proposal_id=proposal.pk + 1000, user=learner)
    assert RescheduleProposal.objects.get().status == "pending"


def test_a_slot_taken_meanwhile_leaves_the_proposal_pending(one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    make_session(mentor, starts_at=at(4, 15), title="Booked meanwhile", capacity=3)
    with pytest.raises(MentoringError) as error:
        reschedule_accept(proposal_id=proposal.pk, user=mentor)
    assert error.value.code == "slot_taken"
    assert "no longer free" in error.value.message and "propose another time" in error.value.message
    assert RescheduleProposal.objects.get().status == "pending"
    assert Session.objects.get(pk=one_to_one.pk).starts_at == at(3, 10)


def test_the_exclusion_constraint_is_the_backstop(one_to_one, mentor, learner, monkeypatch):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    make_session(mentor, starts_at=at(4, 15), title="Booked meanwhile", capacity=3)
    monkeypatch.setattr(reschedule_module, "_slot_check_at_answer", lambda **kwargs: None)  # the check lost a race
    with pytest.raises(MentoringError) as error:
        reschedule_accept(proposal_id=proposal.pk, user=mentor)
    assert error.value.code == "slot_taken"
    assert RescheduleProposal.objects.get().status == "pending"
    assert Session.objects.get(pk=one_to_one.pk).starts_at == at(3, 10)


def test_a_proposal_whose_time_started_cannot_be_accepted(one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(3, 9))
    with pytest.raises(MentoringError) as error:
        reschedule_accept(proposal_id=proposal.pk, user=mentor, now=at(3, 9, 5))
    assert error.value.code == "proposal_expired"


def test_a_time_sooner_than_the_notice_by_now_is_refused_at_acceptance(mentor, learner):
    open_hours(mentor, min_notice=24 * 60)
    session = make_session(mentor, starts_at=at(5, 10))
    make_booking(session, learner)
    proposal = reschedule_propose(session_id=session.pk, user=learner, starts_at=at(3, 10))
    with pytest.raises(MentoringError) as error:
        reschedule_accept(proposal_id=proposal.pk, user=mentor, now=at(2, 12))
    assert error.value.code == "too_soon" and "notice" in error.value.message


# --------------------------------------------------------------------------- declining, withdrawing
def test_declining_tells_the_proposer_with_the_message(one_to_one, mentor, learner, django_capture_on_commit_callbacks):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        declined = reschedule_decline(proposal_id=proposal.pk, user=mentor, message="I teach then.\r\nThursday?")
    assert declined.status == "declined"
    told = Notification.objects.get(user=learner)
    assert told.kind == "reschedule_declined" and "Maya Mentor declined" in told.text
    assert "I teach then. Thursday?" in told.text
    assert Notification.objects.filter(user=mentor, kind="reschedule_declined").exists()
    assert invites(mail.outbox) == {}
    assert Session.objects.get(pk=one_to_one.pk).starts_at == at(3, 10)
    # Declining again: the same outcome, nothing more. A new time may be proposed now.
    assert reschedule_decline(proposal_id=proposal.pk, user=mentor).status == "declined"
    assert Notification.objects.count() == 2
    reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(5, 15))


def test_decline_refusals(one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 15))
    with pytest.raises(MentoringError) as error:
        reschedule_decline(proposal_id=proposal.pk, user=learner)
    assert error.value.code == "own_proposal"
    with pytest.raises(MentoringError) as error:
        reschedule_decline(proposal_id=proposal.pk, user=mentor, message="nul\x00")
    assert error.value.code == "message_text"
    with pytest.raises(MentoringError) as error:
        reschedule_decline(proposal_id=proposal.pk, user=mentor, message="x" * 301)
    assert error.value.code == "message_text"
    assert RescheduleProposal.objects.get().status == "pending"


def test_withdrawing(one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=mentor, starts_at=at(4, 15))
    with pytest.raises(MentoringError) as error:
        reschedule_withdraw(proposal_id=proposal.pk, user=learner)
    assert error.value.code == "not_proposer"
    Notification.objects.all().delete()
    assert reschedule_withdraw(proposal_id=proposal.pk, user=mentor).status == "withdrawn"
    assert "Maya Mentor withdrew" in Notification.objects.get(user=learner).text
    assert reschedule_withdraw(proposal_id=proposal.pk, user=mentor).status == "withdrawn"  # twice: one effect
    assert Notification.objects.count() == 2
    for answer in (reschedule_accept, reschedule_decline):
        with pytest.raises(MentoringError) as error:
            answer(proposal_id=proposal.pk, user=learner)
        assert error.value.code == "proposal_withdrawn"
    assert Session.objects.get(pk=one_to_one.pk).starts_at == at(3, 10)


def test_an_answered_proposal_cannot_be_withdrawn(one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=mentor, starts_at=at(4, 15))
    reschedule_accept(proposal_id=proposal.pk, user=learner)
    with pytest.raises(MentoringError) as error:
        reschedule_withdraw(proposal_id=proposal.pk, user=mentor)
    assert error.value.code == "proposal_accepted"


# --------------------------------------------------------------------------- expiring
def test_pending_proposals_expire_when_their_time_or_the_session_starts(mentor, learner, other_learner):
    open_hours(mentor)
    first = make_session(mentor, starts_at=at(3, 10), title="First")
    second = make_session(mentor, starts_at=at(6, 10), title="Second")
    make_booking(first, learner)
    make_booking(second, other_learner)
    early = reschedule_propose(session_id=first.pk, user=mentor, starts_at=at(2, 15))  # before the session
    late = reschedule_propose(session_id=second.pk, user=other_learner, starts_at=at(8, 15))
    Notification.objects.all().delete()

    assert reschedules_expire(now=at(2, 14)) == 0
    assert reschedules_expire(now=at(2, 15)) == 1  # the proposed time started
    assert RescheduleProposal.objects.get(pk=early.pk).status == "expired"
    # Both sides hear it: the session (still ahead) keeps its time.
    assert "expired without an answer" in Notification.objects.get(user=mentor).text
    assert "It stays at" in Notification.objects.get(user=learner).text
    assert RescheduleProposal.objects.get(pk=late.pk).status == "pending"
    Notification.objects.all().delete()
    assert reschedules_expire(now=at(6, 10)) == 1  # the session itself started
    assert RescheduleProposal.objects.get(pk=late.pk).status == "expired"
    assert list(Notification.objects.values_list("user", flat=True)) == [other_learner.pk]  # the proposer only
    assert reschedules_expire(now=at(6, 10)) == 0


def test_proposals_of_cancelled_sessions_or_given_up_seats_expire_quietly(mentor, learner, other_learner):
    open_hours(mentor)
    first = make_session(mentor, starts_at=at(3, 10), title="First")
    second = make_session(mentor, starts_at=at(6, 10), title="Second")
    make_booking(first, learner)
    make_booking(second, other_learner)
    reschedule_propose(session_id=first.pk, user=learner, starts_at=at(4, 15))
    reschedule_propose(session_id=second.pk, user=mentor, starts_at=at(7, 15))
    session_cancel(session_id=first.pk, actor=mentor)
    booking_cancel(booking_id=Booking.objects.get(session=second).pk, learner=other_learner)
    Notification.objects.all().delete()
    assert reschedules_expire() == 2
    assert set(RescheduleProposal.objects.values_list("status", flat=True)) == {"expired"}
    assert not Notification.objects.exists()


def test_expiry_runs_every_minute():
    assert "expire_reschedules" in JOBS
