"""Control characters in one-line fields, and calendar files that survive whatever is stored
(issue 13, "Trust").

Titles, names and headlines refuse line breaks and every other control character (and lone
surrogates) at the form and at the service; descriptions keep newlines and tabs but refuse the
rest. Values stored before (or by other means) never break a calendar file: every .ics line is a
valid, folded RFC 5545 content line.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from mentoring.forms import LearnerProfileForm, MentorProfileForm, SessionForm
from mentoring.models import Notification, Session
from mentoring.services import MentoringError
from mentoring.services.profiles import calendar_feed_get, learner_profile_update, mentor_profile_update
from mentoring.services.sessions import session_cancel, session_create, session_update
from mentoring.tests.factories import make_booking, make_session
from portal.accounts.forms import ProfileForm, SignupForm
from portal.accounts.models import User

pytestmark = pytest.mark.django_db

# Each is put in the middle of a value: Django trims whitespace (\n, \r) at the ends by itself.
CONTROLS = {"LF": "\n", "CR": "\r", "NUL": "\x00", "ESC": "\x1b", "DEL": "\x7f", "lone surrogate": "\ud800"}
MULTI_LINE_REFUSED = {name: char for name, char in CONTROLS.items() if char != "\n"}
ONE_LINE_MESSAGE = "Use one line of plain text"
MULTI_LINE_MESSAGE = "not invisible control characters"


def _sendable(value: str) -> bool:
    """Whether the value reaches the form through HTTP. A lone surrogate cannot travel in a request
    (it has no UTF-8 form), and a NUL is answered 400 before any view (``UnstorableInputMiddleware``):
    those are given to the form classes directly (and the NUL request is checked on its own)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _session_data(**overrides) -> dict:
    local = timezone.localtime(timezone.now() + timedelta(days=3))
    data = {
        "title": "Fine title",
        "description": "",
        "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": 60,
        "capacity": 1,
    }
    data.update(overrides)
    return data


def _signup_data(**overrides) -> dict:
    data = {
        "display_name": "Grace Hopper",
        "email": "grace@example.com",
        "password1": "compiler-cobol-1959",
        "password2": "compiler-cobol-1959",
        "role": "learner",
        "time_zone": "UTC",
    }
    data.update(overrides)
    return data


def _field_errors(response, form_key: str, field: str) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(response.context[form_key].errors.get(field, []))


def test_control_characters_are_refused_and_calendar_files_stay_valid(mentor, learner):
    refusals = _fields_refuse_control_characters(mentor, learner)
    feeds = _calendar_files_stay_valid_whatever_is_stored(mentor, learner)
    print(f"\n[one-line] {refusals}; feeds with stored controls: {feeds}")


