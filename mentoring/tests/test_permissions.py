"""Who may open what. "Not yours" must answer exactly like "does not exist" (404)."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from conftest import make_user
from mentoring.models import Feedback, WaitlistEntry
from mentoring.services.bookings import booking_create
from mentoring.services.profiles import calendar_feed_get
from mentoring.tests.factories import make_session, past_session

pytestmark = pytest.mark.django_db

OK, NOT_FOUND, LOGIN = 200, 404, "login"


@pytest.fixture
def world(learner, other_learner, mentor, admin_user):
    mentor_y = make_user("yusuf@example.com", "Yusuf Mentor", "mentor")
    session = make_session(mentor, capacity=2)
    booking = booking_create(session_id=session.pk, learner=learner)
    finished = past_session(mentor)
    from mentoring.demo import _book_directly

    _book_directly(finished, learner)
    Feedback.objects.create(session=finished, learner=learner, rating=5, comment="Great")
    entry = WaitlistEntry.objects.create(session=make_session(mentor, capacity=1, title="Full one", starts_in=__import__("datetime").timedelta(days=3)), learner=other_learner)
    return {
        "anonymous": None, "learner_a": learner, "learner_b": other_learner, "mentor_x": mentor, "mentor_y": mentor_y, "staff": admin_user,
        "session": session, "booking": booking, "finished": finished, "entry": entry,
        "feed_a": calendar_feed_get(user=learner), "feed_x": calendar_feed_get(user=mentor),
    }


def answer(client: Client, method: str, url: str) -> int | str:
    response = client.post(url) if method == "POST" else client.get(url)
    if response.status_code == 302 and "/accounts/login/" in response["Location"]:
        return LOGIN
    if response.status_code == 302 and "/admin/login/" in response["Location"]:
        return LOGIN
    return 302 if response.status_code == 302 else response.status_code


# persona order: anonymous, learner_a (booked), learner_b (waitlisted elsewhere), mentor_x (owner), mentor_y, staff
MATRIX = [
    ("GET", "/sessions/{session}/", [OK, OK, OK, OK, OK, OK]),
    ("GET", "/sessions/{session}/edit/", [LOGIN, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND]),
    ("POST", "/sessions/{session}/cancel/", [LOGIN, NOT_FOUND, NOT_FOUND, 302, NOT_FOUND, NOT_FOUND]),
    ("GET", "/sessions/{room}/room/", [LOGIN, OK, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND]),
    ("GET", "/sessions/{missing_room}/room/", [LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("GET", "/sessions/{session}/report/", [LOGIN, OK, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND]),
    ("GET", "/sessions/{finished}/feedback/", [LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("POST", "/bookings/{booking}/cancel/", [LOGIN, 302, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("POST", "/bookings/999999/cancel/", [LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("POST", "/waitlist/{entry}/leave/", [LOGIN, NOT_FOUND, 302, NOT_FOUND, NOT_FOUND, NOT_FOUND]),
    ("GET", "/calendar/feed/{feed_a}.ics", [OK, OK, OK, OK, OK, OK]),
    ("GET", "/calendar/feed/not-a-real-token.ics", [NOT_FOUND] * 6),
    ("GET", "/sessions/new/", [LOGIN, NOT_FOUND, NOT_FOUND, OK, OK, NOT_FOUND]),
    ("GET", "/dashboard/", [LOGIN, OK, OK, OK, OK, OK]),
    ("GET", "/notifications/", [LOGIN, OK, OK, OK, OK, OK]),
    ("GET", "/admin/mentoring/session/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/feedback/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
    ("GET", "/admin/mentoring/report/", [LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK]),
]
PERSONAS = ["anonymous", "learner_a", "learner_b", "mentor_x", "mentor_y", "staff"]


@pytest.mark.parametrize(("method", "template", "expected"), MATRIX, ids=[f"{m} {t}" for m, t, _ in MATRIX])
def test_permission_matrix(world, method, template, expected):
    url = template.format(
        session=world["session"].pk, room=world["session"].room_id, missing_room=uuid.uuid4(), finished=world["finished"].pk,
        booking=world["booking"].pk, entry=world["entry"].pk, feed_a=world["feed_a"].token,
    )
    got = []
    for persona in PERSONAS:
        client = Client()
        if world[persona] is not None:
            client.force_login(world[persona])
        got.append(answer(client, method, url))
    assert dict(zip(PERSONAS, got, strict=True)) == dict(zip(PERSONAS, expected, strict=True))


def test_not_yours_reads_exactly_like_missing(world):
    client = Client()
    client.force_login(world["mentor_y"])
    other = client.get(f"/sessions/{world['session'].pk}/edit/")
    missing = client.get("/sessions/999999/edit/")
    assert other.status_code == missing.status_code == 404

    def body(response) -> str:  # the CSRF token is masked differently on every response
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.text)

    assert body(other) == body(missing)
