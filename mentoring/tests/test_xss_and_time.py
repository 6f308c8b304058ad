from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.html import strip_tags
from icalendar import Calendar

from conftest import make_user
from mentoring.models import Feedback, Report, Session
from mentoring.services.bookings import booking_create
from mentoring.services.calendar import session_ics
from mentoring.services.sessions import session_create
from mentoring.tests.factories import make_booking, make_session, past_session

pytestmark = pytest.mark.django_db
PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_script_payloads_render_escaped_everywhere(
    client, learner, mentor, admin_user, django_capture_on_commit_callbacks
):
    mentor.display_name = PAYLOAD
    mentor.save()
    mentor.mentor_profile.bio = PAYLOAD
    mentor.mentor_profile.headline = PAYLOAD
    mentor.mentor_profile.save()
    session = make_session(mentor, title=PAYLOAD, capacity=2)
    session.description = PAYLOAD
    session.save()
    with django_capture_on_commit_callbacks(execute=True):
        booking_create(session_id=session.pk, learner=learner)
    done = past_session(mentor, title=PAYLOAD)
    make_booking(done, learner)
    Feedback.objects.create(session=done, learner=learner, rating=3, comment=PAYLOAD)
    Report.objects.create(reporter=learner, session=session, reason="other", text=PAYLOAD)

    learner_client, mentor_client, staff_client = Client(), Client(), Client()
    learner_client.force_login(learner)
    mentor_client.force_login(mentor)
    staff_client.force_login(admin_user)
    pages = [
        (client, "/mentors/"),
        (client, f"/mentors/{mentor.pk}/"),
        (client, "/sessions/"),
        (client, f"/sessions/{session.pk}/"),
        (learner_client, "/dashboard/"),
        (mentor_client, "/dashboard/"),
        (mentor_client, "/notifications/"),
        (learner_client, f"/sessions/{session.pk}/"),
        (staff_client, "/admin/mentoring/session/"),
        (staff_client, "/admin/mentoring/feedback/"),
        (staff_client, "/admin/mentoring/report/"),
        (staff_client, f"/admin/mentoring/report/{Report.objects.get().pk}/change/"),
    ]
    for who, url in pages:
        response = who.get(url)
        assert response.status_code == 200, url
        assert "<script>alert" not in response.text, url
        assert "<img src=x" not in response.text, url
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in client.get(f"/sessions/{session.pk}/").text
    # Emails are plain text; the payload arrives as inert text, never as HTML.
    assert mail.outbox and all(not getattr(m, "alternatives", None) for m in mail.outbox)
    assert PAYLOAD in mail.outbox[0].body  # as inert text in a text/plain message
    assert mail.outbox[0].content_subtype == "plain"


def test_two_time_zones_see_the_same_instant_in_their_own_local_time(client, mentor, learner):
    # mentor: America/New_York, learner: Asia/Kolkata
    new_york, kolkata = zoneinfo.ZoneInfo("America/New_York"), zoneinfo.ZoneInfo("Asia/Kolkata")
    year = timezone.now().year + 1
    # Across the US DST change (first Sunday of November): one session before, one after.
    before = datetime(year, 10, 20, 9, 0, tzinfo=new_york)
    after = datetime(year, 11, 20, 9, 0, tzinfo=new_york)
    s_before = session_create(mentor=mentor, title="Before DST", starts_at=before, duration_minutes=60, capacity=2)
    s_after = session_create(mentor=mentor, title="After DST", starts_at=after, duration_minutes=60, capacity=2)
    assert s_before.starts_at.utcoffset() is not None
    assert (
        s_before.starts_at.astimezone(zoneinfo.ZoneInfo("UTC")).hour,
        s_after.starts_at.astimezone(zoneinfo.ZoneInfo("UTC")).hour,
    ) == (13, 14)

    def shown(session):  # the text a reader sees (times sit in <time> elements)
        return strip_tags(client.get(f"/sessions/{session.pk}/").text)

    client.force_login(mentor)
    mentor_page = shown(s_before), shown(s_after)
    client.force_login(learner)
    learner_page = shown(s_before), shown(s_after)

    assert "09:00–10:00 EDT" in mentor_page[0] and "09:00–10:00 EST" in mentor_page[1]
    assert "18:30–19:30 IST" in learner_page[0] and "19:30–20:30 IST" in learner_page[1]
    assert before.astimezone(kolkata).strftime("%H:%M") == "18:30"


