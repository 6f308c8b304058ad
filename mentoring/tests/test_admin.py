from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from mentoring.models import (
    Booking,
    CalendarFeed,
    Feedback,
    Language,
    Notification,
    Report,
    Session,
    Skill,
    WaitlistEntry,
)
from mentoring.services.bookings import booking_create
from mentoring.services.feedback import report_create
from mentoring.services.profiles import calendar_feed_get
from mentoring.services.sessions import session_cancel, session_create

SESSIONS_ADMIN = "/admin/mentoring/session/"


def future_session(mentor, *, title="Intro to Python", hours=48, capacity=2, skills=()):
    return session_create(
        mentor=mentor,
        title=title,
        skills=skills,
        starts_at=timezone.now() + timedelta(hours=hours),
        duration_minutes=60,
        capacity=capacity,
    )


def ended_session(mentor, *, title="Finished session", days_ago=2):
    starts_at = timezone.now() - timedelta(days=days_ago)
    return Session.objects.create(
        mentor=mentor,
        title=title,
        starts_at=starts_at,
        duration_minutes=60,
        ends_at=starts_at + timedelta(minutes=60),
        capacity=3,
        status=Session.Status.COMPLETED,
    )


def book_ended(session, learner) -> Booking:
    booking = Booking.objects.create(session=session, learner=learner)
    Session.objects.filter(pk=session.pk).update(booked_count=F("booked_count") + 1)
    return booking


