"""1:1 requests through HTTP: the slot picker on a mentor's profile, the request form, the requests page
and the mentor's answers; hostile inputs change nothing and never give a 500."""

from __future__ import annotations

from datetime import UTC, timedelta
from urllib.parse import quote, urlencode

import pytest
from django.utils import timezone

from conftest import make_user
from mentoring.models import Booking, Session, SessionRequest
from mentoring.services.requests import request_accept, request_create, request_slots
from mentoring.tests.services.test_requests import AGENDA, open_hours
from mentoring.views_requests import start_param
from portal.dates import safe_localtime

pytestmark = pytest.mark.django_db


@pytest.fixture
def hours(mentor):
    return open_hours(mentor)


def slot(mentor, index: int = 0, length: int = 60):
    return request_slots(mentor=mentor, duration_minutes=length)[index]


def form_url(mentor, starts_at, length: int = 60) -> str:
    return f"/mentors/{mentor.pk}/request/?{urlencode({'start': start_param(starts_at), 'length': length})}"


def send(client, mentor, starts_at, length: int = 60, agenda: str = AGENDA):
    return client.post(
        f"/mentors/{mentor.pk}/request/", {"start": start_param(starts_at), "length": str(length), "agenda": agenda}
    )


def ask(learner, mentor, index: int = 0) -> SessionRequest:
    return request_create(
        learner=learner,
        mentor_id=mentor.pk,
        starts_at=slot(mentor, index).starts_at,
        duration_minutes=60,
        agenda=AGENDA,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --------------------------------------------------------------------------- the profile's slot picker
def test_the_profile_shows_free_slots_in_the_learners_zone_with_request_links(client, learner, mentor, hours):
    client.force_login(learner)  # Asia/Kolkata
    response = client.get(f"/mentors/{mentor.pk}/")
    assert response.status_code == 200
    first = slot(mentor, length=30)  # the first length offered is shown first
    kolkata = safe_localtime(first.starts_at, "Asia/Kolkata")
    picker = response.text.split('id="book"')[1].split("</section>")[0]
    assert "Book a 1:1" in response.text
    assert f">{kolkata:%H:%M}</time>" in picker
    assert f"{kolkata:%A} {kolkata.day} {kolkata:%B}" in picker  # the day heading, in the learner's zone
    assert form_url(mentor, first.starts_at, 30).replace("&", "&amp;") in picker
    assert "Asia/Kolkata" in picker and "data-local-format" not in picker
    assert 'aria-current="true">60 min' not in picker  # 30 minutes is the first length offered
    assert 'aria-current="true">30 min' in picker


def test_the_length_tabs_choose_the_slots(client, learner, mentor, hours):
    client.force_login(learner)
    picker = client.get(f"/mentors/{mentor.pk}/?length=60").text.split('id="book"')[1]
    assert 'aria-current="true">60 min' in picker and "length=60" in picker
    for hostile in ("999", "abc", "", "-30", "1" * 500, "٣٠"):
        response = client.get(f"/mentors/{mentor.pk}/", {"length": hostile})
        assert response.status_code == 200
        assert 'aria-current="true">30 min' in response.text


def test_signed_out_visitors_get_browser_local_times_and_a_login_link(client, mentor, hours):
    response = client.get(f"/mentors/{mentor.pk}/")
    picker = response.text.split('id="book"')[1].split("</section>")[0]
    first = slot(mentor, length=30)
    assert f'<time datetime="{first.starts_at.astimezone(UTC).isoformat()}" data-local-format="D j M, H:i">' in picker
    assert "data-times-note" in picker
    assert "/accounts/login/?next=" in picker and quote(f"/mentors/{mentor.pk}/request/", safe="") in picker


def test_mentors_without_hours_show_no_picker(client, learner, mentor):
    client.force_login(learner)
    response = client.get(f"/mentors/{mentor.pk}/")
    assert response.status_code == 200 and "Book a 1:1" not in response.text


def test_the_mentor_sees_their_own_slots_without_links(client, mentor, hours):
    client.force_login(mentor)
    picker = client.get(f"/mentors/{mentor.pk}/").text.split('id="book"')[1].split("</section>")[0]
    assert "Only learners can request" in picker and "/request/?" not in picker


# --------------------------------------------------------------------------- the form
def test_the_form_shows_the_slot_in_the_learners_zone(client, learner, mentor, hours):
    client.force_login(learner)
    first = slot(mentor)
    response = client.get(form_url(mentor, first.starts_at))
    assert response.status_code == 200
    kolkata = safe_localtime(first.starts_at, "Asia/Kolkata")
    assert f"{kolkata:%H:%M}" in response.text and "60 minutes" in response.text
    assert "What do you want to work on?" in response.text
    assert f'value="{start_param(first.starts_at)}"' in response.text


def test_sending_the_form_makes_a_request(client, learner, mentor, hours):
    client.force_login(learner)
    first = slot(mentor)
    response = send(client, mentor, first.starts_at)
    assert response.status_code == 302 and response["Location"] == "/requests/"
    request = SessionRequest.objects.get()
    assert (request.learner, request.mentor, request.starts_at, request.duration_minutes) == (
        learner,
        mentor,
        first.starts_at,
        60,
    )
    page = client.get("/requests/")
    assert "Waiting for the mentor" in page.text and "Review my Django models" in page.text


def test_auto_accept_takes_the_learner_to_the_booked_session(client, learner, mentor):
    open_hours(mentor, auto_accept=True)
    client.force_login(learner)
    response = send(client, mentor, slot(mentor).starts_at)
    session = Session.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "start=not-a-date&length=60",
        "start=2026-13-45T99:99Z&length=60",
        "start=0001-01-01T00:00%2B05:00&length=60",
        "start=9999-12-31T23:59Z&length=60",
        "length=60",
        "start=2030-01-01T10:00Z",
        "start=2030-01-01T10:00Z&length=abc",
        "start=2030-01-01T10:00Z&length=99999",
        "start=" + "9" * 5000 + "&length=60",
    ],
)
def test_hostile_queries_send_the_learner_back_to_the_profile(client, learner, mentor, hours, query):
    client.force_login(learner)
    response = client.get(f"/mentors/{mentor.pk}/request/?{query}", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain and response.redirect_chain[0][0] == f"/mentors/{mentor.pk}/#book"
    assert messages_of(response)
    assert not SessionRequest.objects.exists()


def test_a_start_that_is_not_a_slot_or_a_length_not_offered_is_explained(client, learner, mentor, hours):
    client.force_login(learner)
    first = slot(mentor)
    off_grid = client.get(form_url(mentor, first.starts_at + timedelta(minutes=7)), follow=True)
    assert any("outside the mentor's hours" in m for m in messages_of(off_grid))
    wrong_length = client.get(form_url(mentor, first.starts_at, length=45), follow=True)
    assert any("This mentor offers sessions of" in m for m in messages_of(wrong_length))
    posted = send(client, mentor, first.starts_at, length=45)
    assert posted.status_code == 200 and "This mentor offers sessions of" in posted.text
    assert not SessionRequest.objects.exists()


@pytest.mark.parametrize(
    ("agenda", "message"),
    [
        ("", "This field is required."),
        ("x" * 1001, "at most 1000 characters"),
        ("x" * 100_000, "at most 1000 characters"),
        ("Bell\x07", "not invisible control characters"),
    ],
)
def test_a_bad_agenda_is_refused_at_the_field(client, learner, mentor, hours, agenda, message):
    client.force_login(learner)
    response = send(client, mentor, slot(mentor).starts_at, agenda=agenda)
    assert response.status_code == 200 and message in response.text
    assert not SessionRequest.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"start": "yesterday", "length": "60"},
        {"start": "", "length": "60"},
        {"length": "60"},
        {"start": "2030-01-01T10:00Z", "length": "1e3"},
        {"start": "2030-01-01T10:00Z", "length": ["60", "30"]},
        {"start": "9999-12-31T23:59Z", "length": "240"},
        {"start": "9999-12-31T23:59+00:00", "length": "999"},
        {"start": "0001-01-01T00:00Z", "length": "60"},
        {"start": "0001-01-01T00:00-12:00", "length": "60"},
    ],
)
def test_hostile_posts_change_nothing(client, learner, mentor, hours, fields):
    client.force_login(learner)
    response = client.post(f"/mentors/{mentor.pk}/request/", {"agenda": AGENDA, **fields})
    assert response.status_code == 200
    assert 'class="form-errors"' in response.text
    assert not SessionRequest.objects.exists()


