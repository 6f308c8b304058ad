"""The availability engine: rules expanded to free slots, across daylight-saving changes, with notice,
buffers, caps, overrides and the ``ignore_*`` escapes.

The DST tests check every slot the engine produces against an expectation computed another way: a
table of each zone's UTC offsets and transition instants (from the zones' published rules, no
``zoneinfo``), with wall times converted by trying each offset. The figure line counts every slot
compared: ``[slots] N slots checked, wrong 0``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mentoring.models import Availability, DateOverride, MentorProfile, Session, SessionRequest, WeeklyHours
from mentoring.services import MentoringError
from mentoring.services.availability import (
    Slot,
    availability_get,
    availability_update,
    date_override_remove,
    date_override_set,
    slot_check,
    slots_free,
)

pytestmark = pytest.mark.django_db

H = 3600


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Each zone: the offset on 1 January 2026 and the transitions (UTC instant, offset from then on), as the
# zones' rules state them: New York at 02:00 local (second Sunday of March, first of November), Berlin at
# 01:00 UTC (last Sundays of March and October), Sydney at 02:00 standard / 03:00 daylight time (first
# Sundays of October and April).
TABLE = {
    "America/New_York": (
        -5 * H,
        [
            (utc(2026, 3, 8, 7), -4 * H),
            (utc(2026, 11, 1, 6), -5 * H),
            (utc(2027, 3, 14, 7), -4 * H),
            (utc(2027, 11, 7, 6), -5 * H),
        ],
    ),
    "Europe/Berlin": (
        1 * H,
        [
            (utc(2026, 3, 29, 1), 2 * H),
            (utc(2026, 10, 25, 1), 1 * H),
            (utc(2027, 3, 28, 1), 2 * H),
            (utc(2027, 10, 31, 1), 1 * H),
        ],
    ),
    "Australia/Sydney": (
        11 * H,
        [
            (utc(2026, 4, 4, 16), 10 * H),
            (utc(2026, 10, 3, 16), 11 * H),
            (utc(2027, 4, 3, 16), 10 * H),
            (utc(2027, 10, 2, 16), 11 * H),
        ],
    ),
}
# The local dates of those changes, and whether the clocks go forward.
CHANGES = [
    ("America/New_York", date(2026, 3, 8), "forward"),
    ("America/New_York", date(2026, 11, 1), "back"),
    ("America/New_York", date(2027, 3, 14), "forward"),
    ("America/New_York", date(2027, 11, 7), "back"),
    ("Europe/Berlin", date(2026, 3, 29), "forward"),
    ("Europe/Berlin", date(2026, 10, 25), "back"),
    ("Europe/Berlin", date(2027, 3, 28), "forward"),
    ("Europe/Berlin", date(2027, 10, 31), "back"),
    ("Australia/Sydney", date(2026, 4, 5), "back"),
    ("Australia/Sydney", date(2026, 10, 4), "forward"),
    ("Australia/Sydney", date(2027, 4, 4), "back"),
    ("Australia/Sydney", date(2027, 10, 3), "forward"),
]


def offset_at(zone: str, instant: datetime) -> int:
    offset, transitions = TABLE[zone]
    for at, after in transitions:
        if instant >= at:
            offset = after
    return offset


def wall(day: date, minute: int) -> datetime:
    """A local wall time, carried in a UTC-tagged datetime (the fields are the wall clock's)."""
    return utc(day.year, day.month, day.day) + timedelta(minutes=minute)


def expected_instant(zone: str, wall_time: datetime) -> datetime | None:
    """The first instant whose local time in ``zone`` is ``wall_time``; None in a gap."""
    offsets = {TABLE[zone][0], *(after for _, after in TABLE[zone][1])}
    matches = [
        wall_time - timedelta(seconds=o) for o in offsets if offset_at(zone, wall_time - timedelta(seconds=o)) == o
    ]
    return min(matches) if matches else None


def expected_bound(zone: str, wall_time: datetime) -> datetime:
    """An interval's end: its instant, or the moment the clocks jump when it falls in a gap."""
    instant = expected_instant(zone, wall_time)
    if instant is not None:
        return instant
    before = TABLE[zone][0]
    for at, after in TABLE[zone][1]:
        if at + timedelta(seconds=before) <= wall_time < at + timedelta(seconds=after):
            return at
        before = after
    raise AssertionError(f"{wall_time} is in no gap of {zone}")


def expected_slots(zone, hours_on, duration, earliest, latest) -> list[tuple[datetime, datetime]]:
    first = (earliest + timedelta(seconds=offset_at(zone, earliest))).date()
    last = (latest + timedelta(seconds=offset_at(zone, latest))).date()
    step = min(30, duration)
    found: dict[datetime, datetime] = {}
    day = first
    while day <= last:
        for start, end in hours_on(day):
            end_at = expected_bound(zone, wall(day, end))
            for minute in range(start, end, step):
                at = expected_instant(zone, wall(day, minute))
                if at is None or at + timedelta(minutes=duration) > end_at:
                    continue
                if earliest <= at <= latest:
                    found.setdefault(at, at + timedelta(minutes=duration))
        day += timedelta(days=1)
    return sorted(found.items())


class Tally:
    checked = 0
    wrong = 0


@pytest.fixture(scope="module")
def tally():
    yield Tally
    print(f"\n[slots] {Tally.checked} slots checked, wrong {Tally.wrong}")
    assert Tally.wrong == 0


def compare(produced: list[Slot], expected: list[tuple[datetime, datetime]]) -> None:
    got = [(s.starts_at, s.ends_at) for s in produced]
    wrong = len(set(got) ^ set(expected)) + (len(got) - len(set(got)))
    Tally.checked += len(set(got) | set(expected))
    Tally.wrong += wrong
    assert got == expected
    assert all(s.starts_at.utcoffset() == timedelta(0) for s in produced)


def rules(mentor, *, zone="UTC", lengths=(60,), hours=None, before=0, after=0, notice=0, ahead=365, **extra):
    weekly = hours if hours is not None else {d: [(9 * 60, 12 * 60), (13 * 60, 17 * 60)] for d in range(5)}
    return availability_update(
        mentor=mentor,
        time_zone=zone,
        session_lengths=list(lengths),
        buffer_before=before,
        buffer_after=after,
        min_notice=notice,
        max_days_ahead=ahead,
        daily_cap=extra.get("daily_cap"),
        weekly_cap=extra.get("weekly_cap"),
        auto_accept=extra.get("auto_accept", False),
        weekly_hours=weekly,
    )


def starts(slots: list[Slot]) -> list[datetime]:
    return [s.starts_at for s in slots]


# --------------------------------------------------------------------------- DST
WEEKLY_ACROSS_THE_CHANGE = [(60, 240), (20 * 60, 24 * 60)]  # 01:00–04:00 and 20:00–24:00
OVERRIDE_ON_THE_DAY = [(0, 150), (150, 270)]  # 00:00–02:30 and 02:30–04:30: a bound inside the change
LENGTHS = (15, 30, 45, 60, 90, 120)


@pytest.mark.parametrize(("zone", "day", "direction"), CHANGES, ids=[f"{z}-{d}" for z, d, _ in CHANGES])
def test_slots_across_a_dst_change_match_the_offset_table(mentor, tally, zone, day, direction):
    rules(mentor, zone=zone, lengths=LENGTHS, hours={d: WEEKLY_ACROSS_THE_CHANGE for d in range(7)})
    now = utc(day.year, day.month, day.day) - timedelta(days=2)
    for overridden in (False, True):
        if overridden:
            date_override_set(mentor=mentor, date=day, intervals=OVERRIDE_ON_THE_DAY, now=now)

        def hours_on(d, overridden=overridden):
            return OVERRIDE_ON_THE_DAY if overridden and d == day else WEEKLY_ACROSS_THE_CHANGE

        for length in LENGTHS:
            produced = slots_free(mentor=mentor, duration_minutes=length, now=now, days=4)
            compare(produced, expected_slots(zone, hours_on, length, now, now + timedelta(days=4)))
            assert all(s.duration_minutes == length for s in produced)
            assert len({s.starts_at for s in produced}) == len(produced)


def test_new_york_spring_forward_by_hand(mentor, tally):
    """01:00–04:00 on 8 March 2026, one hour: 02:xx does not exist; 03:30 EDT would end after 04:00."""
    rules(mentor, zone="America/New_York", lengths=[60], hours={6: [(60, 240)]})
    now = utc(2026, 3, 6)
    produced = slots_free(mentor=mentor, duration_minutes=60, now=now, days=3)
    expected = [utc(2026, 3, 8, 6), utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7)]
    compare(produced, [(at, at + timedelta(hours=1)) for at in expected])


