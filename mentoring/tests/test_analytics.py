from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import make_user
from mentoring.analytics import ATTENDANCE_NOTE, CSV_HEADER, analytics_overview, bar_chart, week_start
from mentoring.models import Booking, CallAttendance, Feedback, Session, Skill
from mentoring.services.bookings import booking_create
from mentoring.services.sessions import session_create
from mentoring.tests.factories import past_session

ANALYTICS_URL = "/admin/analytics/"
CSV_URL = "/admin/analytics/analytics.csv"
SCRIPT = "<script>alert(1)</script>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG = "<img src=x onerror=alert(1)>"
IMG_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


# --------------------------------------------------------------------------- helpers
def past_booking(session, learner) -> Booking:
    booking = Booking.objects.create(session=session, learner=learner)
    Session.objects.filter(pk=session.pk).update(booked_count=F("booked_count") + 1)
    return booking


def soon_in_this_week(now: datetime) -> datetime:
    """A future start that still falls in the current (Monday, UTC) week."""
    week_end = week_start(now) + timedelta(weeks=1)
    if week_end - now < timedelta(minutes=2):
        pytest.skip("too close to the end of the week for a future session in it")
    return now + min(timedelta(hours=1), (week_end - now) / 2)


def figure(html: str, name: str) -> str:
    marker = f'data-figure="{name}"'
    start = html.index(">", html.index(marker)) + 1
    return html[start : html.index("</dd>", start)].strip()


# --------------------------------------------------------------------------- the chart and its template
def bar_chart_svg(*args, **kwargs) -> str:
    """The chart as the analytics page draws it."""
    return render_to_string("mentoring/charts/bar_chart.html", {"chart": bar_chart(*args, **kwargs)}).strip()


def test_bar_chart_is_accessible_svg_with_escaped_labels():
    svg = bar_chart_svg([IMG, "Plain"], [3, 1.5], title='Top "skills" <b>')
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'role="img"' in svg
    assert 'aria-label="Top &quot;skills&quot; &lt;b&gt;"' in svg
    assert "<title>Top &quot;skills&quot; &lt;b&gt;</title>" in svg
    assert IMG not in svg and IMG_ESCAPED in svg and "<b>" not in svg
    assert svg.count("<rect") == 2 and ">3<" in svg and ">1.5<" in svg
    # the largest value gets the full bar width (520 - 160 - 60); the half value, half of it
    assert 'width="300"' in svg and 'width="150"' in svg


def test_bar_chart_handles_empty_zero_and_missing_values():
    empty = bar_chart_svg([], [], title="Nothing")
    assert "No data yet" in empty and 'role="img"' in empty and "<rect" not in empty
    zeros = bar_chart_svg(["a", "b"], [0, None], title="Zeros", value_suffix="%")
    assert 'width="0"' in zeros and ">0%<" in zeros and ">—<" in zeros
    with pytest.raises(ValueError):
        bar_chart_svg(["a"], [1, 2], title="Mismatch")


def test_long_labels_are_shortened_in_the_bar_but_kept_whole_in_the_row_title():
    label = "A very long skill name that does not fit"
    svg = bar_chart_svg([label], [1], title="Skills")
    assert f"<title>{label}: 1</title>" in svg
    assert ">A very long skill n…<" in svg