def test_a_slot_taken_meanwhile_offers_the_next_free_ones(client, learner, other_learner, mentor, hours):
    first = slot(mentor)
    ask(other_learner, mentor)
    client.force_login(learner)
    response = send(client, mentor, first.starts_at)
    assert response.status_code == 200 and "was just taken" in response.text
    assert "Choose another time" in response.text
    upcoming = request_slots(mentor=mentor, duration_minutes=60)[:3]
    for free in upcoming:
        assert f'name="start" value="{start_param(free.starts_at)}"' in response.text
    assert AGENDA.split("\n")[0] in response.text  # what they wrote is kept
    assert SessionRequest.objects.count() == 1
    again = send(client, mentor, upcoming[0].starts_at)  # the first offer, sent with the same words
    assert again.status_code == 302 and SessionRequest.objects.filter(learner=learner).count() == 1
    shown = client.get(form_url(mentor, first.starts_at))  # the link followed late says so as well
    assert shown.status_code == 200 and "was just taken" in shown.text


def test_signed_out_visitors_are_sent_to_log_in(client, mentor, hours):
    url = form_url(mentor, slot(mentor).starts_at)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    response = client.post(f"/mentors/{mentor.pk}/request/", {"agenda": AGENDA})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/requests/").status_code == 302
    assert not SessionRequest.objects.exists()