def test_session_ics_parses_and_has_the_right_utc_instants(client, mentor):
    start = datetime(
        timezone.now().year + 1, 3, 10, 8, 15, tzinfo=zoneinfo.ZoneInfo("America/New_York")
    )  # just after US DST starts
    session = session_create(mentor=mentor, title="ICS check", starts_at=start, duration_minutes=45, capacity=1)
    response = client.get(f"/sessions/{session.pk}/calendar.ics")
    assert response["Content-Type"].startswith("text/calendar")
    event = Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == start
    assert event.decoded("dtstart").utcoffset() == timedelta(0)  # written in UTC
    assert event.decoded("dtend") == start + timedelta(minutes=45)
    assert str(event["summary"]) == "ICS check (PeerLearn)"
    assert b"DTSTART:" in session_ics(session) and b"Z\r\n" in session_ics(session)


def test_feed_lists_the_learners_booked_sessions(client, learner, mentor):
    from mentoring.services.profiles import calendar_feed_get

    booked = make_session(mentor, title="Booked one")
    make_session(mentor, title="Not booked", starts_in=timedelta(days=4))
    booking_create(session_id=booked.pk, learner=learner)
    response = client.get(f"/calendar/feed/{calendar_feed_get(user=learner).token}.ics")
    summaries = [str(e["summary"]) for e in Calendar.from_ical(response.content).walk("VEVENT")]
    assert summaries == ["Booked one (PeerLearn)"]
    assert Session.objects.count() == 2


def test_a_mentors_feed_keeps_upcoming_sessions_whatever_their_history(client, mentor, monkeypatch):
    from mentoring import selectors
    from mentoring.services.profiles import calendar_feed_get

    monkeypatch.setattr(selectors, "CALENDAR_FEED_LIMIT", 5)  # the same rule as 500, with fewer rows
    now = timezone.now()
    for day in range(1, 8):  # a long history, older than anything upcoming
        started = now - timedelta(days=day, hours=1)
        Session.objects.create(
            mentor=mentor,
            title=f"Past {day}",
            starts_at=started,
            duration_minutes=60,
            ends_at=started + timedelta(hours=1),
            capacity=1,
            status=Session.Status.COMPLETED,
        )
    for weeks in (1, 2, 30):  # upcoming: the soonest are kept when there are too many
        make_session(mentor, title=f"In {weeks} weeks", starts_in=timedelta(weeks=weeks))
    response = client.get(f"/calendar/feed/{calendar_feed_get(user=mentor).token}.ics")
    summaries = sorted(
        str(e["summary"]).removesuffix(" (PeerLearn)") for e in Calendar.from_ical(response.content).walk("VEVENT")
    )
    assert summaries == sorted(["In 1 weeks", "In 2 weeks", "In 30 weeks", "Past 1", "Past 2"])
    monkeypatch.setattr(selectors, "CALENDAR_FEED_LIMIT", 2)
    response = client.get(f"/calendar/feed/{calendar_feed_get(user=mentor).token}.ics")
    summaries = sorted(
        str(e["summary"]).removesuffix(" (PeerLearn)") for e in Calendar.from_ical(response.content).walk("VEVENT")
    )
    assert summaries == ["In 1 weeks", "In 2 weeks"]


def test_nonexistent_local_time_is_a_clear_form_error(client):
    mentor = make_user("ny@example.com", "NY", "mentor", "America/New_York")
    client.force_login(mentor)
    year = timezone.now().year + 1
    # 2:30 on the second Sunday of March does not exist in New York.
    march = datetime(year, 3, 8, tzinfo=zoneinfo.ZoneInfo("UTC"))
    second_sunday = march + timedelta(days=(6 - march.weekday()) % 7)
    response = client.post(
        "/sessions/new/",
        {
            "title": "Ghost hour",
            "starts_at": second_sunday.strftime("%Y-%m-%dT02:30"),
            "duration_minutes": "60",
            "capacity": "1",
        },
    )
    assert response.status_code == 200
    assert (
        "couldn’t be interpreted in time zone" in response.text
        or "could not be interpreted" in response.text
        or "couldn&#x27;t be interpreted" in response.text
    )
    assert not Session.objects.exists()