def _fields_refuse_control_characters(mentor: User, learner: User) -> str:
    as_mentor, as_learner, anonymous = Client(), Client(), Client()
    as_mentor.force_login(mentor)
    as_learner.force_login(learner)
    existing = make_session(mentor, title="Untouched")
    sessions_before, users_before = Session.objects.count(), User.objects.count()
    headline_before = mentor.mentor_profile.headline

    def session_title_new(value):
        if _sendable(value):
            return _field_errors(as_mentor.post("/sessions/new/", _session_data(title=value)), "form", "title")
        return " ".join(SessionForm(_session_data(title=value)).errors.get("title", []))

    def session_title_edit(value):
        if _sendable(value):
            return _field_errors(
                as_mentor.post(f"/sessions/{existing.pk}/edit/", _session_data(title=value)), "form", "title"
            )
        return " ".join(SessionForm(_session_data(title=value)).errors.get("title", []))

    def signup_name(value):
        if _sendable(value):
            return _field_errors(
                anonymous.post("/accounts/signup/", _signup_data(display_name=value)), "form", "display_name"
            )
        return " ".join(SignupForm(_signup_data(display_name=value)).errors.get("display_name", []))

    def profile_name(value):
        data = {"display_name": value, "time_zone": "UTC"}
        if _sendable(value):
            return _field_errors(as_learner.post("/profile/", data), "form", "display_name")
        return " ".join(ProfileForm(data).errors.get("display_name", []))

    def mentor_headline(value):
        data = {"display_name": "Maya Mentor", "time_zone": "UTC", "role-headline": value, "role-years_experience": 3}
        if _sendable(value):
            return _field_errors(as_mentor.post("/profile/", data), "role_form", "headline")
        return " ".join(MentorProfileForm(data, prefix="role").errors.get("headline", []))

    def service_session_create(value):
        return _service_message(
            lambda: session_create(
                mentor=mentor,
                title=value,
                starts_at=timezone.now() + timedelta(days=4),
                duration_minutes=60,
                capacity=1,
            )
        )

    def service_session_update(value):
        return _service_message(
            lambda: session_update(
                session_id=existing.pk,
                mentor=mentor,
                title=value,
                description="",
                skills=[],
                starts_at=existing.starts_at,
                duration_minutes=60,
                capacity=1,
            )
        )

    def service_headline(value):
        return _service_message(
            lambda: mentor_profile_update(
                user=mentor,
                headline=value,
                bio="",
                skills=[],
                languages=[],
                years_experience=1,
                accepting_bookings=True,
            )
        )

    one_line_fields = {
        "session form title (new)": session_title_new,
        "session form title (edit)": session_title_edit,
        "sign-up name": signup_name,
        "profile name": profile_name,
        "mentor headline": mentor_headline,
        "session_create title": service_session_create,
        "session_update title": service_session_update,
        "mentor_profile_update headline": service_headline,
    }
    refused, misses = 0, []
    for field, submit in one_line_fields.items():
        for name, char in CONTROLS.items():
            message = submit(f"Bad{char}value")
            if ONE_LINE_MESSAGE in message:
                refused += 1
            else:
                misses.append((field, name, message))

    # Multi-line fields: newline and tab (and a browser's CRLF) are fine, the rest is refused.
    def session_description(value):
        if _sendable(value):
            return _field_errors(
                as_mentor.post("/sessions/new/", _session_data(description=value)), "form", "description"
            )
        return " ".join(SessionForm(_session_data(description=value)).errors.get("description", []))

    def learner_goals(value):
        return " ".join(LearnerProfileForm({"role-goals": value}, prefix="role").errors.get("goals", []))

    def service_description(value):
        return _service_message(
            lambda: session_create(
                mentor=mentor,
                title="Fine",
                description=value,
                starts_at=timezone.now() + timedelta(days=4),
                duration_minutes=60,
                capacity=1,
            )
        )

    def service_goals(value):
        return _service_message(lambda: learner_profile_update(user=learner, interests=[], goals=value))

    multi_line_fields = {
        "session form description": session_description,
        "learner goals form": learner_goals,
        "session_create description": service_description,
        "learner_profile_update goals": service_goals,
    }
    multi_refused = 0
    for field, submit in multi_line_fields.items():
        for name, char in MULTI_LINE_REFUSED.items():
            message = submit(f"Line one{char}line two")
            if MULTI_LINE_MESSAGE in message:
                multi_refused += 1
            else:
                misses.append((field, name, message))

    assert not misses, misses
    assert Session.objects.count() == sessions_before
    assert User.objects.count() == users_before
    existing.refresh_from_db()
    mentor.refresh_from_db()
    learner.refresh_from_db()
    assert existing.title == "Untouched"
    assert (mentor.display_name, learner.display_name) == ("Maya Mentor", "Alice Learner")
    assert mentor.mentor_profile.headline == headline_before

    # A NUL sent over HTTP is refused before the form (400) or by it (200): either way nothing is stored.
    for client, url, data in [
        (as_mentor, "/sessions/new/", _session_data(title="Bad\x00value")),
        (anonymous, "/accounts/signup/", _signup_data(display_name="Bad\x00value")),
        (as_learner, "/profile/", {"display_name": "Bad\x00value", "time_zone": "UTC"}),
    ]:
        assert client.post(url, data).status_code in {200, 400}
    assert (Session.objects.count(), User.objects.count()) == (sessions_before, users_before)
    assert User.objects.get(pk=learner.pk).display_name == "Alice Learner"

    # Descriptions keep their lines and tabs; a browser's CRLF is stored as LF.
    response = as_mentor.post(
        "/sessions/new/", _session_data(title="Agenda", description="1. Intro\r\n2.\tCode\n3. Q&A")
    )
    assert response.status_code == 302
    assert Session.objects.get(title="Agenda").description == "1. Intro\n2.\tCode\n3. Q&A"

    return (
        f"{len(CONTROLS)} values x {len(one_line_fields)} fields refused ({refused}/"
        f"{len(CONTROLS) * len(one_line_fields)}); multi-line {len(MULTI_LINE_REFUSED)} values x "
        f"{len(multi_line_fields)} fields refused ({multi_refused}), newline and tab kept"
    )


def _service_message(call) -> str:
    try:
        call()
    except MentoringError as error:
        return error.message
    return ""