# --------------------------------------------------------------------------- the figures
@pytest.mark.django_db
def test_overview_buckets_by_monday_utc_weeks_and_leaves_out_cancelled_hidden_and_old(
    mentor, learner, other_learner, outsider
):
    now = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)  # a Wednesday; the window is 23 Dec 2024 – 16 Mar 2025
    second = make_user("sam@example.com", "Sam Second", "mentor")
    python = Skill.objects.create(name="Python", slug="python")
    django_skill = Skill.objects.create(name="Django", slug="django")
    rust = Skill.objects.create(name="Rust", slug="rust")

    a = past_session(mentor, starts_at=datetime(2025, 3, 3, 9, tzinfo=UTC), capacity=4, skills=[python])
    past_booking(a, learner)
    past_booking(a, other_learner)
    Feedback.objects.create(session=a, learner=learner, rating=4)
    Feedback.objects.create(session=a, learner=other_learner, rating=1, hidden=True)
    b = past_session(mentor, starts_at=datetime(2025, 3, 9, 23, 30, tzinfo=UTC), capacity=2, skills=[django_skill])
    past_booking(b, learner)
    Feedback.objects.create(session=b, learner=learner, rating=2)
    past_session(mentor, starts_at=datetime(2025, 3, 10, 0, 0, tzinfo=UTC), capacity=1)  # current week, no bookings
    cancelled = past_session(
        second,
        starts_at=datetime(2025, 3, 4, 9, tzinfo=UTC),
        capacity=3,
        status=Session.Status.CANCELLED,
        skills=[rust],
    )
    past_booking(cancelled, outsider)
    first_week = past_session(second, starts_at=datetime(2024, 12, 23, 0, 0, tzinfo=UTC), capacity=2, skills=[python])
    past_booking(first_week, outsider)
    too_old = past_session(second, starts_at=datetime(2024, 12, 22, 23, 59, tzinfo=UTC), capacity=2, skills=[rust])
    past_booking(too_old, learner)

    with CaptureQueriesContext(connection) as queries:
        overview = analytics_overview(now=now)
    assert len(queries) == 9  # seven for the weeks and tops, two for late cancellations per mentor

    assert [w.week_start for w in overview.weeks][0] == date(2024, 12, 23)
    assert [w.week_start for w in overview.weeks][-1] == date(2025, 3, 10)
    assert len(overview.weeks) == 12 and all(w.week_start.weekday() == 0 for w in overview.weeks)
    by_week = {w.week_start: w for w in overview.weeks}

    w1 = by_week[date(2024, 12, 23)]
    assert (w1.sessions, w1.bookings, w1.capacity, w1.booked_seats, w1.fill_rate, w1.average_rating) == (
        1,
        1,
        2,
        1,
        0.5,
        None,
    )
    w11 = by_week[date(2025, 3, 3)]
    assert (w11.sessions, w11.bookings, w11.capacity, w11.booked_seats, w11.fill_rate) == (2, 3, 6, 3, 0.5)
    assert w11.average_rating == 3.0 and w11.rating_count == 2
    w12 = by_week[date(2025, 3, 10)]
    assert (w12.sessions, w12.bookings, w12.capacity, w12.booked_seats, w12.fill_rate) == (1, 0, 1, 0, 0.0)
    empty = by_week[date(2025, 1, 6)]
    assert (empty.sessions, empty.bookings, empty.fill_rate, empty.average_rating) == (0, 0, None, None)

    assert (overview.sessions, overview.bookings, overview.capacity, overview.booked_seats) == (4, 4, 9, 4)
    assert overview.fill_rate == pytest.approx(4 / 9)
    assert overview.average_rating == 3.0 and overview.rating_count == 2
    assert [(s.name, s.bookings) for s in overview.top_skills] == [("Python", 3), ("Django", 1)]
    assert [(m.name, m.sessions, m.bookings) for m in overview.busiest_mentors] == [
        ("Maya Mentor", 3, 3),
        ("Sam Second", 1, 1),
    ]
    assert [s.pk for s in overview.most_booked_sessions] == [a.pk, first_week.pk, b.pk]
    assert overview.attendance == "0.0% (0 of 4 booked learners joined)"  # nobody joined a call yet


@pytest.mark.django_db
def test_top_lists_stop_at_eight(mentor, learner):
    monday = week_start(timezone.now()) - timedelta(weeks=1)
    for index in range(10):
        skill = Skill.objects.create(name=f"Skill {index:02d}", slug=f"skill-{index}")
        session = past_session(mentor, starts_at=monday + timedelta(hours=2 * index), skills=[skill])
        past_booking(session, learner)
    overview = analytics_overview()
    assert len(overview.top_skills) == 8 and len(overview.most_booked_sessions) == 8
    assert [s.name for s in overview.top_skills] == [f"Skill {index:02d}" for index in range(8)]


