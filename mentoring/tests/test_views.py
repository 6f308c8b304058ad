"""The pages people use, through HTTP, asserting the response and what changed in the database."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from mentoring.models import Booking, Feedback, Report, Session, WaitlistEntry
from mentoring.services.bookings import booking_create
from mentoring.tests.factories import make_session, past_session, skill

pytestmark = pytest.mark.django_db


def future_local(tz: str, days: int = 3, hour: int = 18) -> datetime:
    local = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(tz)) + timedelta(days=days)
    return local.replace(hour=hour, minute=30, second=0, microsecond=0)


def session_form(**overrides) -> dict:
    data = {
        "title": "Debugging Django queries",
        "description": "Bring a slow page.",
        "skills": [],
        "starts_at": future_local("America/New_York").strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": "60",
        "capacity": "3",
    }
    data.update(overrides)
    return data


def test_mentor_creates_a_session_entered_in_their_own_time_zone(client, mentor):
    python = skill("Python")
    client.force_login(mentor)
    local = future_local("America/New_York")
    response = client.post(
        "/sessions/new/", session_form(skills=[python.pk], starts_at=local.strftime("%Y-%m-%dT%H:%M"))
    )

    session = Session.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    assert session.starts_at == local  # the same instant, stored in UTC
    assert list(session.skills.all()) == [python]
    assert (session.capacity, session.duration_minutes, session.mentor) == (3, 60, mentor)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"starts_at": "tomorrow-ish"}, "Enter a date and time, for example"),
        ({"starts_at": "2020-01-01T10:00"}, "The start must be in the future."),
        ({"duration_minutes": "500"}, "Select a valid choice."),
        ({"capacity": "9"}, "Select a valid choice."),
        ({"skills": ["999999"]}, "Select a valid choice."),
    ],
)
def test_session_form_bad_input_shows_its_message_and_creates_nothing(client, mentor, overrides, message):
    client.force_login(mentor)
    response = client.post("/sessions/new/", session_form(**overrides))
    assert response.status_code == 200
    assert message in response.text
    assert not Session.objects.exists()


def test_overlap_is_a_friendly_form_error(client, mentor):
    existing = make_session(mentor, starts_in=timedelta(days=3))
    client.force_login(mentor)
    local = timezone.localtime(existing.starts_at, zoneinfo.ZoneInfo(mentor.time_zone))
    response = client.post("/sessions/new/", session_form(starts_at=local.strftime("%Y-%m-%dT%H:%M")))
    assert response.status_code == 200
    assert "You already have a session at that time." in response.text
    assert Session.objects.count() == 1


def test_learner_books_from_the_session_page_and_a_second_submit_changes_nothing(client, learner, mentor):
    session = make_session(mentor, capacity=2)
    client.force_login(learner)
    first = client.post(f"/sessions/{session.pk}/book/", follow=True)
    assert "You are booked on" in first.text and "You have a seat." in first.text
    second = client.post(f"/sessions/{session.pk}/book/", follow=True)  # a double click, another tab
    assert "You are booked on" in second.text and "already" not in second.text
    assert Booking.objects.filter(session=session, learner=learner, status="active").count() == 1


def test_full_session_page_offers_the_waitlist(client, learner, other_learner, mentor):
    session = make_session(mentor, capacity=1)
    booking_create(session_id=session.pk, learner=other_learner)
    client.force_login(learner)
    assert "Join the waitlist" in client.get(f"/sessions/{session.pk}/").text
    refused = client.post(f"/sessions/{session.pk}/book/", follow=True)
    assert "This session is full." in refused.text
    client.post(f"/sessions/{session.pk}/waitlist/")
    assert WaitlistEntry.objects.filter(session=session, learner=learner, status="waiting").exists()


def test_the_dashboard_shows_each_learners_place_in_line(client, learner, other_learner, outsider, mentor):
    session = make_session(mentor, capacity=1)
    booking_create(session_id=session.pk, learner=outsider)
    for person in (other_learner, learner):
        client.force_login(person)
        client.post(f"/sessions/{session.pk}/waitlist/")
    assert "place 2 in line" in client.get("/dashboard/").text  # learner joined second
    client.force_login(other_learner)
    assert "next in line" in client.get("/dashboard/").text
    client.post(f"/waitlist/{WaitlistEntry.objects.get(learner=other_learner).pk}/leave/", {"confirmed": "yes"})
    client.force_login(learner)
    assert "next in line" in client.get("/dashboard/").text  # moved up when the first one left


def test_a_learner_cancels_a_seat_from_the_dashboard(client, learner, mentor):
    session = make_session(mentor, capacity=2, title="Query tuning")
    booking = booking_create(session_id=session.pk, learner=learner)
    client.force_login(learner)
    dashboard = client.get("/dashboard/").text
    assert f'action="/bookings/{booking.pk}/cancel/"' in dashboard and "Cancel your seat on “Query tuning”" in dashboard
    # Without the page's script (no dialog) and by a GET (a link after signing in), it asks first.
    for asked in (client.post(f"/bookings/{booking.pk}/cancel/"), client.get(f"/bookings/{booking.pk}/cancel/")):
        assert asked.status_code == 200 and "Give up your seat on “Query tuning”?" in asked.text
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.ACTIVE
    response = client.post(f"/bookings/{booking.pk}/cancel/", {"confirmed": "yes"}, follow=True)
    assert "Your seat on “Query tuning” is cancelled." in response.text
    again = client.post(f"/bookings/{booking.pk}/cancel/", {"confirmed": "yes"}, follow=True)  # sent twice
    assert "Your seat on “Query tuning” is cancelled." in again.text and "already" not in again.text
    booking.refresh_from_db()
    session.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and session.booked_count == 0
    assert f"/bookings/{booking.pk}/cancel/" not in client.get("/dashboard/").text


def test_mentor_edit_keeps_capacity_above_bookings(client, mentor, learner, other_learner):
    session = make_session(mentor, capacity=3)
    booking_create(session_id=session.pk, learner=learner)
    booking_create(session_id=session.pk, learner=other_learner)
    client.force_login(mentor)
    local = timezone.localtime(session.starts_at, zoneinfo.ZoneInfo(mentor.time_zone))
    response = client.post(
        f"/sessions/{session.pk}/edit/",
        session_form(title=session.title, capacity="1", starts_at=local.strftime("%Y-%m-%dT%H:%M")),
    )
    assert response.status_code == 200
    assert "2 learners have booked this session; capacity cannot be lower than that." in response.text
    assert Session.objects.get(pk=session.pk).capacity == 3


def test_mentor_cancels_from_the_page(client, mentor, learner):
    session = make_session(mentor)
    booking_create(session_id=session.pk, learner=learner)
    client.force_login(mentor)
    asked = client.post(f"/sessions/{session.pk}/cancel/")
    assert "Cancel “" in asked.text and Session.objects.get(pk=session.pk).status == "scheduled"
    page = client.post(f"/sessions/{session.pk}/cancel/", {"reason": "Travel", "confirmed": "yes"}, follow=True)
    assert "Session cancelled." in page.text
    assert Session.objects.get(pk=session.pk).status == "cancelled"
    assert learner.notifications.filter(kind="session_cancelled").exists()


def test_feedback_once_editable_and_validated(client, learner, mentor):
    from mentoring.tests.factories import make_booking

    session = past_session(mentor)
    make_booking(session, learner)
    client.force_login(learner)
    bad = client.post(f"/sessions/{session.pk}/feedback/", {"rating": "9", "comment": "?"})
    assert bad.status_code == 200 and "Choose a rating from 1 to 5." in bad.text
    assert not Feedback.objects.exists()
    client.post(f"/sessions/{session.pk}/feedback/", {"rating": "4", "comment": "Good"})
    client.post(f"/sessions/{session.pk}/feedback/", {"rating": "5", "comment": "Even better on reflection"})
    feedback = Feedback.objects.get()
    assert (feedback.rating, feedback.comment) == (5, "Even better on reflection")
    Feedback.objects.filter(pk=feedback.pk).update(created_at=timezone.now() - timedelta(days=8))
    late = client.post(f"/sessions/{session.pk}/feedback/", {"rating": "1", "comment": "changed my mind"})
    assert "Feedback can be changed for 7 days" in late.text
    assert Feedback.objects.get().rating == 5


def test_feedback_before_the_end_is_refused(client, learner, mentor):
    session = make_session(mentor)
    booking_create(session_id=session.pk, learner=learner)
    client.force_login(learner)
    response = client.post(f"/sessions/{session.pk}/feedback/", {"rating": "5"})
    assert "You can rate this session once it has ended." in response.text
    assert not Feedback.objects.exists()


def test_participant_reports_a_problem_into_the_queue(client, learner, mentor):
    session = make_session(mentor)
    booking_create(session_id=session.pk, learner=learner)
    client.force_login(learner)
    empty = client.post(f"/sessions/{session.pk}/report/", {"reason": "behaviour", "text": ""})
    assert empty.status_code == 200 and "This field is required." in empty.text
    client.post(
        f"/sessions/{session.pk}/report/", {"reason": "behaviour", "reported_user": str(mentor.pk), "text": "Rude"}
    )
    report = Report.objects.get()
    assert (report.reporter, report.session, report.reported_user, report.status) == (learner, session, mentor, "open")


def test_directory_filters_by_skill_and_language_and_search(client, mentor):
    from conftest import make_user
    from mentoring.models import Language

    english = Language.objects.create(code="en", name="English")
    german = Language.objects.create(code="de", name="German")
    python, design = skill("Python"), skill("UX Design")
    mentor.mentor_profile.skills.set([python])
    mentor.mentor_profile.languages.set([english])
    other = make_user("ines@example.com", "Ines Designer", "mentor")
    other.mentor_profile.skills.set([design])
    other.mentor_profile.languages.set([german])

    def names(query: str) -> list[str]:
        page = client.get("/mentors/" + query).context["page_obj"]
        return [p.user.display_name for p in page]

    assert names("") == ["Ines Designer", "Maya Mentor"]
    assert names("?skill=python") == ["Maya Mentor"]
    assert names("?language=de") == ["Ines Designer"]
    assert names("?q=design") == ["Ines Designer"]
    assert names("?skill=python&language=de") == []
    assert "No mentors match that search." in client.get("/mentors/?q=nobody").text
    assert client.get("/mentors/?skill=no-such-skill").status_code == 200  # a bad filter is ignored, not an error


def test_mentor_page_shows_rating_and_open_sessions(client, mentor, learner):
    from mentoring.tests.factories import make_booking

    done = past_session(mentor)
    make_booking(done, learner)
    Feedback.objects.create(session=done, learner=learner, rating=4, comment="Helpful")
    open_session = make_session(mentor, title="Open slot")
    response = client.get(f"/mentors/{mentor.pk}/")
    assert "4.0 average from 1 review" in response.text
    assert "Open slot" in response.text and "Helpful" in response.text
    assert open_session.pk in [s.pk for s in response.context["upcoming"]]


def test_dashboard_join_button_only_in_the_join_window(client, learner, mentor):
    soon = make_session(mentor, starts_in=timedelta(minutes=5), title="Soon")
    later = make_session(mentor, starts_in=timedelta(days=2), title="Later")
    booking_create(session_id=soon.pk, learner=learner)
    booking_create(session_id=later.pk, learner=learner)
    client.force_login(learner)
    html = client.get("/dashboard/").text
    assert f'href="/sessions/{soon.room_id}/room/">Join</a>' in html
    assert f"/sessions/{later.room_id}/room/" not in html


def test_notifications_page_and_mark_read(client, learner, mentor):
    session = make_session(mentor)
    client.force_login(mentor)
    booking_create(session_id=session.pk, learner=learner)
    page = client.get("/notifications/")
    assert "Alice Learner booked" in page.text and "data-unread-count >1<" in page.text.replace(
        "data-unread-count  >", "data-unread-count >"
    )
    client.post("/notifications/read/")
    assert not mentor.notifications.filter(is_read=False).exists()


def test_calendar_link_can_be_regenerated(client, learner):
    client.force_login(learner)
    first = client.get("/calendar/").context["feed_url"]
    client.post("/calendar/", {"confirmed": "yes"})
    second = client.get("/calendar/").context["feed_url"]
    assert first != second
    assert first.startswith(settings.SITE_URL) and second.startswith(settings.SITE_URL)  # one source for absolute URLs
    assert client.get(first.replace(settings.SITE_URL, "")).status_code == 404
    assert client.get(second.replace(settings.SITE_URL, "")).status_code == 200
