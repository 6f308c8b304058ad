"""How pages show dates (issue 14, "from the same walk-through"): the year when it is not this year,
signed-out visitors' times marked for the browser's zone, signed-in people's in their profile zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import timezone

from mentoring.models import Session
from portal.dates import format_with_year

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("D j M, H:i", "D j M Y, H:i"),
        ("j M", "j M Y"),
        ("M", "M Y"),
        ("j M, H:i", "j M Y, H:i"),
        ("D j M Y", "D j M Y"),  # has a year already
        ("H:i T", "H:i T"),  # no month
        ("c", "c"),
        (r"\M j", r"\M j"),  # an escaped M is a letter, not the month
        ("N j", "N Y j"),
    ],
)
def test_the_year_joins_the_month_when_not_this_year(fmt, expected):
    assert format_with_year(fmt, datetime(2099, 1, 1, tzinfo=UTC), NOW) == expected
    assert format_with_year(fmt, datetime(2026, 12, 31, tzinfo=UTC), NOW) == fmt


def _render(source: str, **context) -> str:
    return Template("{% load safe_dates %}" + source).render(Context(context))


@pytest.fixture(autouse=True)
def _utc_unless_overridden():
    # A request in an earlier test can leave its viewer's zone active in this thread.
    with timezone.override("UTC"):
        yield


def test_safe_date_shows_the_year_only_for_other_years():
    now = timezone.now()
    this_year = now.replace(month=6, day=15, hour=10, minute=0)
    assert _render('{{ d|safe_date:"D j M, H:i" }}', d=this_year) == f"{this_year:%a} 15 Jun, 10:00"
    far = datetime(2099, 1, 1, 10, 0, tzinfo=UTC)
    assert _render('{{ d|safe_date:"D j M, H:i" }}', d=far) == "Thu 1 Jan 2099, 10:00"
    assert _render('{{ d|safe_date:"j M" }}', d=far) == "1 Jan 2099"


def test_the_year_is_judged_in_the_viewers_zone():
    # 31 Dec 23:30 UTC of this year is already next year in Berlin.
    new_year = timezone.now().replace(month=12, day=31, hour=23, minute=30, second=0, microsecond=0, tzinfo=UTC)
    with timezone.override("Europe/Berlin"):
        text = _render('{{ d|safe_date:"j M" }}', d=new_year)
    if timezone.localtime(timezone.now(), UTC).year == new_year.year:
        assert text == f"1 Jan {new_year.year + 1}"


@pytest.mark.parametrize(
    "value",
    [
        datetime(9999, 12, 31, 23, 0, tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
        datetime(1, 1, 1, 1, 0, tzinfo=UTC),
        datetime.min.replace(tzinfo=UTC),
    ],
)
@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12", "UTC"])
def test_extreme_dates_render_with_their_year_in_every_zone(value, zone):
    with timezone.override(zone):
        text = _render('{{ d|safe_date:"D j M, H:i T" }}', d=value)
        tag = _render('{% local_time d "D j M, H:i T" %}', d=value)
    assert str(value.year) in text
    assert f'datetime="{value.isoformat()}"' in tag and str(value.year) in tag


def test_local_time_marks_times_for_the_browser_only_when_signed_out(learner):
    value = datetime(2099, 1, 1, 10, 0, tzinfo=UTC)
    signed_out = _render('{% local_time d "D j M, H:i" %}', d=value)
    assert signed_out == (
        '<time datetime="2099-01-01T10:00:00+00:00" data-local-format="D j M, H:i">Thu 1 Jan 2099, 10:00</time>'
    )
    with timezone.override("Asia/Kolkata"):
        signed_in = _render('{% local_time d "D j M, H:i" %}', d=value, user=learner)
    assert signed_in == '<time datetime="2099-01-01T10:00:00+00:00">Thu 1 Jan 2099, 15:30</time>'
    assert _render('{% local_time d "H:i" %}', d=None) == ""


def _far_session(mentor, **extra) -> Session:
    starts_at = datetime(2099, 1, 1, 10, 0, tzinfo=UTC)
    return Session.objects.create(
        mentor=mentor,
        title="Far away",
        starts_at=starts_at,
        duration_minutes=60,
        ends_at=starts_at + timedelta(minutes=60),
        capacity=2,
        **extra,
    )


def test_signed_out_pages_carry_iso_times_and_say_the_zone(mentor):
    session = _far_session(mentor)
    client = Client()
    detail = client.get(f"/sessions/{session.pk}/").content.decode()
    assert '<time datetime="2099-01-01T10:00:00+00:00" data-local-format="D j M">Thu 1 Jan 2099</time>' in detail
    assert 'data-local-format="H:i T">11:00 UTC</time>' in detail
    assert "data-times-note" in detail and "Times are in UTC." in detail
    assert "js/local-times.js" in detail
    listing = client.get("/sessions/").content.decode()
    assert 'data-local-format="M">Jan 2099</time>' in listing and "data-times-note" in listing


def test_signed_in_pages_show_the_profile_zone_with_no_browser_rewrite(mentor, learner):
    session = _far_session(mentor)
    client = Client()
    client.force_login(learner)  # Asia/Kolkata
    detail = client.get(f"/sessions/{session.pk}/").content.decode()
    assert '<time datetime="2099-01-01T10:00:00+00:00">Thu 1 Jan 2099</time>' in detail
    assert "16:30 IST</time>" in detail
    assert "data-local-format" not in detail and "data-times-note" not in detail
    assert "js/local-times.js" not in detail


def test_a_cancelled_session_offers_no_calendar_entry(mentor, learner):
    from mentoring.services.bookings import booking_create
    from mentoring.services.sessions import session_cancel
    from mentoring.tests.factories import make_session

    session = make_session(mentor, capacity=2)
    booking_create(session_id=session.pk, learner=learner)
    viewers = {"signed out": Client(), "learner": Client(), "mentor": Client()}
    viewers["learner"].force_login(learner)
    viewers["mentor"].force_login(mentor)
    for who, client in viewers.items():
        assert "Add to calendar" in client.get(f"/sessions/{session.pk}/").content.decode(), who
    session_cancel(session_id=session.pk, actor=mentor)
    offered = []
    for who, client in viewers.items():
        for url in (f"/sessions/{session.pk}/", "/dashboard/", "/sessions/"):
            if who == "signed out" and url == "/dashboard/":
                continue
            body = client.get(url).content.decode()
            if "Add to calendar" in body or f"/sessions/{session.pk}/calendar.ics" in body:
                offered.append((who, url))
    print(f"cancelled session pages checked, calendar offered {len(offered)}")
    assert offered == []
    assert "Report a problem" in viewers["learner"].get(f"/sessions/{session.pk}/").content.decode()


def test_mentor_and_learner_dashboards_both_say_join(mentor, learner):
    from mentoring.services.bookings import booking_create
    from mentoring.tests.factories import make_session

    session = make_session(mentor, capacity=2, starts_in=timedelta(minutes=5))
    booking_create(session_id=session.pk, learner=learner)
    for user in (mentor, learner):
        client = Client()
        client.force_login(user)
        body = client.get("/dashboard/").content.decode()
        buttons = re.findall(r'class="btn[^"]*"[^>]*>(Join|Room)</', body)
        assert buttons == ["Join"], (user.email, buttons)
