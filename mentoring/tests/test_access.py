"""The access predicates and selectors of ``mentoring.selectors``, for every persona: the booked
learner, the session's mentor, another mentor, a waitlisted learner, a learner whose booking is
cancelled, an outsider, staff, and nobody signed in. Each selector answers "not yours" with the same
``NotFound`` as "does not exist"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from conftest import make_user
from mentoring.errors import NotFound
from mentoring.models import WaitlistEntry
from mentoring.selectors import (
    booking_get_for_learner,
    mentor_get_reportable,
    session_get_for_learner,
    session_get_for_mentor,
    session_get_for_participant,
    session_has_learner,
    session_is_mentor,
    session_is_participant,
    session_may_cancel,
    session_participant_ids,
    session_participants,
    sessions_participated_by,
    user_has_call_ahead,
    waitlist_entry_get_for_learner,
)
from mentoring.services.bookings import booking_cancel, booking_create
from mentoring.tests.factories import make_session

pytestmark = pytest.mark.django_db

PERSONAS = ["booked", "mentor", "other_mentor", "waitlisted", "cancelled", "outsider", "staff", "anonymous"]


@pytest.fixture
def world(learner, other_learner, mentor, outsider, admin_user):
    cancelled = make_user("dora@example.com", "Dora Cancelled")
    session = make_session(mentor, starts_in=timedelta(hours=2), capacity=2)
    booking = booking_create(session_id=session.pk, learner=learner)
    gone = booking_create(session_id=session.pk, learner=cancelled)
    booking_cancel(booking_id=gone.pk, learner=cancelled)
    entry = WaitlistEntry.objects.create(session=session, learner=other_learner)
    people = {
        "booked": learner,
        "mentor": mentor,
        "other_mentor": make_user("yusuf@example.com", "Yusuf Mentor", "mentor"),
        "waitlisted": other_learner,
        "cancelled": cancelled,
        "outsider": outsider,
        "staff": admin_user,
        "anonymous": AnonymousUser(),
    }
    return {"session": session, "booking": booking, "gone": gone, "entry": entry, **people}


def answers(world, ask) -> dict[str, bool]:
    return {persona: ask(world[persona]) for persona in PERSONAS}


def found(call) -> bool:
    try:
        call()
    except NotFound as error:
        assert error.message  # the same sentence for "missing" and "not yours"
        return False
    return True


def only(*personas: str) -> dict[str, bool]:
    return {persona: persona in personas for persona in PERSONAS}


def test_is_mentor(world):
    assert answers(world, lambda user: session_is_mentor(session=world["session"], user=user)) == only("mentor")


def test_has_learner_counts_active_bookings_only(world):
    assert answers(world, lambda user: session_has_learner(session=world["session"], user=user)) == only("booked")


def test_participants_are_the_mentor_and_booked_learners(world):
    session = world["session"]
    assert answers(world, lambda user: session_is_participant(session=session, user=user)) == only("booked", "mentor")
    in_queryset = answers(world, lambda user: sessions_participated_by(user=user).filter(pk=session.pk).exists())
    assert in_queryset == only("booked", "mentor")  # the queryset and the predicate are one rule
    assert session_participant_ids(session=session) == {world["mentor"].pk, world["booked"].pk}
    assert session_participants(session=session) == [world["mentor"], world["booked"]]


def test_may_cancel_is_the_mentor_or_staff(world):
    assert answers(world, lambda user: session_may_cancel(session=world["session"], user=user)) == only(
        "mentor", "staff"
    )


def test_the_room_door_by_room_id_and_by_id(world):
    session = world["session"]
    by_room = answers(
        world, lambda user: found(lambda: session_get_for_participant(room_id=session.room_id, user=user))
    )
    by_id = answers(world, lambda user: found(lambda: session_get_for_participant(session_id=session.pk, user=user)))
    assert by_room == by_id == only("booked", "mentor")
    with pytest.raises(NotFound, match="No such session."):
        session_get_for_participant(session_id=999999, user=world["mentor"])


def test_only_a_booked_learner_may_rate(world):
    assert answers(
        world, lambda user: found(lambda: session_get_for_learner(session_id=world["session"].pk, user=user))
    ) == only("booked")


def test_only_the_mentor_may_change(world):
    assert answers(
        world, lambda user: found(lambda: session_get_for_mentor(session_id=world["session"].pk, user=user))
    ) == only("mentor")
    with pytest.raises(NotFound, match="No such session."):
        session_get_for_mentor(session_id=999999, user=world["mentor"])


def test_bookings_and_waitlist_entries_are_their_owners(world):
    booking = answers(
        world, lambda user: found(lambda: booking_get_for_learner(booking_id=world["booking"].pk, user=user))
    )
    assert booking == only("booked")
    cancelled = answers(
        world, lambda user: found(lambda: booking_get_for_learner(booking_id=world["gone"].pk, user=user))
    )
    assert cancelled == only("cancelled")  # a cancelled booking is still its owner's to look at
    entry = answers(
        world, lambda user: found(lambda: waitlist_entry_get_for_learner(entry_id=world["entry"].pk, user=user))
    )
    assert entry == only("waitlisted")
    with pytest.raises(NotFound, match="No such booking."):
        booking_get_for_learner(booking_id=999999, user=world["booked"])
    with pytest.raises(NotFound, match="You are not on this waitlist."):
        waitlist_entry_get_for_learner(entry_id=999999, user=world["waitlisted"])


def test_anyone_but_the_mentor_may_report_them(world):
    signed_in = [p for p in PERSONAS if p != "anonymous"]
    reportable = {
        p: found(lambda p=p: mentor_get_reportable(user_id=world["mentor"].pk, user=world[p])) for p in signed_in
    }
    assert reportable == {p: p != "mentor" for p in signed_in}
    with pytest.raises(NotFound, match="No such mentor."):
        mentor_get_reportable(user_id=world["booked"].pk, user=world["outsider"])  # a learner is no mentor


def test_a_call_ahead_is_a_participants(world):
    assert answers(world, lambda user: user_has_call_ahead(user=user)) == only("booked", "mentor")


def test_a_deactivated_account_takes_part_in_nothing(world):
    learner = world["booked"]
    learner.is_active = False
    learner.save(update_fields=["is_active"])
    session = world["session"]
    assert not session_is_participant(session=session, user=learner)
    assert not found(lambda: session_get_for_participant(room_id=session.room_id, user=learner))
