"""Concurrency on the real PostgreSQL: threads, each with its own connection and real transactions."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from conftest import make_user
from mentoring.models import Booking, Session, WaitlistEntry
from mentoring.services import MentoringError, SessionFull
from mentoring.services.bookings import booking_cancel, booking_create, waitlist_join
from mentoring.services.sessions import session_create
from mentoring.tests.factories import make_session

pytestmark = pytest.mark.django_db(transaction=True)


def run_concurrently(jobs, workers: int = 25):
    barrier = threading.Barrier(min(workers, len(jobs)))

    def wrapped(job):
        try:
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            return job()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(wrapped, jobs))
    close_old_connections()
    return results


def test_100_learners_race_for_5_seats(mentor):
    assert connection.vendor == "postgresql"
    session = make_session(mentor, capacity=5)
    learners = [make_user(f"racer{i}@example.com", f"Racer {i}") for i in range(100)]

    def book(learner):
        def job():
            try:
                booking_create(session_id=session.pk, learner=learner)
                return "booked"
            except SessionFull:
                try:
                    waitlist_join(session_id=session.pk, learner=learner)
                    return "waitlisted"
                except MentoringError as error:
                    return f"refused: {error.message}"
            except MentoringError as error:
                return f"refused: {error.message}"

        return job

    results = run_concurrently([book(learner) for learner in learners])

    session.refresh_from_db()
    booked = Booking.objects.filter(session=session, status="active").count()
    waiting = WaitlistEntry.objects.filter(session=session, status="waiting").count()
    print(
        f"\n[race] 100 learners, 5 seats: {results.count('booked')} booked, {results.count('waitlisted')} waitlisted, "
        f"{len([r for r in results if r.startswith('refused')])} refused; booked_count={session.booked_count}"
    )
    assert results.count("booked") == booked == session.booked_count == 5
    assert results.count("waitlisted") == waiting == 95
    # Every refused learner holds exactly one place in one line, and freed seats go to the first
    # places in that line (the promotion order is checked one by one in the cancellation race below).
    line = list(WaitlistEntry.objects.filter(session=session).order_by("created_at", "id"))
    assert len({entry.learner_id for entry in line}) == len(line) == 95
    for booking in Booking.objects.filter(session=session, status="active"):
        booking_cancel(booking_id=booking.pk, learner=booking.learner)
    promoted = set(Booking.objects.filter(session=session, status="active").values_list("learner_id", flat=True))
    assert promoted == {entry.learner_id for entry in line[:5]}
    print(f"[race] 5 seats freed: the first 5 of the {len(line)} in line got them")


def test_50_overlapping_creations_for_one_mentor_accept_exactly_one(mentor):
    start = timezone.now() + timedelta(days=3)

    def create(offset):
        def job():
            try:
                session_create(
                    mentor=mentor,
                    title=f"Slot {offset}",
                    starts_at=start + timedelta(minutes=offset),
                    duration_minutes=60,
                    capacity=1,
                )
                return "created"
            except MentoringError as error:
                assert error.code == "overlap"
                return "overlap"

        return job

    results = run_concurrently([create(i) for i in range(50)])
    print(f"\n[race] 50 overlapping creations: {results.count('created')} accepted, {results.count('overlap')} refused")
    assert results.count("created") == 1
    assert Session.objects.filter(mentor=mentor).count() == 1


def test_concurrent_cancellations_promote_exactly_one_waiting_learner_per_seat(mentor):
    session = make_session(mentor, capacity=4)
    holders = [make_user(f"holder{i}@example.com", f"Holder {i}") for i in range(4)]
    bookings = [booking_create(session_id=session.pk, learner=h) for h in holders]
    waiting = [make_user(f"waiter{i}@example.com", f"Waiter {i}") for i in range(6)]
    for w in waiting:
        waitlist_join(session_id=session.pk, learner=w)

    results = run_concurrently(
        [
            lambda b=b, h=h: booking_cancel(booking_id=b.pk, learner=h) and "cancelled"
            for b, h in zip(bookings, holders, strict=True)
        ]
    )

    session.refresh_from_db()
    active = list(Booking.objects.filter(session=session, status="active").values_list("learner__email", flat=True))
    promoted = WaitlistEntry.objects.filter(session=session, status="promoted").count()
    print(
        f"\n[race] 4 concurrent cancellations, 6 waiting: {promoted} promoted, {len(active)} seats taken, booked_count={session.booked_count}"
    )
    assert results == ["cancelled"] * 4
    assert sorted(active) == sorted(w.email for w in waiting[:4])  # the first four in line, one per seat
    assert promoted == 4 and session.booked_count == 4
    assert WaitlistEntry.objects.filter(session=session, status="waiting").count() == 2


def test_a_double_submitted_booking_creates_one_booking(learner, mentor):
    session = make_session(mentor, capacity=3)

    def book():
        try:
            booking_create(session_id=session.pk, learner=learner)
            return "booked"
        except MentoringError as error:
            return error.message

    results = run_concurrently([book, book], workers=2)
    assert sorted(results) == ["You have already booked this session.", "booked"]
    assert Booking.objects.filter(session=session, learner=learner, status="active").count() == 1