def test_berlin_fall_back_by_hand(mentor, tally):
    """01:00–04:00 on 25 October 2026, one hour: 02:00 and 02:30 are their first (summer-time) occurrence,
    so the hour from 01:00 to 02:00 UTC starts no slot, and 03:30 would end after 04:00 CET."""
    rules(mentor, zone="Europe/Berlin", lengths=[60], hours={6: [(60, 240)]})
    now = utc(2026, 10, 23)
    produced = slots_free(mentor=mentor, duration_minutes=60, now=now, days=3)
    expected = [utc(2026, 10, 24, 23), utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0), utc(2026, 10, 25, 0, 30)]
    expected += [utc(2026, 10, 25, 2)]
    compare(produced, [(at, at + timedelta(hours=1)) for at in expected])


def test_sydney_fall_back_a_slot_lasts_real_minutes(mentor, tally):
    """On 5 April 2026 the wall-clock half hour 02:30–03:00 lasts 90 real minutes (02:30 AEDT to 03:00
    AEST): it holds one hour, from 02:30 AEDT (15:30 UTC) to 02:30 AEST (16:30 UTC)."""
    rules(mentor, zone="Australia/Sydney", lengths=[60], hours={6: [(150, 180)], 5: []})
    now = utc(2026, 4, 3)
    produced = slots_free(mentor=mentor, duration_minutes=60, now=now, days=3)
    compare(produced, [(utc(2026, 4, 4, 15, 30), utc(2026, 4, 4, 16, 30))])
    rules(mentor, zone="Australia/Sydney", lengths=[60], hours={6: [(120, 180)]})
    produced = slots_free(mentor=mentor, duration_minutes=60, now=now, days=3)
    # 02:00 AEDT (15:00Z) → 16:00Z ≤ 03:00 AEST (17:00Z); 02:30 AEDT (15:30Z) → 16:30Z ≤ 17:00Z.
    compare(produced, [(at, at + timedelta(hours=1)) for at in (utc(2026, 4, 4, 15), utc(2026, 4, 4, 15, 30))])