def test_mentors_cannot_request_and_unknown_mentors_are_404(client, learner, mentor, hours):
    other_mentor = make_user("omar@example.com", "Omar Mentor", "mentor")
    client.force_login(other_mentor)
    response = client.get(form_url(mentor, slot(mentor).starts_at), follow=True)
    assert any("Only learners" in m for m in messages_of(response))
    client.force_login(learner)
    assert client.get("/mentors/999999/request/?start=2030-01-01T10:00Z&length=60").status_code == 404
    assert client.get(f"/mentors/{learner.pk}/request/?start=2030-01-01T10:00Z&length=60").status_code == 404
    assert not SessionRequest.objects.exists()


# --------------------------------------------------------------------------- answers
def test_the_mentor_accepts_from_the_requests_page(client, learner, mentor, hours):
    request = ask(learner, mentor)
    client.force_login(mentor)
    page = client.get("/requests/")
    assert "Waiting for you" in page.text and "Alice Learner" in page.text
    assert f'action="/requests/{request.pk}/accept/"' in page.text
    response = client.post(f"/requests/{request.pk}/accept/")
    request.refresh_from_db()
    assert request.status == "accepted" and request.session.private
    assert response.status_code == 302 and response["Location"] == f"/sessions/{request.session_id}/"
    assert Booking.objects.filter(session=request.session, learner=learner, status="active").exists()
    again = client.post(f"/requests/{request.pk}/accept/")  # a second click: the same outcome
    assert again.status_code == 302 and Session.objects.count() == 1
    assert client.get(f"/requests/{request.pk}/accept/").status_code == 302  # GET changes nothing


def test_the_mentor_declines_with_a_message_after_confirming(client, learner, mentor, hours):
    request = ask(learner, mentor)
    client.force_login(mentor)
    asked = client.post(f"/requests/{request.pk}/decline/", {"message": "Not my topic, sorry."})
    assert asked.status_code == 200 and "Decline Alice Learner" in asked.text and "Not my topic, sorry." in asked.text
    request.refresh_from_db()
    assert request.status == "pending"
    done = client.post(
        f"/requests/{request.pk}/decline/",
        {"message": "Not my topic, sorry.", "confirmed": "yes", "next": "/dashboard/"},
    )
    assert done.status_code == 302 and done["Location"] == "/dashboard/"
    request.refresh_from_db()
    assert request.status == "declined" and request.response == "Not my topic, sorry."
    client.force_login(learner)
    page = client.get("/requests/")
    assert "Declined" in page.text and "Not my topic, sorry." in page.text


def test_a_hostile_decline_message_changes_nothing(client, learner, mentor, hours):
    request = ask(learner, mentor)
    client.force_login(mentor)
    for message in ("Bell\x07", "n" * 5000):
        response = client.post(
            f"/requests/{request.pk}/decline/", {"message": message, "confirmed": "yes"}, follow=True
        )
        assert response.status_code == 200 and messages_of(response)
    request.refresh_from_db()
    assert request.status == "pending"


