"""Recurring group sessions (mentoring.services.series): dates at the same local time across DST
changes, the limits of a series, all-or-nothing creation, booking all dates, and changing or
cancelling "this and all future" dates."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from conftest import make_user
from mentoring.models import Booking, Notification, Session, SessionSeries
from mentoring.services import MentoringError
from mentoring.services.bookings import booking_create
from mentoring.services.series import (
    series_book,
    series_cancel_future,
    series_create,
    series_starts,
    series_update_future,
    series_when,
)
from mentoring.tests.factories import make_session, skill

pytestmark = pytest.mark.django_db

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def clock_changes(zone_name: str, count: int = 2) -> list[date]:
    """The next ``count`` days, at least three weeks ahead (a series can start before them), on which
    the zone's UTC offset at noon differs from the day before."""
    zone = zoneinfo.ZoneInfo(zone_name)
    offset = lambda day: datetime.combine(day, time(12), zone).utcoffset()  # noqa: E731
    day = timezone.localtime(timezone.now(), zone).date() + timedelta(days=21)
    changes = []
    while len(changes) < count:
        if offset(day) != offset(day - timedelta(days=1)):
            changes.append(day)
        day += timedelta(days=1)
    return changes


def local(zone_name: str, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), zoneinfo.ZoneInfo(zone_name))


def wall_clocks(sessions, zone_name: str) -> list[tuple[int, int]]:
    zone = zoneinfo.ZoneInfo(zone_name)
    return [(s.starts_at.astimezone(zone).hour, s.starts_at.astimezone(zone).minute) for s in sessions]


def berlin_mentor():
    return make_user("jonas@example.com", "Jonas Mentor", "mentor", BERLIN)


def create(mentor, *, starts_at, occurrences=6, until=None, frequency="weekly", capacity=3, **extra):
    fields = {"title": "Study group", "description": "Weekly.", "duration_minutes": 60, "capacity": capacity}
    fields.update(extra)
    return series_create(
        mentor=mentor,
        starts_at=starts_at,
        frequency=frequency,
        occurrences=None if until else occurrences,
        until=until,
        **fields,
    )


def dates_of(series) -> list[Session]:
    return list(series.occurrences.order_by("starts_at"))


# --------------------------------------------------------------------------- DST
@pytest.mark.parametrize("zone_name", [BERLIN, NEW_YORK])
@pytest.mark.parametrize("which", [0, 1], ids=["next change", "the one after"])
def test_every_date_keeps_the_local_time_across_a_clock_change(zone_name, which):
    mentor = make_user("zoe@example.com", "Zoe Mentor", "mentor", zone_name)
    change = clock_changes(zone_name)[which]
    first = local(zone_name, change - timedelta(days=17), 18)
    series = create(mentor, starts_at=first, occurrences=6)
    dates = dates_of(series)

    assert wall_clocks(dates, zone_name) == [(18, 0)] * 6  # 18:00 on the mentor's clock, summer and winter
    zone = zoneinfo.ZoneInfo(zone_name)
    local_days = [s.starts_at.astimezone(zone).date() for s in dates]
    assert [b - a for a, b in zip(local_days, local_days[1:], strict=False)] == [timedelta(days=7)] * 5
    offsets = {s.starts_at.astimezone(zone).utcoffset() for s in dates}
    assert len(offsets) == 2  # the series did span the change: its UTC instants moved by the hour
    assert all(s.series_id == series.pk and s.ends_at - s.starts_at == timedelta(minutes=60) for s in dates)


def test_a_time_the_clocks_skip_falls_an_hour_later_that_date_only():
    mentor = berlin_mentor()
    spring = next(day for day in clock_changes(BERLIN, 2) if day.month < 6)  # the night summer time starts
    series = create(mentor, starts_at=local(BERLIN, spring - timedelta(days=14), 2, 30), occurrences=4)
    assert wall_clocks(dates_of(series), BERLIN) == [(2, 30), (2, 30), (3, 30), (2, 30)]