# --------------------------------------------------------------------------- the page
@pytest.fixture
def known_dataset(mentor, learner, other_learner, outsider):
    """Last week: one completed session (3 seats, 2 booked, one visible 5-star rating, one hidden 4)
    and one cancelled session; this week: one upcoming session (2 seats, 1 booked)."""
    now = timezone.now()
    last_monday = week_start(now) - timedelta(weeks=1)
    python = Skill.objects.create(name="Python", slug="python")
    done = past_session(mentor, starts_at=last_monday + timedelta(hours=10), capacity=3, title="Done", skills=[python])
    past_booking(done, learner)
    past_booking(done, other_learner)
    Feedback.objects.create(session=done, learner=learner, rating=5)
    Feedback.objects.create(session=done, learner=other_learner, rating=4, hidden=True)
    dropped = past_session(
        mentor,
        starts_at=last_monday + timedelta(hours=14),
        capacity=4,
        status=Session.Status.CANCELLED,
        title="Dropped",
    )
    past_booking(dropped, outsider)
    upcoming = session_create(
        mentor=mentor,
        title="Upcoming",
        skills=[python],
        starts_at=soon_in_this_week(now),
        duration_minutes=30,
        capacity=2,
    )
    booking_create(session_id=upcoming.pk, learner=learner)
    CallAttendance.objects.create(
        session=done, user=learner, peer_id="p1", joined_at=done.starts_at, left_at=done.ends_at
    )
    return {"last_monday": last_monday.date(), "this_monday": week_start(now).date()}


