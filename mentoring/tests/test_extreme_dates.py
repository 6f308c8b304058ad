"""One person's dates never break another person's page (issue 13, "Trust").

Sessions stored at the very ends of what Python and PostgreSQL can hold (year 9999, year 1) are
rendered on every page that lists or shows sessions, for viewers in the two most extreme time zones
(UTC+14 and UTC-12), where converting those instants to local time overflows. And the form and the
service refuse such dates at the door, storing nothing.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conftest import make_user
from mentoring.models import Notification, Session
from mentoring.services import MentoringError
from mentoring.services.profiles import calendar_feed_get
from mentoring.services.sessions import SESSION_MAX_AHEAD_DAYS, session_create, session_update
from mentoring.tests.factories import make_booking, make_session, past_session
from portal.accounts.models import User

pytestmark = pytest.mark.django_db

ZONES = ["Pacific/Kiritimati", "Etc/GMT+12"]  # UTC+14 and UTC-12 (POSIX signs are inverted)
LAST = datetime.max.replace(tzinfo=UTC)

# (label, start, duration in minutes, end): what the ORM can hold; the end is capped at datetime.max.
EXTREMES = [
    ("9999-12-31 20:00 +60", datetime(9999, 12, 31, 20, 0, tzinfo=UTC), 60, datetime(9999, 12, 31, 21, 0, tzinfo=UTC)),
    ("9999-12-31 23:00 +240", datetime(9999, 12, 31, 23, 0, tzinfo=UTC), 240, LAST),
    ("9999-12-31 23:59:59.999998 +15", LAST - timedelta(microseconds=1), 15, LAST),
    ("0001-01-01 01:00 +240", datetime(1, 1, 1, 1, 0, tzinfo=UTC), 240, datetime(1, 1, 1, 5, 0, tzinfo=UTC)),
]


def _store_extremes(mentors: list[User], learner: User) -> list[Session]:
    sessions = []
    for n, (label, start, duration, end) in enumerate(EXTREMES):
        session = Session.objects.create(
            mentor=mentors[n % len(mentors)],
            title=f"Extreme {label}",
            description="Stored directly.",
            starts_at=start,
            duration_minutes=duration,
            ends_at=end,
            capacity=3,
            status=Session.Status.SCHEDULED if start.year > 1 else Session.Status.COMPLETED,
        )
        make_booking(session, learner)
        sessions.append(session)
    return sessions


def _set_zone(user: User, zone: str) -> None:
    # Etc/GMT+12 is not offered in the sign-up list, but a stored zone is what pages must survive.
    User.objects.filter(pk=user.pk).update(time_zone=zone)


def test_extreme_stored_dates_never_break_a_page(learner, mentor, other_learner):
    # Two mentors: the last instants of 9999 overlap, and one mentor's sessions cannot.
    second_mentor = make_user("max@example.com", "Max Mentor", "mentor")
    sessions = _store_extremes([mentor, second_mentor], learner)
    # An ordinary session and past bookings too, so recommendations use the learner's usual hours.
    ordinary = make_session(mentor, starts_in=timedelta(days=3), title="Ordinary", capacity=3)
    for n in range(3):
        make_booking(past_session(mentor, ended_ago=timedelta(days=n + 1), title=f"Past {n}"), learner)
    for session in sessions:
        Notification.objects.create(
            user=learner, kind="session_changed", text=f"“{session.title}” changed.", link=f"/sessions/{session.pk}/"
        )
    learner_feed = calendar_feed_get(user=learner)
    mentor_feed = calendar_feed_get(user=mentor)

    as_learner, as_mentor, anonymous = (Client(raise_request_exception=False) for _ in range(3))
    as_learner.force_login(learner)
    as_mentor.force_login(mentor)
    pages = [
        (as_learner, "/dashboard/"),
        (as_mentor, "/dashboard/"),
        (as_learner, "/api/recommendations/?kind=sessions"),
        (as_learner, "/api/recommendations/?kind=mentors"),
        (as_learner, "/sessions/"),
        (as_learner, "/sessions/?q=Extreme"),
        (anonymous, "/sessions/?q=Extreme"),
        (as_learner, f"/mentors/{mentor.pk}/"),
        (anonymous, f"/mentors/{second_mentor.pk}/"),
        (as_learner, "/mentors/"),
        (as_learner, "/calendar/"),
        (anonymous, f"/calendar/feed/{learner_feed.token}.ics"),
        (anonymous, f"/calendar/feed/{mentor_feed.token}.ics"),
        (as_learner, "/notifications/"),
        (as_learner, f"/sessions/{ordinary.pk}/"),
    ]
    for session in sessions:
        pages += [
            (as_learner, f"/sessions/{session.pk}/"),
            (anonymous, f"/sessions/{session.pk}/"),
            (as_mentor, f"/sessions/{session.pk}/"),
            (as_learner, f"/sessions/{session.pk}/calendar.ics"),
            (as_learner, f"/sessions/{session.room_id}/room/"),
        ]
        if session.mentor_id == mentor.pk:
            pages.append((as_mentor, f"/sessions/{session.room_id}/room/"))
            if session.status == Session.Status.SCHEDULED:
                pages.append((as_mentor, f"/sessions/{session.pk}/edit/"))

    failures = []  # every page answers 200, for every viewer's zone
    for zone in ZONES:
        _set_zone(learner, zone)
        _set_zone(mentor, zone)
        for who, url in pages:
            status = who.get(url).status_code
            if status != 200:
                failures.append((zone, url, status))
    five_xx = sum(1 for *_, status in failures if status >= 500)

    # Cancelling an extreme session tells its learners (in UTC+14) when it was: no crash there either.
    _set_zone(other_learner, ZONES[0])
    make_booking(sessions[0], other_learner)
    assert as_mentor.post(f"/sessions/{sessions[0].pk}/cancel/", {"confirmed": "yes"}).status_code == 302
    assert Session.objects.get(pk=sessions[0].pk).status == Session.Status.CANCELLED
    told = Notification.objects.get(user=other_learner, kind="session_cancelled")
    assert "9999" in told.text and "(UTC)" in told.text  # shown in UTC, and says so
    other = Client(raise_request_exception=False)
    other.force_login(other_learner)
    assert other.get("/notifications/").status_code == 200

    (form_refused, form_total), (service_refused, service_total) = _form_and_service_refusals(mentor)
    print(
        f"\n[dates] {len(pages)} pages x {len(ZONES)} zones x {len(EXTREMES)} extreme values, 5xx {five_xx}; "
        f"form refusals {form_refused}/{form_total}; service refusals {service_refused}/{service_total}"
    )
    assert not failures, failures


def _form_and_service_refusals(mentor: User) -> tuple[tuple[int, int], tuple[int, int]]:
    """Every out-of-window start is refused by the form (a clear message, nothing stored) and by the
    service (a caller that skips the form)."""
    now = timezone.now()
    client = Client()
    client.force_login(mentor)
    existing = make_session(mentor, starts_in=timedelta(days=5), title="To move")
    before = Session.objects.count()
    refused = total = 0
    for zone in ZONES:
        _set_zone(mentor, zone)
        tz = zoneinfo.ZoneInfo(zone)
        local_now = timezone.localtime(now, tz)
        cases = [
            ("9999-12-31T20:00", 60, "2 years ahead"),
            ("9999-12-31T23:00", 240, "2 years ahead"),
            ("9999-12-31T23:59", 15, "2 years ahead"),
            ("0001-01-01T01:00", 240, "in the future"),
            ("0001-01-01T00:00", 15, "in the future"),
            ((local_now + timedelta(days=SESSION_MAX_AHEAD_DAYS + 2)).strftime("%Y-%m-%dT%H:%M"), 60, "2 years ahead"),
            ((local_now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), 60, "in the future"),
        ]
        for raw, duration, message in cases:
            for url in ("/sessions/new/", f"/sessions/{existing.pk}/edit/"):
                total += 1
                response = client.post(
                    url, {"title": "Far away", "starts_at": raw, "duration_minutes": duration, "capacity": 1}
                )
                form = response.context["form"] if response.status_code == 200 else None
                errors = " ".join(form.errors.get("starts_at", [])) if form is not None else ""
                if response.status_code == 200 and message in errors:
                    refused += 1
                else:
                    print("not refused:", zone, url, raw, response.status_code, errors)
    assert Session.objects.count() == before
    existing.refresh_from_db()
    assert existing.title == "To move"
    assert refused == total
    form_figure = (refused, total)

    refused = total = 0
    service_cases = [(start, duration) for _, start, duration, _ in EXTREMES] + [
        (now + timedelta(days=SESSION_MAX_AHEAD_DAYS + 1), 60),
        (now - timedelta(minutes=1), 60),
    ]
    for start, duration in service_cases:
        for service, extra in (
            (session_create, {}),
            (session_update, {"session_id": existing.pk, "description": "", "skills": []}),
        ):
            total += 1
            with pytest.raises(MentoringError) as refusal:
                service(
                    mentor=mentor, title="Far away", starts_at=start, duration_minutes=duration, capacity=1, **extra
                )
            assert refusal.value.code in {"past", "too_far"}, refusal.value.code
            refused += 1
    assert Session.objects.count() == before
    existing.refresh_from_db()
    assert existing.title == "To move"
    assert refused == total
    return form_figure, (refused, total)


def test_the_window_is_announced_and_its_edges_are_accepted(client, mentor):
    client.force_login(mentor)
    page = client.get("/sessions/new/").text
    assert "2 years ahead" in page
    session = session_create(
        mentor=mentor,
        title="Far but fine",
        starts_at=timezone.now() + timedelta(days=SESSION_MAX_AHEAD_DAYS - 1),
        duration_minutes=240,
        capacity=1,
    )
    assert session.pk