# --------------------------------------------------------------------------- limits
def test_n_dates_or_every_date_until_an_end_date_inclusive():
    mentor = berlin_mentor()
    first = local(BERLIN, timezone.now().date() + timedelta(days=3), 17)
    by_count = create(mentor, starts_at=first, occurrences=4)
    until = (first + timedelta(weeks=5)).date()
    by_date = create(mentor, starts_at=first + timedelta(hours=2), until=until, title="Evening group")
    assert len(dates_of(by_count)) == 4
    assert len(dates_of(by_date)) == 6  # the end date itself is a date of the series
    assert dates_of(by_date)[-1].starts_at.astimezone(zoneinfo.ZoneInfo(BERLIN)).date() == until


def test_fortnightly_dates_are_two_weeks_apart():
    mentor = berlin_mentor()
    first = local(BERLIN, timezone.now().date() + timedelta(days=3), 9)
    dates = dates_of(create(mentor, starts_at=first, occurrences=5, frequency="fortnightly"))
    zone = zoneinfo.ZoneInfo(BERLIN)
    days = [s.starts_at.astimezone(zone).date() for s in dates]
    assert [(b - a).days for a, b in zip(days, days[1:], strict=False)] == [14] * 4
    assert wall_clocks(dates, BERLIN) == [(9, 0)] * 5


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        ({"occurrences": 0}, "series_count", "A series has 2 to 52 dates."),
        ({"occurrences": 1}, "series_count", "A series has 2 to 52 dates."),
        ({"occurrences": 53}, "series_count", "A series has 2 to 52 dates."),
        ({"occurrences": 10**9}, "series_count", "A series has 2 to 52 dates."),
        ({"until_days": -1}, "series_until", "The end date is before the first session"),
        ({"until_days": 3}, "series_until", "That end date leaves a single date"),
        ({"until_days": 800}, "series_until", "A series can run up to 2 years ahead"),
        ({"until_days": 7 * 60}, "series_until", "makes more than 52 dates"),
        ({"occurrences": 52, "frequency": "fortnightly"}, "series_count", "would be more than 2 years ahead"),
        ({"occurrences": 6, "frequency": "daily"}, "series_frequency", "every week or every two weeks"),
        ({"occurrences": 6, "until_days": 30}, "series_count", "Give either the number of dates or the end date"),
        ({"occurrences": None}, "series_count", "Give either the number of dates or the end date"),
    ],
)
def test_a_series_outside_the_limits_is_refused_and_nothing_is_created(kwargs, code, message):
    mentor = berlin_mentor()
    first = timezone.now() + timedelta(days=30)
    until_days = kwargs.pop("until_days", None)
    until = (first + timedelta(days=until_days)).date() if until_days is not None else None
    with pytest.raises(MentoringError) as refused:
        series_create(
            mentor=mentor,
            title="Group",
            starts_at=first,
            duration_minutes=60,
            capacity=4,
            frequency=kwargs.pop("frequency", "weekly"),
            occurrences=kwargs.pop("occurrences", None),
            until=until,
        )
    assert refused.value.code == code and message in refused.value.message
    assert not Session.objects.exists() and not SessionSeries.objects.exists()


def test_the_last_date_may_sit_at_the_edge_of_the_two_year_window():
    now = timezone.now()
    first = now + timedelta(days=730 - 7 * 51, hours=-1)
    starts = series_starts(first=first, time_zone="UTC", frequency="weekly", occurrences=52, now=now)
    assert len(starts) == 52 and starts[-1] <= now + timedelta(days=730)


def test_an_extreme_end_date_is_refused_without_computing_it():
    with pytest.raises(MentoringError) as refused:
        series_starts(
            first=timezone.now() + timedelta(days=1), time_zone="Pacific/Kiritimati", frequency="weekly", until=date.max
        )
    assert refused.value.code == "series_until"