# --------------------------------------------------------------------------- notice, window, buffers, caps
MONDAY = date(2027, 1, 4)  # a Monday in the future of the window below


def day_starts(produced: list[Slot], day: date) -> list[str]:
    return [f"{s.starts_at:%H:%M}" for s in produced if s.starts_at.date() == day]


def test_minimum_notice_and_how_far_ahead(mentor, tally):
    rules(mentor, notice=12 * 60, ahead=3)
    now = utc(2027, 1, 4, 1)  # Monday 01:00 UTC: the first slot is at 13:00 Monday
    produced = slots_free(mentor=mentor, duration_minutes=60, now=now)
    assert produced[0].starts_at == utc(2027, 1, 4, 13)
    assert produced[-1].starts_at == utc(2027, 1, 6, 16)  # Wednesday 16:00; Thursday 01:00 is the horizon
    assert slots_free(mentor=mentor, duration_minutes=60, now=now, days=1)[-1].starts_at == utc(2027, 1, 4, 16)
    assert slots_free(mentor=mentor, duration_minutes=60, now=now, days=0) == []
    expected = [
        (utc(2027, 1, d, h, m), utc(2027, 1, d, h, m) + timedelta(hours=1))
        for d in (4, 5, 6)
        for h, m in [
            (9, 0),
            (9, 30),
            (10, 0),
            (10, 30),
            (11, 0),
            (13, 0),
            (13, 30),
            (14, 0),
            (14, 30),
            (15, 0),
            (15, 30),
            (16, 0),
        ]
    ]
    compare(produced, [e for e in expected if e[0] >= utc(2027, 1, 4, 13)])
    with pytest.raises(MentoringError) as soon:
        slot_check(mentor=mentor, starts_at=utc(2027, 1, 4, 11), duration_minutes=60, now=now)
    assert soon.value.code == "too_soon" and "12 hours' notice" in soon.value.message
    with pytest.raises(MentoringError) as far:
        slot_check(mentor=mentor, starts_at=utc(2027, 1, 7, 9), duration_minutes=60, now=now)
    assert far.value.code == "too_far"
    slot_check(mentor=mentor, starts_at=utc(2027, 1, 4, 13), duration_minutes=60, now=now)


