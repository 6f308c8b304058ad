"""seed_demo's promise to a newcomer: after every run, mentor1 and learner1 share a session whose
room is open, and the demo data stays true while it makes that so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q
from django.utils import timezone

from mentoring.demo import demo_mentoring_seed
from mentoring.models import Booking, Session, WaitlistEntry
from mentoring.selectors import session_is_live
from mentoring.tests.factories import make_booking, make_session
from portal.accounts.models import User

pytestmark = pytest.mark.django_db


def live_demo_call(now) -> Session | None:
    shared = Session.objects.filter(
        mentor__email="mentor1@peerlearn.local",
        bookings__learner__email="learner1@peerlearn.local",
        bookings__status=Booking.Status.ACTIVE,
    )
    return next((s for s in shared if session_is_live(s, now)), None)


def assert_data_true() -> None:
    active = Count("bookings", filter=Q(bookings__status=Booking.Status.ACTIVE))
    wrong = list(
        Session.objects.annotate(active=active)
        .exclude(booked_count=F("active"))
        .values_list("title", "booked_count", "active")
    )
    assert wrong == [], f"seat counts that disagree with the bookings: {wrong}"
    learner1 = User.objects.get(email="learner1@peerlearn.local")
    mine = list(Session.objects.filter(bookings__learner=learner1, bookings__status=Booking.Status.ACTIVE))
    overlaps = [
        (a.title, b.title)
        for a in mine
        for b in mine
        if a.pk < b.pk and a.starts_at < b.ends_at and b.starts_at < a.ends_at
    ]
    assert overlaps == [], f"learner1 booked into overlapping sessions: {overlaps}"


def test_every_run_opens_a_demo_call_even_hours_and_days_later():
    call_command("seed_demo", verbosity=0)
    start = timezone.now()
    for hours in (0, 2, 5, 26, 49):
        now = start + timedelta(hours=hours)
        demo_mentoring_seed(now=now)
        assert live_demo_call(now) is not None, f"no open demo call {hours} h later"
        assert_data_true()


def test_a_clash_is_resolved_with_seats_freed_and_the_waitlist_moved_on():
    call_command("seed_demo", verbosity=0)
    now = timezone.now() + timedelta(days=3)  # past everything the first run scheduled
    users = {u.email: u for u in User.objects.all()}
    mentor1, mentor2 = users["mentor1@peerlearn.local"], users["mentor2@peerlearn.local"]
    learner1, learner2 = users["learner1@peerlearn.local"], users["learner2@peerlearn.local"]
    Session.objects.filter(starts_at__gte=now - timedelta(hours=3)).delete()
    # learner1 holds the only seat of mentor2's session in that hour; learner2 waits for it.
    theirs = make_session(mentor2, starts_at=now + timedelta(minutes=20), capacity=1, title="Someone else's session")
    make_booking(theirs, learner1)
    WaitlistEntry.objects.create(session=theirs, learner=learner2)
    # mentor1 already has a 90-minute session in that hour, not open yet; learner1 is also booked
    # with mentor3 on something that overlaps its last half hour once it is moved to start now.
    clash = make_session(
        mentor1, starts_at=now + timedelta(minutes=40), duration=90, capacity=1, title="Mentor1's own session"
    )
    later = make_session(
        users["mentor3@peerlearn.local"], starts_at=now + timedelta(minutes=75), capacity=2, title="Later one"
    )
    make_booking(later, learner1)

    demo_mentoring_seed(now=now)

    live = live_demo_call(now)
    assert live is not None and live.pk == clash.pk  # the clash was used, not doubled
    assert live.starts_at <= now + timedelta(minutes=10) and live.capacity == 1
    assert Booking.objects.get(session=theirs, learner=learner1).status == Booking.Status.CANCELLED
    assert Booking.objects.get(session=later, learner=learner1).status == Booking.Status.CANCELLED
    assert Booking.objects.get(session=theirs, learner=learner2).status == Booking.Status.ACTIVE
    assert WaitlistEntry.objects.get(session=theirs, learner=learner2).status == WaitlistEntry.Status.PROMOTED
    assert_data_true()