# --------------------------------------------------------------------------- overlaps and repeats
def test_one_clashing_date_refuses_the_whole_series_and_names_the_date():
    mentor = berlin_mentor()
    first = local(BERLIN, timezone.now().date() + timedelta(days=3), 18)
    clash = make_session(mentor, starts_at=first + timedelta(weeks=2, minutes=30), title="One-to-one")
    with pytest.raises(MentoringError) as refused:
        create(mentor, starts_at=first, occurrences=6)
    assert refused.value.code == "series_overlap"
    assert series_when(first + timedelta(weeks=2), BERLIN) in refused.value.message
    assert "Nothing was created" in refused.value.message
    assert list(Session.objects.all()) == [clash] and not SessionSeries.objects.exists()


def test_the_same_series_sent_again_is_the_one_created_and_another_one_clashes():
    mentor = berlin_mentor()
    python = skill("Python")
    first = local(BERLIN, timezone.now().date() + timedelta(days=3), 18)
    series = create(mentor, starts_at=first, occurrences=6, skills=[python])
    again = create(mentor, starts_at=first, occurrences=6, skills=[python])  # a double click, a retry
    assert again.pk == series.pk
    assert SessionSeries.objects.count() == 1 and Session.objects.count() == 6
    with pytest.raises(MentoringError) as refused:  # anything different is another series: it overlaps
        create(mentor, starts_at=first, occurrences=6, skills=[python], title="Another group")
    assert refused.value.code == "series_overlap"
    assert Session.objects.count() == 6


def test_only_mentors_offer_a_series(learner):
    with pytest.raises(MentoringError) as refused:
        create(learner, starts_at=timezone.now() + timedelta(days=2))
    assert refused.value.code == "not_mentor" and not Session.objects.exists()


# --------------------------------------------------------------------------- booking all dates
def test_book_all_books_every_free_date_and_reports_the_full_and_the_clashing(
    learner, other_learner, django_capture_on_commit_callbacks
):
    mentor = berlin_mentor()
    first = local(BERLIN, timezone.now().date() + timedelta(days=3), 18)
    series = create(mentor, starts_at=first, occurrences=6, capacity=1)
    dates = dates_of(series)
    booking_create(session_id=dates[1].pk, learner=other_learner)  # the second date is full
    elsewhere = make_user("ravi@example.com", "Ravi Mentor", "mentor")
    other = make_session(elsewhere, starts_at=dates[3].starts_at - timedelta(minutes=30))
    booking_create(session_id=other.pk, learner=learner)  # the fourth date clashes with this booking

    mail.outbox.clear()
    notices_before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with django_capture_on_commit_callbacks(execute=True):
        outcome = series_book(series_id=series.pk, learner=learner)

    assert [s.pk for s in outcome.booked] == [dates[i].pk for i in (0, 2, 4, 5)]
    assert [s.pk for s in outcome.full] == [dates[1].pk] and [s.pk for s in outcome.clashed] == [dates[3].pk]
    mine = Booking.objects.filter(learner=learner, status=Booking.Status.ACTIVE, session__series=series)
    assert sorted(mine.values_list("session_id", flat=True)) == sorted(s.pk for s in outcome.booked)
    # One message to each side (not a pair per date), its email holding one invitation per date booked.
    assert Notification.objects.filter(pk__gt=notices_before).count() == 2
    (confirmed,) = Notification.objects.filter(user=learner, kind="booking_confirmed", pk__gt=notices_before)
    assert "4 dates of “Study group”" in confirmed.text
    assert Notification.objects.filter(user=mentor, kind="booking_made", pk__gt=notices_before).count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted([learner.email, mentor.email])
    for message in mail.outbox:
        uids = []
        for part in message.message().walk():
            if part.get_content_type() == "text/calendar":
                calendar = Calendar.from_ical(part.get_payload(decode=True))
                assert str(calendar["method"]) == "REQUEST"
                uids += [str(event["uid"]) for event in calendar.walk("VEVENT")]
        assert uids == [f"session-{s.pk}@peerlearn" for s in outcome.booked]

    again = series_book(series_id=series.pk, learner=learner)  # sent again: nothing new
    assert again.booked == [] and len(again.already) == 4 and Booking.objects.filter(learner=learner).count() == 5


