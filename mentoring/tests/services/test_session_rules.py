from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from mentoring.models import Notification, Session
from mentoring.services import MentoringError
from mentoring.services.bookings import booking_create
from mentoring.services.sessions import session_cancel, session_update, sessions_complete_ended
from mentoring.tests.factories import make_session

pytestmark = pytest.mark.django_db


def test_a_session_gets_an_unguessable_room_id_and_its_end(mentor):
    a, b = make_session(mentor, duration=90), make_session(mentor, starts_in=timedelta(days=2))
    assert a.room_id != b.room_id and a.room_id.version == 4
    assert a.ends_at - a.starts_at == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"starts_in": timedelta(minutes=-5)}, "The start must be in the future."),
        ({"duration": 10}, "Sessions last between 15 and 240 minutes."),
        ({"duration": 241}, "Sessions last between 15 and 240 minutes."),
        ({"capacity": 0}, "Capacity is 1 (one-to-one) up to 6 learners."),
        ({"capacity": 7}, "Capacity is 1 (one-to-one) up to 6 learners."),
    ],
)
def test_session_rules_refuse_bad_values(mentor, kwargs, message):
    with pytest.raises(MentoringError) as excinfo:
        make_session(mentor, **kwargs)
    assert excinfo.value.message == message
    assert not Session.objects.exists()


def test_learners_cannot_offer_sessions(learner):
    with pytest.raises(MentoringError, match="Only mentors"):
        make_session(learner)


def test_overlapping_sessions_of_one_mentor_are_refused_but_other_mentors_may(mentor, other_learner):
    from conftest import make_user

    first = make_session(mentor, duration=60)
    with pytest.raises(MentoringError, match="cannot overlap"):
        make_session(mentor, starts_at=first.starts_at + timedelta(minutes=59))
    make_session(mentor, starts_at=first.ends_at)  # back to back is fine
    make_session(make_user("m2@example.com", "M2", "mentor"), starts_at=first.starts_at)
    assert Session.objects.filter(mentor=mentor).count() == 2


def test_the_exclusion_constraint_holds_even_without_the_python_check(mentor):
    first = make_session(mentor)
    with pytest.raises(IntegrityError, match="session_mentor_no_overlap"), transaction.atomic():
        Session.objects.create(
            mentor=mentor,
            title="Sneaky",
            starts_at=first.starts_at,
            duration_minutes=60,
            ends_at=first.ends_at,
            capacity=1,
        )
    # A cancelled session no longer blocks the slot.
    session_cancel(session_id=first.pk, actor=mentor)
    make_session(mentor, starts_at=first.starts_at)


def test_capacity_cannot_drop_below_bookings(mentor, learner, other_learner):
    session = make_session(mentor, capacity=3)
    booking_create(session_id=session.pk, learner=learner)
    booking_create(session_id=session.pk, learner=other_learner)
    with pytest.raises(MentoringError, match="2 learners have booked this session"):
        session_update(
            session_id=session.pk,
            mentor=mentor,
            title=session.title,
            description="",
            skills=[],
            starts_at=session.starts_at,
            duration_minutes=60,
            capacity=1,
        )
    session.refresh_from_db()
    assert session.capacity == 3


def test_changing_the_time_tells_booked_learners_in_their_own_zone(mentor, learner):
    session = make_session(mentor)
    booking_create(session_id=session.pk, learner=learner)
    new_start = (session.starts_at + timedelta(days=1)).replace(second=0, microsecond=0)
    session_update(
        session_id=session.pk,
        mentor=mentor,
        title=session.title,
        description="",
        skills=[],
        starts_at=new_start,
        duration_minutes=60,
        capacity=1,
    )
    note = Notification.objects.get(user=learner, kind="session_changed")
    local = timezone.localtime(new_start, __import__("zoneinfo").ZoneInfo("Asia/Kolkata"))
    assert local.strftime("%H:%M") in note.text and "Asia/Kolkata" in note.text


def test_mentor_cancels_and_every_learner_is_told(mentor, learner, other_learner):
    session = make_session(mentor, capacity=2)
    booking_create(session_id=session.pk, learner=learner)
    booking_create(session_id=session.pk, learner=other_learner)
    session_cancel(session_id=session.pk, actor=mentor, reason="I am ill")
    session.refresh_from_db()
    assert session.status == "cancelled"
    for person in (learner, other_learner):
        note = Notification.objects.get(user=person, kind="session_cancelled")
        assert "was cancelled. Reason: I am ill" in note.text


def test_another_mentor_cannot_cancel(mentor):
    from conftest import make_user

    session = make_session(mentor)
    with pytest.raises(MentoringError, match="No such session."):
        session_cancel(session_id=session.pk, actor=make_user("m2@example.com", "M2", "mentor"))
    assert Session.objects.get(pk=session.pk).status == "scheduled"


def test_ended_sessions_are_completed(mentor):
    session = make_session(mentor)
    assert sessions_complete_ended(now=session.ends_at + timedelta(seconds=1)) == 1
    session.refresh_from_db()
    assert session.status == "completed"