def gap_ok(slot_start, slot_end, busy_start, busy_end, pad) -> bool:
    return slot_end + pad <= busy_start or busy_end + pad <= slot_start


@pytest.mark.parametrize(("before", "after"), [(0, 0), (10, 10), (10, 40), (45, 0)])
def test_buffers_around_a_session_and_a_pending_request(mentor, learner, tally, before, after):
    rules(mentor, lengths=[30, 60], before=before, after=after)
    now = utc(2027, 1, 1)
    session = Session.objects.create(
        mentor=mentor,
        title="Group",
        starts_at=utc(2027, 1, 4, 12),
        duration_minutes=60,
        ends_at=utc(2027, 1, 4, 13),
        capacity=3,
    )
    request = SessionRequest.objects.create(
        mentor=mentor,
        learner=learner,
        starts_at=utc(2027, 1, 5, 10),
        duration_minutes=30,
        ends_at=utc(2027, 1, 5, 10, 30),
        agenda="Talk",
        expires_at=utc(2027, 1, 3),
    )
    pad = timedelta(minutes=max(before, after))
    busy = [(session.starts_at, session.ends_at), (request.starts_at, request.ends_at)]
    for length in (30, 60):
        produced = slots_free(mentor=mentor, duration_minutes=length, now=now, days=7)
        expected = []
        for d in (4, 5, 6, 7):  # Monday to Thursday
            for start, end in [(9 * 60, 12 * 60), (13 * 60, 17 * 60)]:
                for minute in range(start, end - length + 1, 30):
                    at = utc(2027, 1, d) + timedelta(minutes=minute)
                    if all(gap_ok(at, at + timedelta(minutes=length), b0, b1, pad) for b0, b1 in busy):
                        expected.append((at, at + timedelta(minutes=length)))
        compare([s for s in produced if utc(2027, 1, 4) <= s.starts_at < utc(2027, 1, 8)], expected)
    with pytest.raises(MentoringError) as taken:
        slot_check(mentor=mentor, starts_at=utc(2027, 1, 5, 10), duration_minutes=30, now=now)
    assert taken.value.code == "slot_taken"
    # A cancelled session and a declined request block nothing.
    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED)
    SessionRequest.objects.filter(pk=request.pk).update(status=SessionRequest.Status.DECLINED)
    produced = slots_free(mentor=mentor, duration_minutes=30, now=now, days=7)
    assert utc(2027, 1, 4, 11, 30) in starts(produced) and utc(2027, 1, 5, 10) in starts(produced)


def test_buffer_example_by_hand(mentor, tally):
    """Buffers 10 before / 40 after, a session 12:00–13:00: the next slots are 40 minutes away."""
    rules(mentor, lengths=[60], before=10, after=40)
    Session.objects.create(
        mentor=mentor,
        title="Group",
        starts_at=utc(2027, 1, 4, 12),
        duration_minutes=60,
        ends_at=utc(2027, 1, 4, 13),
        capacity=3,
    )
    produced = slots_free(mentor=mentor, duration_minutes=60, now=utc(2027, 1, 3), days=2)
    assert day_starts(produced, MONDAY) == ["09:00", "09:30", "10:00", "14:00", "14:30", "15:00", "15:30", "16:00"]
    Tally.checked += 8