def test_book_all_skips_dates_that_started_and_refuses_a_finished_series(learner):
    mentor = berlin_mentor()
    first = timezone.now() + timedelta(days=2)
    series = create(mentor, starts_at=first, occurrences=3)
    later = timezone.now() + timedelta(days=10)  # the first two dates have started by then
    outcome = series_book(series_id=series.pk, learner=learner, now=later)
    assert [s.pk for s in outcome.booked] == [dates_of(series)[2].pk]
    with pytest.raises(MentoringError) as refused:
        series_book(series_id=series.pk, learner=learner, now=timezone.now() + timedelta(days=30))
    assert refused.value.code == "series_over"


def test_a_mentor_cannot_book_all_dates(mentor):
    series = create(berlin_mentor(), starts_at=timezone.now() + timedelta(days=2), occurrences=2)
    with pytest.raises(MentoringError) as refused:
        series_book(series_id=series.pk, learner=mentor)
    assert refused.value.code == "not_learner" and not Booking.objects.exists()


# --------------------------------------------------------------------------- this and all future
def test_changing_this_and_all_future_dates_shifts_each_by_the_same_local_time(learner):
    mentor = berlin_mentor()
    change = clock_changes(BERLIN)[0]
    first = local(BERLIN, change - timedelta(days=17), 18)
    dates = dates_of(create(mentor, starts_at=first, occurrences=6, capacity=3))
    booking_create(session_id=dates[4].pk, learner=learner)
    python = skill("Python")

    updated = series_update_future(
        session_id=dates[2].pk,
        mentor=mentor,
        title="Study group (new room)",
        description="Now 90 minutes.",
        skills=[python],
        starts_at=dates[2].starts_at + timedelta(hours=1),
        duration_minutes=90,
        capacity=5,
    )

    assert [s.pk for s in updated] == [s.pk for s in dates[2:]]
    after = [Session.objects.get(pk=s.pk) for s in dates]
    assert wall_clocks(after, BERLIN) == [(18, 0), (18, 0), (19, 0), (19, 0), (19, 0), (19, 0)]
    assert [s.title for s in after] == ["Study group"] * 2 + ["Study group (new room)"] * 4
    assert {(s.duration_minutes, s.capacity) for s in after[2:]} == {(90, 5)}
    assert all(list(s.skills.all()) == [python] for s in after[2:]) and not after[0].skills.exists()
    # The booked learner is told about their date, through the session update service.
    assert Notification.objects.filter(user=learner, kind="session_changed", link=f"/sessions/{dates[4].pk}/").exists()


def test_moving_future_dates_a_week_later_does_not_trip_over_the_dates_not_moved_yet():
    mentor = berlin_mentor()
    first = local(BERLIN, timezone.now().date() + timedelta(days=3), 18)
    dates = dates_of(create(mentor, starts_at=first, occurrences=4))
    series_update_future(
        session_id=dates[1].pk,
        mentor=mentor,
        title="Study group",
        description="Weekly.",
        skills=[],
        starts_at=dates[1].starts_at + timedelta(weeks=1),
        duration_minutes=60,
        capacity=3,
    )
    zone = zoneinfo.ZoneInfo(BERLIN)
    days = [Session.objects.get(pk=s.pk).starts_at.astimezone(zone).date() for s in dates]
    assert days == [first.date(), *(first.date() + timedelta(weeks=w) for w in (2, 3, 4))]