# --------------------------------------------------------------------------- session actions
@pytest.mark.django_db
def test_staff_cancel_sessions_from_the_changelist_and_booked_learners_are_notified(
    client, admin_user, mentor, learner, other_learner
):
    booked = future_session(mentor, title="Booked one")
    booking_create(session_id=booked.pk, learner=learner)
    booking_create(session_id=booked.pk, learner=other_learner)
    empty = future_session(mentor, title="Empty one", hours=72)
    untouched = future_session(mentor, title="Not selected", hours=96)
    client.force_login(admin_user)

    response = client.post(
        SESSIONS_ADMIN, {"action": "cancel_sessions", "_selected_action": [booked.pk, empty.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "Cancelled 2 session(s); booked learners were notified." in response.text
    for session in (booked, empty):
        session.refresh_from_db()
        assert session.status == Session.Status.CANCELLED and session.cancelled_at is not None
    untouched.refresh_from_db()
    assert untouched.status == Session.Status.SCHEDULED
    for person in (learner, other_learner):
        notice = Notification.objects.get(user=person, kind=Notification.Kind.SESSION_CANCELLED)
        assert "Booked one" in notice.text and notice.link == f"/sessions/{booked.pk}/"
    # Both sides are told: the two learners, and the mentor once per session (not a late one: staff did it).
    mentor_notices = Notification.objects.filter(user=mentor, kind=Notification.Kind.SESSION_CANCELLED)
    assert sorted(n.text.split("”")[0] for n in mentor_notices) == [
        "The PeerLearn team cancelled “Booked one",
        "The PeerLearn team cancelled “Empty one",
    ]
    assert Notification.objects.filter(kind=Notification.Kind.SESSION_CANCELLED).count() == 4
    assert not Session.objects.filter(cancelled_late=True).exists()


@pytest.mark.django_db
def test_cancelling_an_already_cancelled_session_is_reported_not_crashed(client, admin_user, mentor, learner):
    gone = future_session(mentor, title="Gone already")
    session_cancel(session_id=gone.pk, actor=mentor)
    live = future_session(mentor, title="Still on", hours=72)
    booking_create(session_id=live.pk, learner=learner)
    client.force_login(admin_user)

    response = client.post(
        SESSIONS_ADMIN, {"action": "cancel_sessions", "_selected_action": [gone.pk, live.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "“Gone already” was cancelled already." in response.text
    assert "Cancelled 1 session(s)" in response.text
    live.refresh_from_db()
    assert live.status == Session.Status.CANCELLED
    assert Notification.objects.filter(user=learner, kind=Notification.Kind.SESSION_CANCELLED).count() == 1


@pytest.mark.django_db
def test_non_staff_cannot_use_the_session_admin(client, mentor, learner):
    session = future_session(mentor)
    booking_create(session_id=session.pk, learner=learner)
    client.force_login(mentor)
    response = client.post(SESSIONS_ADMIN, {"action": "cancel_sessions", "_selected_action": [session.pk]})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED
    assert not Notification.objects.filter(kind=Notification.Kind.SESSION_CANCELLED).exists()


@pytest.mark.django_db
def test_session_admin_lists_seats_filters_searches_and_shows_bookings_read_only(client, admin_user, mentor, learner):
    python = Skill.objects.create(name="Python", slug="python")
    session = future_session(mentor, title="Pandas basics", capacity=3, skills=[python])
    booking_create(session_id=session.pk, learner=learner)
    future_session(mentor, title="Unrelated", hours=72)
    client.force_login(admin_user)

    listing = client.get(SESSIONS_ADMIN, {"q": "pandas"})
    assert listing.status_code == 200
    assert "Pandas basics" in listing.text and "Unrelated" not in listing.text
    assert "1/3" in listing.text and "Python" in listing.text
    assert client.get(SESSIONS_ADMIN, {"status__exact": "scheduled", "skills__id__exact": python.pk}).status_code == 200
    year = session.starts_at.year
    assert client.get(SESSIONS_ADMIN, {"starts_at__year": year}).status_code == 200  # date hierarchy

    change = client.get(f"{SESSIONS_ADMIN}{session.pk}/change/")
    assert change.status_code == 200
    html = change.text
    assert str(session.room_id) in html  # shown, read-only
    assert 'name="room_id"' not in html and 'name="booked_count"' not in html and 'name="ends_at"' not in html
    assert 'name="title"' in html  # wording can be corrected
    assert "Alice Learner" in html and 'name="bookings-0-status"' not in html  # the booking inline is read-only
    assert client.get(f"{SESSIONS_ADMIN}add/").status_code == 403


@pytest.mark.django_db
def test_staff_can_correct_a_session_title_but_not_its_seats(client, admin_user, mentor, learner):
    session = future_session(mentor, title="Tyop in title", capacity=2)
    booking_create(session_id=session.pk, learner=learner)
    client.force_login(admin_user)
    response = client.post(
        f"{SESSIONS_ADMIN}{session.pk}/change/",
        {
            "title": "Typo in title",
            "description": "",
            "skills": [],
            "course": "",
            "capacity": "6",
            "booked_count": "0",
            "bookings-TOTAL_FORMS": "1",
            "bookings-INITIAL_FORMS": "1",
            "bookings-MIN_NUM_FORMS": "0",
            "bookings-MAX_NUM_FORMS": "1000",
            "bookings-0-id": Booking.objects.get(session=session).pk,
            "bookings-0-session": session.pk,
            **{
                f"{prefix}-{key}": value
                for prefix in ("attendance", "call_quality")
                for key, value in (
                    ("TOTAL_FORMS", "0"),
                    ("INITIAL_FORMS", "0"),
                    ("MIN_NUM_FORMS", "0"),
                    ("MAX_NUM_FORMS", "1000"),
                )
            },
        },
    )
    assert response.status_code == 302, response.text[:2000]
    session.refresh_from_db()
    assert session.title == "Typo in title"
    assert (session.capacity, session.booked_count) == (2, 1)


# --------------------------------------------------------------------------- moderation actions
@pytest.mark.django_db
def test_staff_hide_and_show_feedback_from_the_changelist(client, admin_user, mentor, learner, other_learner):
    session = ended_session(mentor)
    book_ended(session, learner)
    book_ended(session, other_learner)
    rude = Feedback.objects.create(session=session, learner=learner, rating=1, comment="Rude words")
    kind = Feedback.objects.create(session=session, learner=other_learner, rating=5, comment="Lovely")
    client.force_login(admin_user)

    response = client.post(
        "/admin/mentoring/feedback/", {"action": "hide_feedback", "_selected_action": [rude.pk]}, follow=True
    )
    assert "Hid 1 feedback item(s)." in response.text
    rude.refresh_from_db()
    kind.refresh_from_db()
    assert rude.hidden and not kind.hidden

    listing = client.get("/admin/mentoring/feedback/", {"hidden__exact": "1"})
    assert "Rude words" in listing.text and "Lovely" not in listing.text

    response = client.post(
        "/admin/mentoring/feedback/", {"action": "show_feedback", "_selected_action": [rude.pk]}, follow=True
    )
    assert "Showed 1 feedback item(s)." in response.text
    rude.refresh_from_db()
    assert not rude.hidden


@pytest.mark.django_db
def test_staff_resolve_reports_from_the_changelist(client, admin_user, mentor, learner):
    session = future_session(mentor)
    booking_create(session_id=session.pk, learner=learner)
    first = report_create(reporter=learner, reason="spam", text="Advertising in the chat", session_id=session.pk)
    second = report_create(reporter=learner, reason="other", text="Something else", reported_user_id=mentor.pk)
    client.force_login(admin_user)

    listing = client.get("/admin/mentoring/report/", {"status__exact": "open"})
    assert "Advertising in the chat" in listing.text and "Something else" in listing.text

    response = client.post(
        "/admin/mentoring/report/", {"action": "resolve_reports", "_selected_action": [first.pk]}, follow=True
    )
    assert "Resolved 1 report(s)." in response.text
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Report.Status.RESOLVED and first.resolved_by == admin_user and first.resolved_at
    assert second.status == Report.Status.OPEN and second.resolved_by is None


# --------------------------------------------------------------------------- every changelist
@pytest.mark.django_db
def test_every_mentoring_admin_page_renders(client, admin_user, mentor, learner, other_learner):
    python = Skill.objects.create(name="Python", slug="python")
    Language.objects.create(code="en", name="English")
    full = future_session(mentor, title="Full house", capacity=1, skills=[python])
    booking_create(session_id=full.pk, learner=learner)
    WaitlistEntry.objects.create(session=full, learner=other_learner)
    done = ended_session(mentor)
    book_ended(done, learner)
    Feedback.objects.create(session=done, learner=learner, rating=4, comment="Good")
    report_create(reporter=learner, reason="technical", text="Audio broke", session_id=done.pk)
    feed = calendar_feed_get(user=learner)
    client.force_login(admin_user)

    for name in [
        "skill",
        "language",
        "mentorprofile",
        "learnerprofile",
        "session",
        "booking",
        "waitlistentry",
        "feedback",
        "report",
        "notification",
        "calendarfeed",
    ]:
        listing = client.get(f"/admin/mentoring/{name}/")
        assert listing.status_code == 200, name
        assert client.get(f"/admin/mentoring/{name}/", {"q": "python"}).status_code == 200, name
    assert "Maya Mentor" in client.get("/admin/mentoring/mentorprofile/").text
    assert "Full house" in client.get("/admin/mentoring/waitlistentry/").text
    assert "New booking" in client.get("/admin/mentoring/notification/").text

    booking = Booking.objects.get(session=full)
    assert client.get(f"/admin/mentoring/booking/{booking.pk}/change/").status_code == 200
    assert client.get("/admin/mentoring/booking/add/").status_code == 403
    assert client.get("/admin/mentoring/skill/add/").status_code == 200
    feed_page = client.get(f"/admin/mentoring/calendarfeed/{feed.pk}/change/")
    assert feed_page.status_code == 200 and feed.token not in feed_page.text
    assert CalendarFeed.objects.filter(pk=feed.pk).exists()


@pytest.mark.django_db
def test_skill_admin_prepopulates_the_slug(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/admin/mentoring/skill/add/")
    assert "prepopulated_fields.js" in page.text or "data-prepopulated-fields" in page.text
    response = client.post("/admin/mentoring/skill/add/", {"name": "Data science", "slug": "data-science"})
    assert response.status_code == 302
    assert Skill.objects.filter(slug="data-science", name="Data science").exists()