def test_ignore_a_session_or_a_request(mentor, learner, tally):
    rules(mentor, lengths=[60], before=10, after=10)
    now = utc(2027, 1, 1)
    session = Session.objects.create(
        mentor=mentor,
        title="1:1",
        private=True,
        starts_at=utc(2027, 1, 4, 10),
        duration_minutes=60,
        ends_at=utc(2027, 1, 4, 11),
        capacity=1,
    )
    request = SessionRequest.objects.create(
        mentor=mentor,
        learner=learner,
        starts_at=utc(2027, 1, 4, 14),
        duration_minutes=60,
        ends_at=utc(2027, 1, 4, 15),
        agenda="Talk",
        expires_at=utc(2027, 1, 3),
    )
    for kwargs, free, taken in [
        ({}, [], [utc(2027, 1, 4, 10), utc(2027, 1, 4, 14)]),
        ({"ignore_session_id": session.pk}, [utc(2027, 1, 4, 10)], [utc(2027, 1, 4, 14)]),
        ({"ignore_request_id": request.pk}, [utc(2027, 1, 4, 14)], [utc(2027, 1, 4, 10)]),
    ]:
        produced = starts(slots_free(mentor=mentor, duration_minutes=60, now=now, days=7, **kwargs))
        assert all(at in produced for at in free) and not any(at in produced for at in taken)
        for at in free:
            slot_check(mentor=mentor, starts_at=at, duration_minutes=60, now=now, **kwargs)
        for at in taken:
            with pytest.raises(MentoringError) as refused:
                slot_check(mentor=mentor, starts_at=at, duration_minutes=60, now=now, **kwargs)
            assert refused.value.code == "slot_taken"
        Tally.checked += len(free) + len(taken)


def test_daily_cap_counts_sessions_and_pending_requests_on_the_local_date(mentor, learner, tally):
    rules(mentor, zone="America/New_York", lengths=[60], daily_cap=2, hours={d: [(9 * 60, 17 * 60)] for d in range(7)})
    now = utc(2027, 1, 1)
    # Monday 4 Jan, New York: a session at 09:00 and a request at 21:00 local (02:00 UTC on Tuesday).
    Session.objects.create(
        mentor=mentor,
        title="G",
        starts_at=utc(2027, 1, 4, 14),
        duration_minutes=60,
        ends_at=utc(2027, 1, 4, 15),
    )
    produced = slots_free(mentor=mentor, duration_minutes=60, now=now, days=7)
    assert any(s.starts_at.date() == MONDAY for s in produced)  # one of two: still open
    SessionRequest.objects.create(
        mentor=mentor,
        learner=learner,
        starts_at=utc(2027, 1, 5, 2),
        duration_minutes=60,
        ends_at=utc(2027, 1, 5, 3),
        agenda="Late",
        expires_at=utc(2027, 1, 3),
    )
    produced = slots_free(mentor=mentor, duration_minutes=60, now=now, days=7)
    local_days = {(s.starts_at - timedelta(hours=5)).date() for s in produced}
    assert MONDAY not in local_days and date(2027, 1, 5) in local_days and date(2027, 1, 3) in local_days
    with pytest.raises(MentoringError) as capped:
        slot_check(mentor=mentor, starts_at=utc(2027, 1, 4, 18), duration_minutes=60, now=now)
    assert capped.value.code == "cap_reached" and "at most 2 a day" in capped.value.message
    # Moving one of them frees the day for that move.
    slot_check(
        mentor=mentor,
        starts_at=utc(2027, 1, 4, 18),
        duration_minutes=60,
        now=now,
        ignore_request_id=SessionRequest.objects.get().pk,
    )
    Tally.checked += len(produced)


