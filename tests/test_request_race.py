"""50 learners request one mentor's same 1:1 slot at once, on the real PostgreSQL (threads, each with its
own connection and real transactions), the mentor accepting automatically: exactly one gets the
session; everybody else is told the slot is taken, with the next free slots. Counted from the database."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from conftest import make_user
from mentoring.errors import MentoringError
from mentoring.models import Booking, Session, SessionRequest
from mentoring.services.availability import availability_update
from mentoring.services.requests import SlotTaken, request_create, request_slots
from mentoring.tests.test_races import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

LEARNERS = 50


def open_all_day(mentor, *, auto_accept: bool) -> None:
    availability_update(
        mentor=mentor,
        time_zone="UTC",
        session_lengths=[60],
        buffer_before=0,
        buffer_after=0,
        min_notice=120,
        max_days_ahead=30,
        daily_cap=None,
        weekly_cap=None,
        auto_accept=auto_accept,
        weekly_hours={day: [(0, 24 * 60)] for day in range(7)},
    )


def test_50_learners_request_one_slot_and_exactly_one_gets_it(mentor):
    assert connection.vendor == "postgresql"
    open_all_day(mentor, auto_accept=True)
    learners = [make_user(f"racer{i}@example.com", f"Racer {i}", time_zone="Europe/Berlin") for i in range(LEARNERS)]
    now = timezone.now()
    offered = request_slots(mentor=mentor, duration_minutes=60, now=now)
    slot = offered[0]

    def ask(learner):
        def job():
            try:
                request = request_create(
                    learner=learner,
                    mentor_id=mentor.pk,
                    starts_at=slot.starts_at,
                    duration_minutes=60,
                    agenda="The same hour, please.",
                )
                return ("won", request.status)
            except SlotTaken as error:
                return ("slot_taken", error.message, len(error.next_slots))
            except MentoringError as error:
                return (error.code, error.message)

        return job

    results = run_concurrently([ask(learner) for learner in learners], workers=LEARNERS)

    overlapping = Session.objects.filter(
        mentor=mentor, status=Session.Status.SCHEDULED, starts_at__lt=slot.ends_at, ends_at__gt=slot.starts_at
    )
    sessions = overlapping.count()
    bookings = Booking.objects.filter(session__in=overlapping, status=Booking.Status.ACTIVE).count()
    accepted = SessionRequest.objects.filter(mentor=mentor, status=SessionRequest.Status.ACCEPTED).count()
    pending = SessionRequest.objects.filter(mentor=mentor, status=SessionRequest.Status.PENDING).count()
    double_bookings = max(sessions - 1, 0) + max(bookings - 1, 0) + pending
    print(f"\n[request race] {LEARNERS} learners, accepted {accepted}, double bookings {double_bookings}")

    assert accepted == 1 and double_bookings == 0
    assert sessions == 1 and bookings == 1
    winners = [r for r in results if r[0] == "won"]
    losers = [r for r in results if r[0] == "slot_taken"]
    assert winners == [("won", SessionRequest.Status.ACCEPTED)]
    assert len(losers) == LEARNERS - 1, [r for r in results if r[0] not in ("won", "slot_taken")]
    for _, message, next_count in losers:
        assert next_count == 3
        assert "was just taken" in message and "The next free times (Europe/Berlin)" in message
    session = overlapping.get()
    assert session.private and session.capacity == 1 and session.booked_count == 1
    winner_request = SessionRequest.objects.get(status=SessionRequest.Status.ACCEPTED)
    assert winner_request.session_id == session.pk
    assert Booking.objects.get(session=session).learner_id == winner_request.learner_id
    # The slot, and every offered time overlapping it, is gone from what learners are offered; the rest stay
    # (near midnight the next one is the next day's first, as a slot never spans two days' hours).
    still_free = [s for s in offered if s.starts_at >= slot.ends_at or s.ends_at <= slot.starts_at]
    assert len(still_free) < len(offered)
    assert request_slots(mentor=mentor, duration_minutes=60, now=now) == still_free


def test_50_learners_request_one_slot_and_exactly_one_request_holds_it(mentor):
    """Without auto-accept: exactly one request waits for the mentor; the slot is held by it alone."""
    open_all_day(mentor, auto_accept=False)
    learners = [make_user(f"asker{i}@example.com", f"Asker {i}") for i in range(LEARNERS)]
    slot = request_slots(mentor=mentor, duration_minutes=60)[0]

    def ask(learner):
        def job():
            try:
                request_create(
                    learner=learner, mentor_id=mentor.pk, starts_at=slot.starts_at, duration_minutes=60, agenda="Mine"
                )
                return "pending"
            except MentoringError as error:
                return error.code

        return job

    results = run_concurrently([ask(learner) for learner in learners], workers=LEARNERS)
    pending = SessionRequest.objects.filter(mentor=mentor, status=SessionRequest.Status.PENDING).count()
    print(f"\n[request race] {LEARNERS} learners without auto-accept: {pending} request holds the slot")
    assert results.count("pending") == pending == 1
    assert results.count("slot_taken") == LEARNERS - 1
    assert not Session.objects.exists()