@pytest.mark.django_db
def test_staff_see_the_analytics_page_with_the_right_figures(client, admin_user, known_dataset):
    client.force_login(admin_user)
    response = client.get(ANALYTICS_URL)
    assert response.status_code == 200
    html = response.text
    assert "<svg" in html and 'role="img"' in html and "<title>Sessions per week</title>" in html
    assert figure(html, "sessions") == "2"
    assert figure(html, "bookings") == "3"
    assert figure(html, "seats") == "3 of 5"
    assert figure(html, "fill-rate") == "60.0%"
    assert figure(html, "average-rating").startswith("5.00 / 5") and "(1 rating)" in figure(html, "average-rating")
    assert figure(html, "attendance").endswith("booked learners joined)")
    assert "Python" in html and "Maya Mentor" in html and "Dropped" not in html
    assert 'href="/admin/analytics/analytics.csv?from=' in html  # the export of the range shown
    assert response.headers["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_csv_has_a_header_and_one_row_per_week(client, admin_user, known_dataset):
    client.force_login(admin_user)
    response = client.get(CSV_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="peerlearn-analytics-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert (
        rows[0]
        == CSV_HEADER
        == [
            "week_start",
            "sessions",
            "bookings",
            "capacity",
            "booked_seats",
            "fill_rate",
            "average_rating",
            "finished_bookings",
            "joined",
            "attendance_rate",
        ]
    )
    assert len(rows) == 13
    by_week = {row[0]: row for row in rows[1:]}
    # Last week's finished session: 2 booked learners, 1 of whom joined the call.
    assert by_week[known_dataset["last_monday"].isoformat()] == [
        known_dataset["last_monday"].isoformat(),
        "1",
        "2",
        "3",
        "2",
        "0.667",
        "5.00",
        "2",
        "1",
        "0.500",
    ]
    # This week's session has not happened: no attendance to speak of yet.
    assert by_week[known_dataset["this_monday"].isoformat()] == [
        known_dataset["this_monday"].isoformat(),
        "1",
        "1",
        "2",
        "1",
        "0.500",
        "",
        "0",
        "0",
        "",
    ]
    assert rows[-1][0] == known_dataset["this_monday"].isoformat()
    busy = {known_dataset["last_monday"].isoformat(), known_dataset["this_monday"].isoformat()}
    quiet = [row for row in rows[1:] if row[0] not in busy]
    assert len(quiet) == 10 and all(row[1:] == ["0", "0", "0", "0", "", "", "0", "0", ""] for row in quiet)


@pytest.mark.django_db
@pytest.mark.parametrize("url", [ANALYTICS_URL, CSV_URL])
def test_anonymous_visitors_are_sent_to_the_admin_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/admin/login/?next={url}")


@pytest.mark.django_db
@pytest.mark.parametrize("url", [ANALYTICS_URL, CSV_URL])
@pytest.mark.parametrize("persona", ["learner", "mentor", "editor"])
def test_non_staff_are_sent_to_the_admin_login(client, request, persona, url):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert b"week_start" not in response.content


@pytest.mark.django_db
def test_user_text_is_escaped_on_the_analytics_page_and_in_the_admin(client, admin_user, learner):
    villain = make_user("mallory@example.com", "<svg onload=alert(2)>", "mentor")
    skill = Skill.objects.create(name=IMG, slug="img")
    session = past_session(
        villain, starts_at=week_start(timezone.now()) - timedelta(days=5), title=SCRIPT, capacity=2, skills=[skill]
    )
    past_booking(session, learner)
    client.force_login(admin_user)

    page = client.get(ANALYTICS_URL).text
    assert SCRIPT not in page and IMG not in page and "<svg onload" not in page
    assert SCRIPT_ESCAPED in page and IMG_ESCAPED in page and "&lt;svg onload=alert(2)&gt;" in page

    sessions_admin = client.get("/admin/mentoring/session/").text
    assert SCRIPT not in sessions_admin and IMG not in sessions_admin
    assert SCRIPT_ESCAPED in sessions_admin and IMG_ESCAPED in sessions_admin

    skills_admin = client.get("/admin/mentoring/skill/").text
    assert IMG not in skills_admin and IMG_ESCAPED in skills_admin

    change = client.get(f"/admin/mentoring/session/{session.pk}/change/").text
    assert SCRIPT not in change and SCRIPT_ESCAPED in change


def _analytics_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ANALYTICS_URL)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_analytics_page_queries_do_not_grow_with_the_data(client, admin_user, mentor, learner, other_learner):
    mentors = [mentor] + [make_user(f"m{i}@example.com", f"Mentor {i}", "mentor") for i in range(4)]
    skills = [Skill.objects.create(name=f"Skill {i}", slug=f"skill-{i}") for i in range(5)]
    first_monday = week_start(timezone.now()) - timedelta(weeks=11)

    def add_sessions(start: int, stop: int) -> None:
        for i in range(start, stop):
            session = past_session(
                mentors[i % len(mentors)],
                starts_at=first_monday + timedelta(days=2 * i, hours=i % 5),
                capacity=3,
                title=f"Session {i}",
                skills=skills[: 1 + i % len(skills)],
            )
            past_booking(session, learner)
            if i % 2:
                past_booking(session, other_learner)
                Feedback.objects.create(session=session, learner=other_learner, rating=1 + i % 5, hidden=i % 3 == 0)

    client.force_login(admin_user)
    client.get(ANALYTICS_URL)  # warm up: content types, the login session
    add_sessions(0, 3)
    small = _analytics_queries(client)
    add_sessions(3, 30)
    large = _analytics_queries(client)
    assert Session.objects.count() == 30
    assert large == small
    assert small <= 12


@pytest.mark.django_db
def test_attendance_counts_booked_learners_who_joined_the_call(mentor, learner, other_learner):
    from datetime import timedelta

    from django.utils import timezone

    from mentoring.analytics import attendance_summary
    from mentoring.models import CallAttendance
    from mentoring.tests.factories import make_booking, past_session

    assert attendance_summary(start=timezone.now() - timedelta(days=7), end=timezone.now()) == ATTENDANCE_NOTE
    session = past_session(mentor)
    make_booking(session, learner)
    make_booking(session, other_learner)
    CallAttendance.objects.create(session=session, user=learner, peer_id="a" * 16, joined_at=session.starts_at)
    CallAttendance.objects.create(session=session, user=mentor, peer_id="b" * 16, joined_at=session.starts_at)
    summary = attendance_summary(start=timezone.now() - timedelta(days=7), end=timezone.now())
    assert summary == "50.0% (1 of 2 booked learners joined)"


