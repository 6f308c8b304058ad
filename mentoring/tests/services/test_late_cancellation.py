"""Late cancellations: a seat given up, or a session cancelled by its mentor, less than
LATE_CANCEL_HOURS before the start is marked late; the person is told before and after, staff see
it in the admin and the analytics, the mentor on their dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from mentoring.analytics import late_cancellations_by_mentor, mentor_late_cancellations
from mentoring.models import Booking, Notification, Session
from mentoring.services.bookings import booking_cancel, booking_create, cancellation_is_late
from mentoring.services.sessions import session_cancel
from mentoring.tests.factories import make_session

pytestmark = pytest.mark.django_db

LATE = "late cancellation"


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def shown(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def made_days_ago(row, days: int = 3):
    """A session or booking made a while ago (one undone just after it was made is never late)."""
    type(row).objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=days))
    row.refresh_from_db(fields=["created_at"])
    return row


def session_made_earlier(mentor, **kwargs) -> Session:
    return made_days_ago(make_session(mentor, **kwargs))


def booked(mentor, learner, *, starts_in: timedelta, capacity: int = 2) -> Booking:
    session = session_made_earlier(mentor, starts_in=starts_in, capacity=capacity)
    return made_days_ago(booking_create(session_id=session.pk, learner=learner))


# --------------------------------------------------------------------------- the rule
def test_late_means_less_than_the_notice_before_the_start(settings):
    now = timezone.now()
    assert settings.LATE_CANCEL_HOURS == 24
    assert not cancellation_is_late(starts_at=now + timedelta(hours=24), now=now)
    assert cancellation_is_late(starts_at=now + timedelta(hours=24) - timedelta(seconds=1), now=now)
    settings.LATE_CANCEL_HOURS = 2
    assert not cancellation_is_late(starts_at=now + timedelta(hours=3), now=now)
    assert cancellation_is_late(starts_at=now + timedelta(minutes=119), now=now)


def test_undoing_within_half_an_hour_of_making_it_is_never_late(mentor, learner):
    now = timezone.now()
    soon = now + timedelta(hours=2)
    assert not cancellation_is_late(starts_at=soon, now=now, made_at=now - timedelta(minutes=29))
    assert cancellation_is_late(starts_at=soon, now=now, made_at=now - timedelta(minutes=31))
    # A seat taken by mistake and given up at once: not late, and nobody is told it was.
    session = make_session(mentor, starts_in=timedelta(hours=2))
    booking = booking_create(session_id=session.pk, learner=learner)
    assert not booking_cancel(booking_id=booking.pk, learner=learner).cancelled_late
    assert LATE not in Notification.objects.get(user=mentor, kind="booking_cancelled").text


# --------------------------------------------------------------------------- learners
def test_a_learner_giving_up_a_seat_late_is_told_before_and_after(mentor, learner):
    booking = booked(mentor, learner, starts_in=timedelta(hours=3))
    browser = signed_in(learner)

    # Before: the dialog's text on both pages, and the confirmation page without scripts.
    detail = browser.get(f"/sessions/{booking.session_id}/").text
    assert "This is a late cancellation (less than 24 hours before the start)" in detail
    assert f"{LATE} (less than 24 hours before the start): your mentor is told so." in browser.get("/dashboard/").text
    confirm = browser.get(f"/bookings/{booking.pk}/cancel/")
    assert confirm.status_code == 200 and "This is a late cancellation" in confirm.text
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ACTIVE  # asking changed nothing

    response = browser.post(f"/bookings/{booking.pk}/cancel/", {"confirmed": "yes"}, follow=True)
    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and booking.cancelled_late
    assert any("It was a late cancellation (less than 24 hours before the start)" in m for m in shown(response))
    for person in (learner, mentor):
        note = Notification.objects.get(user=person, kind="booking_cancelled")
        assert LATE in note.text.lower(), note.text


def test_a_learner_cancelling_in_good_time_is_not_late(mentor, learner):
    booking = booked(mentor, learner, starts_in=timedelta(days=3))
    browser = signed_in(learner)
    assert LATE not in browser.get(f"/sessions/{booking.session_id}/").text
    assert LATE not in browser.get("/dashboard/").text
    assert LATE not in browser.get(f"/bookings/{booking.pk}/cancel/").text
    response = browser.post(f"/bookings/{booking.pk}/cancel/", {"confirmed": "yes"}, follow=True)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and not booking.cancelled_late
    assert shown(response) == ["Your seat on “Code review” is cancelled."]
    assert not Notification.objects.filter(text__icontains=LATE).exists()


def test_the_notice_is_a_setting(settings, mentor, learner):
    settings.LATE_CANCEL_HOURS = 2
    early = booked(mentor, learner, starts_in=timedelta(hours=3))
    assert not booking_cancel(booking_id=early.pk, learner=learner).cancelled_late
    settings.LATE_CANCEL_HOURS = 48
    late = booked(mentor, learner, starts_in=timedelta(hours=40))
    cancelled = booking_cancel(booking_id=late.pk, learner=learner)
    assert cancelled.cancelled_late
    assert "less than 48 hours before the start" in Notification.objects.filter(user=learner).latest("pk").text


def test_an_outsider_cannot_cancel_someone_elses_seat(mentor, learner, outsider):
    booking = booked(mentor, learner, starts_in=timedelta(hours=3))
    response = signed_in(outsider).post(f"/bookings/{booking.pk}/cancel/", {"confirmed": "yes"})
    assert response.status_code == 404
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ACTIVE and not booking.cancelled_late


# --------------------------------------------------------------------------- mentors
def test_a_mentor_cancelling_late_is_told_before_and_after(mentor, learner):
    booking = booked(mentor, learner, starts_in=timedelta(hours=5))
    session = booking.session
    browser = signed_in(mentor)
    assert "This is a late cancellation (less than 24 hours before the start): it shows in your stats." in (
        browser.get(f"/sessions/{session.pk}/").text
    )
    confirm = browser.get(f"/sessions/{session.pk}/cancel/")
    assert confirm.status_code == 200 and "This is a late cancellation" in confirm.text
    response = browser.post(f"/sessions/{session.pk}/cancel/", {"confirmed": "yes"}, follow=True)
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED and session.cancelled_late
    assert any("late cancellation" in m for m in shown(response))
    assert LATE in Notification.objects.get(user=mentor, kind="session_cancelled").text
    assert Notification.objects.filter(user=learner, kind="session_cancelled").exists()


def test_a_mentor_cancelling_in_good_time_and_staff_cancelling_late_are_not_late(mentor, learner, admin_user):
    early = make_session(mentor, starts_in=timedelta(days=2))
    response = signed_in(mentor).post(f"/sessions/{early.pk}/cancel/", {"confirmed": "yes"}, follow=True)
    early.refresh_from_db()
    assert early.status == Session.Status.CANCELLED and not early.cancelled_late
    assert shown(response) == ["Session cancelled. Everyone who booked it has been told."]

    soon = make_session(mentor, starts_in=timedelta(hours=2))
    admin = signed_in(admin_user)
    admin.post("/admin/mentoring/session/", {"action": "cancel_sessions", "_selected_action": [soon.pk]})
    soon.refresh_from_db()
    assert soon.status == Session.Status.CANCELLED and not soon.cancelled_late  # not the mentor's doing


# --------------------------------------------------------------------------- what staff and the mentor see
def test_staff_list_and_filter_late_cancellations_in_the_admin(mentor, learner, other_learner, admin_user):
    late = booked(mentor, learner, starts_in=timedelta(hours=3))
    in_time = booked(mentor, other_learner, starts_in=timedelta(days=3))
    booking_cancel(booking_id=late.pk, learner=learner)
    booking_cancel(booking_id=in_time.pk, learner=other_learner)
    late_session = session_made_earlier(mentor, starts_in=timedelta(hours=6), title="Dropped late")
    session_cancel(session_id=late_session.pk, actor=mentor)
    admin = signed_in(admin_user)

    bookings = admin.get("/admin/mentoring/booking/?cancelled_late__exact=1")
    assert bookings.status_code == 200 and "Cancelled late" in bookings.text
    assert learner.display_name in bookings.text and other_learner.display_name not in bookings.text
    sessions = admin.get("/admin/mentoring/session/?cancelled_late__exact=1")
    assert sessions.status_code == 200 and "Dropped late" in sessions.text and "Code review" not in sessions.text
    assert admin.get(f"/admin/mentoring/session/{late_session.pk}/change/").status_code == 200
    # Others may not look.
    assert signed_in(mentor).get("/admin/mentoring/booking/").status_code == 302


def test_the_mentors_stats_count_late_cancellations_of_the_last_90_days(mentor, learner, other_learner, admin_user):
    soon = session_made_earlier(mentor, starts_in=timedelta(hours=3), capacity=2)
    for person in (learner, other_learner):
        booking = made_days_ago(booking_create(session_id=soon.pk, learner=person))
        booking_cancel(booking_id=booking.pk, learner=person)
    dropped = session_made_earlier(mentor, starts_in=timedelta(hours=6), title="Dropped late")
    session_cancel(session_id=dropped.pk, actor=mentor)
    long_ago = session_made_earlier(mentor, starts_in=timedelta(hours=10), title="Long ago")
    session_cancel(session_id=long_ago.pk, actor=mentor)
    Session.objects.filter(pk=long_ago.pk).update(cancelled_at=timezone.now() - timedelta(days=91))
    in_time = booked(mentor, learner, starts_in=timedelta(days=5))
    booking_cancel(booking_id=in_time.pk, learner=learner)

    stats = mentor_late_cancellations(mentor_id=mentor.pk)
    assert (stats.by_mentor, stats.by_learners) == (1, 2)
    (row,) = late_cancellations_by_mentor()
    assert (row.name, row.by_mentor, row.by_learners) == (mentor.display_name, 1, 2)

    dashboard = signed_in(mentor).get("/dashboard/").text
    assert "Late cancellations, last 90 days: 1 session by you, 2 seats by learners." in dashboard
    analytics = signed_in(admin_user).get("/admin/analytics/")
    assert analytics.status_code == 200
    assert 'data-figure="late-by-mentor">1<' in analytics.text and 'data-figure="late-by-learners">2<' in analytics.text
    assert signed_in(mentor).get("/admin/analytics/").status_code == 302


def test_nothing_late_reads_as_such(mentor, admin_user):
    assert "Late cancellations, last 90 days: 0 sessions by you, 0 seats by learners." in (
        signed_in(mentor).get("/dashboard/").text
    )
    assert "No late cancellations in the last 90 days." in signed_in(admin_user).get("/admin/analytics/").text