def test_a_future_date_that_cannot_take_the_change_refuses_it_all(learner, other_learner):
    mentor = berlin_mentor()
    first = local(BERLIN, timezone.now().date() + timedelta(days=3), 18)
    dates = dates_of(create(mentor, starts_at=first, occurrences=4, capacity=3))
    booking_create(session_id=dates[3].pk, learner=learner)
    booking_create(session_id=dates[3].pk, learner=other_learner)
    clash = make_session(mentor, starts_at=dates[2].starts_at + timedelta(hours=2), title="One-to-one")
    change = {
        "mentor": mentor,
        "title": "Renamed",
        "description": "",
        "skills": [],
        "duration_minutes": 60,
        "capacity": 3,
    }

    with pytest.raises(MentoringError) as clashing:  # two hours later, the third date meets the one-to-one
        series_update_future(session_id=dates[1].pk, starts_at=dates[1].starts_at + timedelta(hours=2), **change)
    assert clashing.value.code == "series_overlap"
    assert series_when(dates[2].starts_at + timedelta(hours=2), BERLIN) in clashing.value.message

    with pytest.raises(MentoringError) as too_small:
        series_update_future(session_id=dates[1].pk, starts_at=dates[1].starts_at, **{**change, "capacity": 1})
    assert too_small.value.code == "capacity_below_bookings"
    assert series_when(dates[3].starts_at, BERLIN) in too_small.value.message
    assert "Nothing was changed" in too_small.value.message

    assert set(Session.objects.exclude(pk=clash.pk).values_list("title", "capacity")) == {("Study group", 3)}
    assert [Session.objects.get(pk=s.pk).starts_at for s in dates] == [s.starts_at for s in dates]


def test_another_mentor_cannot_change_the_series(mentor):
    dates = dates_of(create(berlin_mentor(), starts_at=timezone.now() + timedelta(days=2), occurrences=2))
    with pytest.raises(MentoringError) as refused:
        series_update_future(
            session_id=dates[0].pk,
            mentor=mentor,
            title="Mine now",
            description="",
            skills=[],
            starts_at=dates[0].starts_at,
            duration_minutes=60,
            capacity=3,
        )
    assert refused.value.code == "not_found"


def test_cancelling_this_and_all_future_dates_tells_their_learners(learner, mentor):
    owner = berlin_mentor()
    first = local(BERLIN, timezone.now().date() + timedelta(days=3), 18)
    dates = dates_of(create(owner, starts_at=first, occurrences=6))
    booking_create(session_id=dates[4].pk, learner=learner)
    booking_create(session_id=dates[1].pk, learner=learner)

    with pytest.raises(MentoringError):  # not their series
        series_cancel_future(session_id=dates[3].pk, actor=mentor)
    cancelled = series_cancel_future(session_id=dates[3].pk, actor=owner, reason="Moving house")

    assert [s.pk for s in cancelled] == [s.pk for s in dates[3:]]
    statuses = [Session.objects.get(pk=s.pk).status for s in dates]
    assert statuses == ["scheduled"] * 3 + ["cancelled"] * 3
    told = Notification.objects.filter(user=learner, kind="session_cancelled")
    assert [n.link for n in told] == [f"/sessions/{dates[4].pk}/"] and "Moving house" in told[0].text
    assert series_cancel_future(session_id=dates[3].pk, actor=owner) == []  # sent again: the outcome stands


def test_a_series_is_recommended_once_by_its_next_open_date(learner):
    from mentoring.services.recommendations import session_candidates

    mentor = berlin_mentor()
    start = timezone.now() + timedelta(days=2)
    dates = dates_of(create(mentor, starts_at=start, occurrences=6, capacity=1))
    single = make_session(mentor, title="One evening", starts_in=timedelta(days=3))
    other = make_user("ben@example.com", "Ben Learner", "learner")
    booking_create(session_id=dates[0].pk, learner=other)  # the first date is full

    picked = session_candidates(user=learner)
    assert [s.pk for s in picked if s.series_id] == [dates[1].pk]
    assert single in picked