def test_the_learner_withdraws_after_confirming(client, learner, mentor, hours):
    request = ask(learner, mentor)
    client.force_login(learner)
    asked = client.get(f"/requests/{request.pk}/withdraw/")
    assert asked.status_code == 200 and "Withdraw your request to Maya Mentor?" in asked.text
    response = client.post(f"/requests/{request.pk}/withdraw/", {"confirmed": "yes"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "withdrawn"


def test_other_peoples_requests_are_404(client, learner, other_learner, mentor, hours):
    request = ask(learner, mentor)
    other_mentor = make_user("omar@example.com", "Omar Mentor", "mentor")
    for person, actions in (
        (other_learner, ("accept", "decline", "withdraw")),
        (other_mentor, ("accept", "decline", "withdraw")),
        (learner, ("accept", "decline")),
        (mentor, ("withdraw",)),
    ):
        client.force_login(person)
        for action in actions:
            assert client.post(f"/requests/{request.pk}/{action}/", {"confirmed": "yes"}).status_code == 404
            assert client.get(f"/requests/{request.pk}/{action}/").status_code == 404
        assert "Review my Django models" not in client.get("/requests/").text or person in (learner, mentor)
    assert client.post("/requests/99999999/accept/").status_code == 404
    request.refresh_from_db()
    assert request.status == "pending"


def test_the_dashboards_show_the_requests(client, learner, mentor, hours):
    request = ask(learner, mentor)
    client.force_login(mentor)
    page = client.get("/dashboard/")
    assert "Requests waiting for you" in page.text
    assert (
        f'action="/requests/{request.pk}/accept/"' in page.text
        and f'action="/requests/{request.pk}/decline/"' in page.text
    )
    client.force_login(learner)
    page = client.get("/dashboard/")
    assert "Your requests" in page.text and "Waiting for the mentor" in page.text
    request_accept(request_id=request.pk, mentor=mentor)
    page = client.get("/dashboard/")
    assert "Accepted" in page.text


def test_the_private_session_is_its_participants_only(client, learner, other_learner, mentor, hours):
    request = ask(learner, mentor)
    session = request_accept(request_id=request.pk, mentor=mentor).session
    assert "1:1: Maya Mentor and Alice Learner" not in client.get("/sessions/").text
    assert client.get(f"/sessions/{session.pk}/").status_code == 404
    assert client.get(f"/sessions/{session.pk}/calendar.ics").status_code == 404
    client.force_login(other_learner)
    assert client.get(f"/sessions/{session.pk}/").status_code == 404
    assert client.post(f"/sessions/{session.pk}/book/").status_code == 404
    assert "1:1: Maya Mentor and Alice Learner" not in client.get("/sessions/").text
    assert "1:1: Maya Mentor and Alice Learner" not in client.get(f"/mentors/{mentor.pk}/").text
    for person in (learner, mentor):
        client.force_login(person)
        assert client.get(f"/sessions/{session.pk}/").status_code == 200
    assert timezone.now() < session.starts_at


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/mentors/{mentor}/request/?start=%00&length=60", None),
        ("get", "/mentors/{mentor}/request/?start=2030-01-01T10:00%00Z&length=60", None),
        ("post", "/mentors/{mentor}/request/", {"start": "2030-01-01T10:00Z", "length": "60", "agenda": "Hi\x00"}),
        ("post", "/mentors/{mentor}/request/", {"start": "2030-01-01T10:00Z\x00", "length": "60", "agenda": "Hi"}),
        ("post", "/requests/{request}/decline/", {"message": "No\x00", "confirmed": "yes"}),
    ],
)
def test_nul_anywhere_is_a_clear_400_and_changes_nothing(client, learner, mentor, hours, method, path, data):
    request = ask(learner, mentor)
    client.force_login(mentor if "decline" in path else learner)
    url = path.format(mentor=mentor.pk, request=request.pk)
    response = client.get(url) if method == "get" else client.post(url, data)
    assert response.status_code == 400
    request.refresh_from_db()
    assert request.status == "pending" and SessionRequest.objects.count() == 1
