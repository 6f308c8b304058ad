"""Object-level access: every URL and WebSocket that takes an id, for every persona (anonymous,
learner A who is booked, learner B who is waitlisted elsewhere, mentor X who owns the sessions,
mentor Y, an editor, staff). "Not yours" answers exactly like "does not exist" (404)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client

from conftest import make_user
from mentoring.models import Feedback, Report, WaitlistEntry
from mentoring.services.bookings import booking_create
from mentoring.services.profiles import calendar_feed_get
from mentoring.tests.factories import make_booking, make_session, past_session
from tests.ws import handshake_status

OK, NOT_FOUND, LOGIN, MOVED, BAD = 200, 404, "login", 302, 400
PERSONAS = ["anonymous", "learner_a", "learner_b", "mentor_x", "mentor_y", "editor", "staff"]


@pytest.fixture
def world(learner, other_learner, mentor, editor, admin_user):
    mentor_y = make_user("yusuf@example.com", "Yusuf Mentor", "mentor")
    session = make_session(mentor, capacity=2)
    booking = booking_create(session_id=session.pk, learner=learner)
    live = make_session(mentor, starts_in=timedelta(minutes=5), capacity=2, title="Live now")
    booking_create(session_id=live.pk, learner=learner)
    finished = past_session(mentor)
    make_booking(finished, learner)
    feedback = Feedback.objects.create(session=finished, learner=learner, rating=5, comment="Great")
    report = Report.objects.create(
        reporter=learner, session=finished, reason=Report.Reason.OTHER, text="Audio kept dropping"
    )
    full = make_session(mentor, capacity=1, title="Full one", starts_in=timedelta(days=3))
    entry = WaitlistEntry.objects.create(session=full, learner=other_learner)
    return {
        "anonymous": None,
        "learner_a": learner,
        "learner_b": other_learner,
        "mentor_x": mentor,
        "mentor_y": mentor_y,
        "editor": editor,
        "staff": admin_user,
        "session": session,
        "live": live,
        "booking": booking,
        "finished": finished,
        "entry": entry,
        "full": full,
        "feedback": feedback,
        "report": report,
        "feed_a": calendar_feed_get(user=learner),
        "feed_x": calendar_feed_get(user=mentor),
    }


def answer(client: Client, method: str, url: str) -> int | str:
    # Destructive actions go ahead only when confirmed (a page's dialog or the confirmation page says so).
    response = client.post(url, {"confirmed": "yes"}) if method == "POST" else client.get(url)
    location = response.get("Location", "")
    if response.status_code == 302 and location.startswith("/cms/login/"):  # Wagtail's refusal: see where it leads
        response = client.get(location)
        location = response.get("Location", "")
    if response.status_code == 302 and ("/accounts/login/" in location or "/admin/login/" in location):
        return LOGIN
    return response.status_code


MATRIX = [
    #                                                 anonymous learner_a  learner_b  mentor_x   mentor_y   editor     staff
    ("GET", "/sessions/{session}/", [OK, OK, OK, OK, OK, OK, OK]),
    ("GET", "/sessions/{session}/edit/", [LOGIN, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("POST", "/sessions/{session}/cancel/", [LOGIN, NOT_FOUND, NOT_FOUND, MOVED, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("GET", "/sessions/999999/edit/", [LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("GET", "/sessions/{session}/calendar.ics", [OK, OK, OK, OK, OK, OK, OK]),
    ("GET", "/sessions/{room}/room/", [LOGIN, OK, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("GET", "/sessions/{live_room}/room/", [LOGIN, OK, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    (
        "GET",
        "/sessions/{missing_room}/room/",
        [LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    ("POST", "/sessions/{live_room}/room/report/", [LOGIN, BAD, NOT_FOUND, BAD, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("GET", "/sessions/{session}/report/", [LOGIN, OK, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("GET", "/sessions/{finished}/feedback/", [LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("POST", "/bookings/{booking}/cancel/", [LOGIN, MOVED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("POST", "/bookings/999999/cancel/", [LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("POST", "/waitlist/{entry}/leave/", [LOGIN, NOT_FOUND, MOVED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("GET", "/mentors/{mentor_x}/", [OK, OK, OK, OK, OK, OK, OK]),
    ("GET", "/mentors/{learner_a}/", [NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("GET", "/mentors/{mentor_x}/report/", [LOGIN, OK, OK, NOT_FOUND, OK, OK, OK]),
    ("GET", "/calendar/feed/{feed_a}.ics", [OK, OK, OK, OK, OK, OK, OK]),
    ("GET", "/calendar/feed/not-a-real-token.ics", [NOT_FOUND] * 7),
    ("GET", "/calendar/", [LOGIN, OK, OK, OK, OK, OK, OK]),
    ("GET", "/sessions/new/", [LOGIN, NOT_FOUND, NOT_FOUND, OK, OK, NOT_FOUND, NOT_FOUND]),
    ("GET", "/dashboard/", [LOGIN, OK, OK, OK, OK, OK, OK]),
    ("GET", "/notifications/", [LOGIN, OK, OK, OK, OK, OK, OK]),
    ("GET", "/api/recommendations/", [401, OK, OK, OK, OK, OK, OK]),
    ("GET", "/call-check/", [LOGIN, OK, OK, OK, OK, OK, OK]),
    ("GET", "/admin/mentoring/session/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/session/{session}/change/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/feedback/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/report/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/accounts/user/{learner_a}/change/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/analytics/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/cms/pages/", [LOGIN, 403, 403, 403, 403, OK, OK]),
    # Writes with no form data: the owner gets the form back with its errors, anyone else "not found".
    ("POST", "/sessions/{finished}/feedback/", [LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("POST", "/sessions/{session}/report/", [LOGIN, OK, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("POST", "/mentors/{mentor_x}/report/", [LOGIN, OK, OK, NOT_FOUND, OK, OK, OK]),
    ("POST", "/sessions/{session}/edit/", [LOGIN, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    # Booking and the waitlist answer every signed-in person with a redirect and a message.
    ("POST", "/sessions/{session}/book/", [LOGIN, MOVED, MOVED, MOVED, MOVED, MOVED, MOVED]),
    ("POST", "/sessions/{full}/waitlist/", [LOGIN, MOVED, MOVED, MOVED, MOVED, MOVED, MOVED]),
    ("POST", "/sessions/999999/book/", [LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("POST", "/calendar/", [LOGIN, MOVED, MOVED, MOVED, MOVED, MOVED, MOVED]),
    ("POST", "/notifications/read/", [LOGIN, MOVED, MOVED, MOVED, MOVED, MOVED, MOVED]),
    ("GET", "/calendar/feed/{feed_x}.ics", [OK, OK, OK, OK, OK, OK, OK]),
    ("GET", "/admin/mentoring/booking/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/booking/{booking}/change/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/waitlistentry/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/mentorprofile/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/learnerprofile/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/skill/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/notification/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/calendarfeed/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/feedback/{feedback}/change/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/report/{report}/change/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/analytics/analytics.csv", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
]
SOCKETS = [
    ("/ws/session/{live_room}/", [403, 101, 403, 101, 403, 403, 403]),
    ("/ws/session/{room}/", [403, 403, 403, 403, 403, 403, 403]),  # not open yet
    ("/ws/session/{missing_room}/", [403] * 7),
    ("/ws/notifications/", [403, 101, 101, 101, 101, 101, 101]),
]
TALLY = {"cells": 0, "mismatches": 0}


@pytest.fixture(scope="session", autouse=True)
def _figure():  # session scope: pytest may interleave this module's tests with others (live server)
    yield
    print(
        f"\n[access] {len(MATRIX)} URLs + {len(SOCKETS)} sockets x {len(PERSONAS)} personas = {TALLY['cells']} cells, mismatches {TALLY['mismatches']}"
    )


def fill(template: str, world: dict) -> str:
    return template.format(
        session=world["session"].pk,
        room=world["session"].room_id,
        live_room=world["live"].room_id,
        missing_room=uuid.uuid4(),
        finished=world["finished"].pk,
        booking=world["booking"].pk,
        entry=world["entry"].pk,
        feed_a=world["feed_a"].token,
        feed_x=world["feed_x"].token,
        full=world["full"].pk,
        feedback=world["feedback"].pk,
        report=world["report"].pk,
        mentor_x=world["mentor_x"].pk,
        learner_a=world["learner_a"].pk,
    )


def compare(got: list, expected: list) -> None:
    TALLY["cells"] += len(expected)
    TALLY["mismatches"] += sum(g != e for g, e in zip(got, expected, strict=True))
    assert dict(zip(PERSONAS, got, strict=True)) == dict(zip(PERSONAS, expected, strict=True))


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "template", "expected"), MATRIX, ids=[f"{m} {t}" for m, t, _ in MATRIX])
def test_http_access(world, method, template, expected):
    url = fill(template, world)  # a fresh world per row: a POST that changes something cannot leak into the next
    got = []
    for persona in PERSONAS:
        client = Client()
        if world[persona] is not None:
            client.force_login(world[persona])
        got.append(answer(client, method, url))
    compare(got, expected)


@pytest.mark.parametrize(("template", "expected"), SOCKETS, ids=[t for t, _ in SOCKETS])
def test_websocket_access(live_db, world, daphne_server, template, expected):
    path = fill(template, world)
    got = []
    for persona in PERSONAS:
        cookie = None
        if world[persona] is not None:
            client = Client()
            client.force_login(world[persona])
            cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        got.append(handshake_status(daphne_server.port, path, origin=daphne_server.url, cookie=cookie))
    compare(got, expected)


@pytest.mark.django_db
def test_not_yours_reads_exactly_like_missing(world):
    client = Client()
    client.force_login(world["mentor_y"])
    other = client.get(f"/sessions/{world['session'].pk}/edit/")
    missing = client.get("/sessions/999999/edit/")
    assert other.status_code == missing.status_code == 404

    def body(response) -> str:  # the CSRF token is masked differently on every response
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.text)

    assert body(other) == body(missing)


@pytest.mark.django_db
def test_booking_posts_change_only_what_each_persona_may_change(world):
    """The matrix sees a redirect for every signed-in booking POST; here is what each one did."""
    from mentoring.models import Booking

    open_session = make_session(world["mentor_x"], capacity=6, title="Open to all", starts_in=timedelta(days=5))
    make_booking(world["full"], make_user("filler@example.com", "Filler"))  # its one seat taken: now it is full
    for persona in PERSONAS[1:]:
        client = Client()
        client.force_login(world[persona])
        client.post(f"/sessions/{open_session.pk}/book/")
        client.post(f"/sessions/{world['full'].pk}/waitlist/")
    booked = set(Booking.objects.filter(session=open_session, status="active").values_list("learner__email", flat=True))
    waiting = set(
        WaitlistEntry.objects.filter(session=world["full"], status="waiting").values_list("learner__email", flat=True)
    )
    # Learners (the editor and staff personas are learner accounts too) book and wait; mentors never do.
    learners = {world[p].email for p in ("learner_a", "learner_b", "editor", "staff")}
    assert booked == learners
    assert waiting == learners
    open_session.refresh_from_db()
    assert open_session.booked_count == len(learners)
