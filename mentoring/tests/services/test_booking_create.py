from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from conftest import make_user
from mentoring.models import Booking, Notification, Session, WaitlistEntry
from mentoring.services import MentoringError, SessionFull
from mentoring.services.bookings import booking_cancel, booking_create, waitlist_join, waitlist_leave
from mentoring.services.sessions import session_cancel
from mentoring.tests.factories import make_session

pytestmark = pytest.mark.django_db


def test_booking_takes_a_seat_and_tells_the_mentor(learner, mentor):
    session = make_session(mentor, capacity=2)
    booking = booking_create(session_id=session.pk, learner=learner)

    session.refresh_from_db()
    assert booking.status == Booking.Status.ACTIVE and session.booked_count == 1
    note = Notification.objects.get(user=mentor)
    assert note.kind == "booking_made" and "Alice Learner booked “Code review” (1/2 seats taken)" in note.text


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("own", "Only learners can book sessions."),
        ("past", "This session has already started or ended."),
        ("cancelled", "This session was cancelled."),
        ("twice", "You have already booked this session."),
        ("overlap", "You already have a booked session at that time."),
        ("not_accepting", "This mentor is not accepting bookings right now."),
    ],
)
def test_refusals_have_clear_messages_and_change_nothing(case, message, learner, mentor):
    session = make_session(mentor, capacity=3)
    booker = learner
    if case == "own":
        booker = mentor
    elif case == "past":
        Session.objects.filter(pk=session.pk).update(starts_at=timezone.now() - timedelta(minutes=5))
    elif case == "cancelled":
        session_cancel(session_id=session.pk, actor=mentor)
    elif case == "twice":
        booking_create(session_id=session.pk, learner=learner)
    elif case == "overlap":
        other_mentor = make_user("other-mentor@example.com", "Other Mentor", "mentor")
        clash = make_session(other_mentor, starts_at=session.starts_at + timedelta(minutes=30))
        booking_create(session_id=clash.pk, learner=learner)
    elif case == "not_accepting":
        mentor.mentor_profile.accepting_bookings = False
        mentor.mentor_profile.save()
    before = list(Booking.objects.values_list("pk", "status"))

    with pytest.raises(MentoringError) as excinfo:
        booking_create(session_id=session.pk, learner=booker)

    assert excinfo.value.message == message
    assert list(Booking.objects.values_list("pk", "status")) == before
    session.refresh_from_db()
    assert session.booked_count == Booking.objects.filter(session=session, status="active").count()


def test_full_session_offers_the_waitlist_and_a_freed_seat_goes_to_the_first_waiting(
    learner, other_learner, outsider, mentor
):
    session = make_session(mentor, capacity=1)
    first = booking_create(session_id=session.pk, learner=learner)
    with pytest.raises(SessionFull):
        booking_create(session_id=session.pk, learner=other_learner)
    waitlist_join(session_id=session.pk, learner=other_learner)
    waitlist_join(session_id=session.pk, learner=outsider)
    with pytest.raises(MentoringError, match="already on the waitlist"):
        waitlist_join(session_id=session.pk, learner=other_learner)

    booking_cancel(booking_id=first.pk, learner=learner)

    promoted = Booking.objects.get(session=session, status="active")
    assert promoted.learner == other_learner and promoted.promoted_from_waitlist
    assert WaitlistEntry.objects.get(learner=other_learner).status == "promoted"
    assert WaitlistEntry.objects.get(learner=outsider).status == "waiting"
    assert Notification.objects.filter(user=other_learner, kind="waitlist_promoted").count() == 1
    session.refresh_from_db()
    assert session.booked_count == 1


def test_waitlist_is_refused_while_seats_are_free_and_can_be_left(learner, other_learner, mentor):
    session = make_session(mentor, capacity=2)
    with pytest.raises(MentoringError, match="still has free seats"):
        waitlist_join(session_id=session.pk, learner=learner)
    booking_create(session_id=session.pk, learner=learner)
    booking_create(session_id=session.pk, learner=make_user("x@example.com", "X"))
    entry = waitlist_join(session_id=session.pk, learner=other_learner)
    waitlist_leave(entry_id=entry.pk, learner=other_learner)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "left"
    # Leaving again (a second click, another tab) is the same outcome; someone else's place is not found.
    assert waitlist_leave(entry_id=entry.pk, learner=other_learner).status == "left"
    with pytest.raises(MentoringError, match="not on this waitlist"):
        waitlist_leave(entry_id=entry.pk, learner=learner)


def test_cancelling_a_booking_frees_the_seat_and_tells_the_mentor(learner, mentor):
    session = make_session(mentor, capacity=1)
    booking = booking_create(session_id=session.pk, learner=learner)
    booking_cancel(booking_id=booking.pk, learner=learner)
    session.refresh_from_db()
    assert session.booked_count == 0
    assert Notification.objects.filter(user=mentor, kind="booking_cancelled").exists()
    # Cancelling again (a second click, another tab) returns it as it is: no second notice, no seat freed twice.
    assert booking_cancel(booking_id=booking.pk, learner=learner).status == "cancelled"
    assert Notification.objects.filter(user=mentor, kind="booking_cancelled").count() == 1
    session.refresh_from_db()
    assert session.booked_count == 0
    booking_create(session_id=session.pk, learner=learner)  # and can book again


def test_someone_elses_booking_cannot_be_cancelled(learner, other_learner, mentor):
    booking = booking_create(session_id=make_session(mentor).pk, learner=learner)
    with pytest.raises(MentoringError, match="No such booking."):
        booking_cancel(booking_id=booking.pk, learner=other_learner)
    assert Booking.objects.get(pk=booking.pk).status == "active"


def test_the_database_refuses_overbooking_and_double_bookings(learner, other_learner, mentor):
    session = make_session(mentor, capacity=1)
    booking_create(session_id=session.pk, learner=learner)
    with pytest.raises(IntegrityError), transaction.atomic():
        Session.objects.filter(pk=session.pk).update(booked_count=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(session=session, learner=learner)