def test_weekly_cap_counts_the_local_iso_week(mentor, tally):
    rules(mentor, zone="America/New_York", lengths=[60], weekly_cap=2, hours={d: [(9 * 60, 17 * 60)] for d in range(7)})
    now = utc(2027, 1, 1)
    # Sunday 10 Jan 22:00 New York is Monday 11 Jan 03:00 UTC: it belongs to the week of 4–10 Jan.
    for starts_at in (utc(2027, 1, 5, 15), utc(2027, 1, 11, 3)):
        Session.objects.create(
            mentor=mentor, title="G", starts_at=starts_at, duration_minutes=60, ends_at=starts_at + timedelta(hours=1)
        )
    produced = slots_free(mentor=mentor, duration_minutes=60, now=now, days=14)
    local_days = sorted({(s.starts_at - timedelta(hours=5)).date() for s in produced})
    assert local_days == [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)] + [
        date(2027, 1, d) for d in range(11, 15)
    ]
    with pytest.raises(MentoringError) as capped:
        slot_check(mentor=mentor, starts_at=utc(2027, 1, 8, 15), duration_minutes=60, now=now)
    assert capped.value.code == "cap_reached" and "at most 2 a week" in capped.value.message
    Tally.checked += len(produced)


# --------------------------------------------------------------------------- overrides
def test_overrides_make_a_day_off_and_extra_hours(mentor, tally):
    rules(mentor, lengths=[60])
    now = utc(2027, 1, 1)
    saturday, monday = date(2027, 1, 9), MONDAY
    date_override_set(mentor=mentor, date=monday, intervals=[], now=now)
    date_override_set(mentor=mentor, date=saturday, intervals=[(10 * 60, 12 * 60)], now=now)
    produced = slots_free(mentor=mentor, duration_minutes=60, now=now, days=10)
    assert day_starts(produced, monday) == []
    assert day_starts(produced, saturday) == ["10:00", "10:30", "11:00"]
    assert day_starts(produced, date(2027, 1, 5))[:2] == ["09:00", "09:30"]
    with pytest.raises(MentoringError) as off:
        slot_check(mentor=mentor, starts_at=utc(2027, 1, 4, 9), duration_minutes=60, now=now)
    assert off.value.code == "outside_hours"
    # Setting a date again replaces its rows; removing it brings the weekday back.
    date_override_set(mentor=mentor, date=monday, intervals=[(8 * 60, 9 * 60)], now=now)
    assert DateOverride.objects.filter(date=monday).count() == 1
    assert day_starts(slots_free(mentor=mentor, duration_minutes=60, now=now, days=10), monday) == ["08:00"]
    date_override_remove(mentor=mentor, date=monday)
    assert day_starts(slots_free(mentor=mentor, duration_minutes=60, now=now, days=10), monday)[0] == "09:00"
    Tally.checked += len(produced)


def test_short_lengths_use_their_own_grid_and_slot_check_wants_a_grid_start(mentor, tally):
    rules(mentor, lengths=[15, 60], hours={0: [(9 * 60, 10 * 60)]})
    now = utc(2027, 1, 1)
    produced = slots_free(mentor=mentor, duration_minutes=15, now=now, days=4)
    assert day_starts(produced, MONDAY) == ["09:00", "09:15", "09:30", "09:45"]
    with pytest.raises(MentoringError) as off_grid:
        slot_check(mentor=mentor, starts_at=utc(2027, 1, 4, 9, 10), duration_minutes=60, now=now)
    assert off_grid.value.code == "outside_hours"
    with pytest.raises(MentoringError) as length:
        slot_check(mentor=mentor, starts_at=utc(2027, 1, 4, 9), duration_minutes=45, now=now)
    assert length.value.code == "length_not_offered" and "offers sessions of 15 or 60 minutes" in length.value.message
    Tally.checked += len(produced)