# --------------------------------------------------------------------------- a chosen range
@pytest.mark.django_db
def test_a_chosen_range_shows_and_exports_those_weeks_only(client, admin_user, known_dataset):
    client.force_login(admin_user)
    last_monday = known_dataset["last_monday"]
    last_sunday = last_monday + timedelta(days=6)
    # Last week alone: its completed session, not this week's upcoming one. Any day of a week picks it whole.
    chosen = {"from": (last_monday + timedelta(days=2)).isoformat(), "to": last_sunday.isoformat()}
    response = client.get(ANALYTICS_URL, chosen)
    assert response.status_code == 200
    assert figure(response.text, "sessions") == "1" and figure(response.text, "bookings") == "2"
    assert (
        f'value="{last_monday.isoformat()}"' in response.text and f'value="{last_sunday.isoformat()}"' in response.text
    )
    assert f"analytics.csv?from={last_monday.isoformat()}&amp;to={last_sunday.isoformat()}" in response.text
    export = client.get(CSV_URL, chosen)
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert [row[0] for row in rows[1:]] == [last_monday.isoformat()]
    assert rows[1][1:3] == ["1", "2"]
    assert last_sunday.isoformat() in export["Content-Disposition"]
    # Two weeks ago to this week: three rows, the empty week included.
    wider = {"from": (last_monday - timedelta(weeks=1)).isoformat(), "to": known_dataset["this_monday"].isoformat()}
    assert len(list(csv.reader(io.StringIO(client.get(CSV_URL, wider).content.decode())))) == 1 + 3


HOSTILE_RANGES = [
    ({"from": "yesterday", "to": "2026-01-01"}, "YYYY-MM-DD"),
    ({"from": "2026-02-30", "to": "2026-03-01"}, "not on the calendar"),
    ({"from": "2026-03-01", "to": "2026-02-01"}, "must not be after"),
    ({"from": "2026-01-01"}, "both dates"),
    ({"from": "1000-01-01", "to": "2026-01-01"}, "between 2000 and 2100"),
    ({"from": "9999-12-31", "to": "9999-12-31"}, "between 2000 and 2100"),
    ({"from": "2020-01-01", "to": "2026-01-01"}, "at most 53 weeks"),
    ({"from": "x" * 10_000, "to": "2026-01-01"}, "YYYY-MM-DD"),
    ({"from": "2026-01-01\n", "to": "2026-01-02"}, "YYYY-MM-DD"),
    ({"from": "２０２６-01-01", "to": "2026-01-02"}, "YYYY-MM-DD"),  # full-width digits
    ({"from": "<script>alert(1)</script>", "to": "2026-01-02"}, "YYYY-MM-DD"),
]


@pytest.mark.django_db
def test_hostile_ranges_get_a_clear_error_never_a_500(client, admin_user):
    client.force_login(admin_user)
    for params, words in HOSTILE_RANGES:
        page = client.get(ANALYTICS_URL, params)
        assert page.status_code == 400 and words in page.text, params
        assert "<script>alert(1)" not in page.text
        assert "Showing the last 12 weeks instead" in page.text and "<svg" in page.text
        export = client.get(CSV_URL, params)
        assert export.status_code == 400 and words in export.text, params
    assert client.get(ANALYTICS_URL, QUERY_STRING="from=2026-01-01%00&to=2026-01-02").status_code == 400
    print(f"[analytics] hostile ranges: {len(HOSTILE_RANGES) * 2 + 1}, 5xx 0")


@pytest.mark.django_db
def test_staff_reach_the_analytics_from_both_admins(client, admin_user, editor):
    client.force_login(admin_user)
    assert 'href="/admin/analytics/"' in client.get("/admin/").text
    assert "/admin/analytics/" in client.get("/cms/").text
    client.force_login(editor)  # an editor who is not staff: no link to a page that would refuse them
    assert "/admin/analytics/" not in client.get("/cms/").text