# --------------------------------------------------------------------------- calendar files
# What PostgreSQL can hold (it refuses NUL, and a lone surrogate has no UTF-8 form): every other
# control character, plus the characters iCalendar TEXT must escape, and text long enough to fold.
STORED = [
    "Line\nbreak",
    "Bare\rreturn",
    "Windows\r\nline",
    "Esc\x1b[31mred",
    "Del\x7fete",
    "Vertical\x0btab",
    "Form\x0cfeed",
    "Unit\x1fseparator",
    "Tab\there",
    "Semi;colon, comma\\backslash",
    "Ünïcödé 🎉 " * 12,
    "\r\n\r\n",
    "BEGIN:VEVENT\r\nSUMMARY:injected",
]
CONTENT_LINE = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")  # RFC 5545: no control characters but HTAB


def _assert_valid_ics(body: bytes) -> Calendar:
    assert body.endswith(b"\r\n")
    lines = body[:-2].split(b"\r\n")
    for line in lines:
        assert len(line) <= 75, line  # folded at 75 octets
        assert CONTENT_LINE.fullmatch(line), line  # no bare CR or LF, no other controls
    body.decode("utf-8")  # whole characters: folding never splits one
    calendar = Calendar.from_ical(body)
    assert sum(1 for line in lines if line.startswith(b"BEGIN:VEVENT")) == len(calendar.walk("VEVENT"))
    return calendar


def _calendar_files_stay_valid_whatever_is_stored(mentor: User, learner: User) -> str:
    mentor.display_name = "Maya\r\nBcc: everyone\x1b"
    mentor.save(update_fields=["display_name"])
    start = timezone.now() + timedelta(days=10)  # clear of the sessions made above
    sessions = []
    for n, value in enumerate(STORED):
        starts_at = start + timedelta(hours=2 * n)
        session = Session.objects.create(  # directly: the services refuse these now
            mentor=mentor,
            title=value[:120],
            description=f"Agenda:\r{value}\n\x1b[0m",
            starts_at=starts_at,
            duration_minutes=60,
            ends_at=starts_at + timedelta(minutes=60),
            capacity=2,
        )
        make_booking(session, learner)
        sessions.append(session)

    client = Client(raise_request_exception=False)
    urls = [
        f"/calendar/feed/{calendar_feed_get(user=learner).token}.ics",
        f"/calendar/feed/{calendar_feed_get(user=mentor).token}.ics",
    ]
    urls += [f"/sessions/{session.pk}/calendar.ics" for session in sessions]
    valid = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response["Content-Type"].startswith("text/calendar")
        calendar = _assert_valid_ics(response.content)
        events = calendar.walk("VEVENT")
        expected = {urls[0]: len(sessions), urls[1]: Session.objects.filter(mentor=mentor).count()}.get(url, 1)
        assert len(events) == expected, url
        for event in events:
            assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", str(event["SUMMARY"]))  # one line, no controls
            assert "With Maya Bcc: everyone." in str(event["DESCRIPTION"])
        valid += 1

    # The one-session file is named after the session: escaped, one line.
    bare_cr = next(s for s in sessions if s.title == "Bare\rreturn")
    calendar = Calendar.from_ical(client.get(f"/sessions/{bare_cr.pk}/calendar.ics").content)
    assert str(calendar["X-WR-CALNAME"]) == "Bare return"
    semi = next(s for s in sessions if s.title.startswith("Semi;"))
    body = client.get(f"/sessions/{semi.pk}/calendar.ics").content
    assert b"X-WR-CALNAME:Semi\\;colon\\, comma\\\\backslash" in body
    injected = next(s for s in sessions if s.title.startswith("BEGIN:"))
    body = client.get(f"/sessions/{injected.pk}/calendar.ics").content
    assert body.split(b"\r\n").count(b"BEGIN:VEVENT") == 1  # the injected text stays inside its value

    # A typed reason with control characters is refused before anything changes; a multi-line one is
    # fine, and the learner is told in one line, whatever the stored title and name hold.
    with pytest.raises(MentoringError):
        session_cancel(session_id=sessions[0].pk, actor=mentor, reason="I am ill\x1b")
    assert Session.objects.get(pk=sessions[0].pk).status == Session.Status.SCHEDULED
    session_cancel(session_id=sessions[0].pk, actor=mentor, reason="I am ill\r\nBcc: all")
    told = Notification.objects.get(user=learner, kind="session_cancelled")
    assert not re.search(r"[\x00-\x1f\x7f]", told.text), told.text
    assert "“Line break” with Maya Bcc: everyone on" in told.text and "Reason: I am ill Bcc: all" in told.text
    return f"{valid}/{len(urls)} valid ({len(STORED)} stored values in titles, descriptions and a name)"