def test_nothing_offered_without_rules_a_length_or_a_listing(mentor, tally):
    now = utc(2027, 1, 1)
    assert availability_get(mentor=mentor) is None
    assert slots_free(mentor=mentor, duration_minutes=60, now=now) == []
    with pytest.raises(MentoringError) as none:
        slot_check(mentor=mentor, starts_at=utc(2027, 1, 4, 9), duration_minutes=60, now=now)
    assert none.value.code == "unavailable"
    rules(mentor, lengths=[60])
    assert slots_free(mentor=mentor, duration_minutes=30, now=now) == []
    # Friday 1 Jan and Monday to Thursday (Friday 8th 00:00 is the horizon): 5 days of 5 + 7 hours.
    assert len(slots_free(mentor=mentor, duration_minutes=60, now=now, days=7)) == 5 * 12
    MentorProfile.objects.filter(user=mentor).update(accepting_bookings=False)
    assert slots_free(mentor=mentor, duration_minutes=60, now=now) == []
    MentorProfile.objects.filter(user=mentor).update(accepting_bookings=True, review_status="pending")
    assert slots_free(mentor=mentor, duration_minutes=60, now=now) == []


def test_a_year_of_slots_takes_the_same_few_queries_as_a_week(mentor, learner, django_assert_max_num_queries):
    rules(mentor, lengths=[30, 60], before=10, after=10, daily_cap=5, weekly_cap=20)
    now = utc(2027, 1, 1)
    for week in range(20):
        at = utc(2027, 1, 4, 10) + timedelta(weeks=week)
        Session.objects.create(
            mentor=mentor, title="G", starts_at=at, duration_minutes=60, ends_at=at + timedelta(hours=1)
        )
    for day in (date(2027, 2, 1), date(2027, 3, 1), date(2027, 6, 7)):
        date_override_set(mentor=mentor, date=day, intervals=[], now=now)
    with django_assert_max_num_queries(6):
        year = slots_free(mentor=mentor, duration_minutes=30, now=now)
    with django_assert_max_num_queries(6):
        slots_free(mentor=mentor, duration_minutes=30, now=now, days=7)
    with django_assert_max_num_queries(6):
        slot_check(mentor=mentor, starts_at=year[-1].starts_at, duration_minutes=30, now=now)
    assert year[-1].starts_at <= now + timedelta(days=365)


# --------------------------------------------------------------------------- saving the rules
GOOD = {
    "time_zone": "Europe/Berlin",
    "session_lengths": [30, 60],
    "buffer_before": 10,
    "buffer_after": 10,
    "min_notice": 720,
    "max_days_ahead": 30,
    "daily_cap": None,
    "weekly_cap": None,
    "auto_accept": False,
    "weekly_hours": {0: [(540, 720)]},
}


def test_availability_update_saves_and_replaces_the_weekly_hours(mentor):
    saved = availability_update(mentor=mentor, **GOOD)
    assert saved.time_zone == "Europe/Berlin" and saved.session_lengths == [30, 60]
    availability_update(mentor=mentor, **{**GOOD, "session_lengths": [60, 30, 30], "weekly_hours": {2: [(60, 1440)]}})
    availability = Availability.objects.get(mentor=mentor)
    assert availability.session_lengths == [30, 60]
    assert list(WeeklyHours.objects.values_list("weekday", "start_minute", "end_minute")) == [(2, 60, 1440)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "Choose a time zone from the list"),
        ({"time_zone": "Europe/Berlin\x00"}, "Choose a time zone from the list"),
        ({"session_lengths": [10]}, "Session lengths are between 15 and 240 minutes, in steps of 5."),
        ({"session_lengths": [31]}, "in steps of 5"),
        ({"session_lengths": [300]}, "in steps of 5"),
        ({"session_lengths": [True]}, "in steps of 5"),
        ({"session_lengths": [15, 20, 25, 30, 35, 40, 45]}, "Offer at most 6 session lengths."),
        ({"buffer_before": 121}, "The buffer before a session must be a whole number from 0 to 120."),
        ({"buffer_after": -1}, "The buffer after a session must be a whole number from 0 to 120."),
        ({"min_notice": 14 * 24 * 60 + 1}, "The minimum notice (minutes) must be a whole number from 0 to 20160."),
        ({"max_days_ahead": 0}, "How far ahead (days) must be a whole number from 1 to 365."),
        ({"max_days_ahead": 10**12}, "How far ahead (days) must be a whole number from 1 to 365."),
        ({"daily_cap": 0}, "The daily limit must be a whole number from 1 to 50."),
        ({"weekly_cap": 51}, "The weekly limit must be a whole number from 1 to 50."),
        ({"daily_cap": 5, "weekly_cap": 2}, "The weekly limit cannot be lower than the daily limit."),
        ({"weekly_hours": {7: [(60, 120)]}}, "Weekdays are 0 (Monday) to 6 (Sunday)."),
        ({"weekly_hours": {0: [(600, 540)]}}, "Monday: an interval must start before it ends"),
        ({"weekly_hours": {1: [(0, 1441)]}}, "Tuesday: an interval must start before it ends"),
        ({"weekly_hours": {2: [(540, 720), (660, 780)]}}, "Wednesday: 09:00–12:00 overlaps 11:00–13:00."),
    ],
)
def test_availability_update_refuses_bad_rules_and_changes_nothing(mentor, change, message):
    availability_update(mentor=mentor, **GOOD)
    before = list(WeeklyHours.objects.values_list("weekday", "start_minute", "end_minute"))
    with pytest.raises(MentoringError) as refused:
        availability_update(mentor=mentor, **{**GOOD, **change, "auto_accept": True})
    assert message in refused.value.message
    availability = Availability.objects.get(mentor=mentor)
    assert availability.auto_accept is False and availability.time_zone == "Europe/Berlin"
    assert list(WeeklyHours.objects.values_list("weekday", "start_minute", "end_minute")) == before


def test_only_mentors_have_availability_and_override_dates_are_checked(mentor, learner):
    with pytest.raises(MentoringError) as not_mentor:
        availability_update(mentor=learner, **GOOD)
    assert not_mentor.value.code == "not_mentor" and not Availability.objects.exists()
    now = utc(2027, 1, 1)
    for day in (date(2026, 12, 30), date(2028, 6, 1), date(9999, 12, 31)):  # today is 31 Dec in New York
        with pytest.raises(MentoringError) as refused:
            date_override_set(mentor=mentor, date=day, intervals=[], now=now)
        assert refused.value.message == "Choose a date from today up to a year ahead."
    # The first override creates the rules in the mentor's own zone, offering nothing yet.
    date_override_set(mentor=mentor, date=date(2027, 1, 4), intervals=[], now=now)
    assert availability_get(mentor=mentor).time_zone == "America/New_York"
    assert availability_get(mentor=mentor).session_lengths == []


def test_seed_demo_gives_every_demo_mentor_hours_once_and_keeps_their_changes():
    from django.core.management import call_command

    from portal.accounts.models import User

    call_command("seed_demo", verbosity=0)
    mentors = User.objects.filter(email__startswith="mentor", email__endswith="@peerlearn.local").order_by("email")
    assert mentors.count() == 3
    for demo_mentor in mentors:
        availability = availability_get(mentor=demo_mentor)
        assert availability.time_zone == demo_mentor.time_zone
        assert availability.session_lengths == [30, 60]
        assert (availability.buffer_before, availability.buffer_after) == (10, 10)
        assert (availability.min_notice, availability.max_days_ahead) == (12 * 60, 30)
        assert availability.auto_accept is (demo_mentor.email == "mentor3@peerlearn.local")
        assert list(availability.weekly_hours.values_list("weekday", "start_minute", "end_minute")) == [
            (day, start, end) for day in range(5) for start, end in [(540, 720), (780, 1020)]
        ]
        assert slots_free(mentor=demo_mentor, duration_minutes=30), "a newcomer can request a slot right away"
    # A mentor's own change survives the next seed.
    mentor1 = mentors[0]
    availability_update(mentor=mentor1, **{**GOOD, "time_zone": "Asia/Tokyo"})
    call_command("seed_demo", verbosity=0)
    assert availability_get(mentor=mentor1).time_zone == "Asia/Tokyo"
    assert Availability.objects.count() == 3
