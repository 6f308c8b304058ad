"""Mentor availability for one-to-one requests: stored as rules, expanded to free slots on read.

The rules (:class:`~mentoring.models.Availability` with its :class:`~mentoring.models.WeeklyHours` and
:class:`~mentoring.models.DateOverride` rows) mean:

* **Hours** are wall-clock times in ``Availability.time_zone`` (an IANA zone; a new availability
  starts in the mentor's own ``user.time_zone``), given as minutes after local midnight: ``540..720``
  is 09:00 to 12:00, and an end of ``1440`` is midnight at the end of the day. Intervals of one day
  never overlap (they may touch); a slot never spans two intervals.
* A **date override** replaces that date's weekly hours: its intervals, or none at all (a day off).
* **Slots** of a length start at each interval's start and then every 30 minutes (every ``duration``
  minutes for lengths under 30), and must end inside the interval.
* **Daylight saving time.** Days are expanded one by one in the mentor's zone with ``zoneinfo``. Each
  local wall time becomes a UTC instant: a wall time that does not exist (the spring-forward gap)
  offers no slot; an ambiguous one (the fall-back hour) is its first occurrence (``fold=0``), and no
  instant is ever offered twice. A slot's length is real elapsed time (``ends_at = starts_at +
  duration``). An interval's end that falls in a gap means the moment the clocks jump.
* **Blocking.** Every scheduled :class:`~mentoring.models.Session` of the mentor (group or private)
  and every pending :class:`~mentoring.models.SessionRequest` to the mentor blocks the slots near it:
  each keeps ``buffer_before`` minutes free before it and ``buffer_after`` after it, and so does the
  slot, so a slot and a session (or request) are at least ``max(buffer_before, buffer_after)`` minutes
  apart. ``ignore_session_id`` / ``ignore_request_id`` leave one out (the session being moved, the
  request being accepted). A request holds its slot while its status is pending, even past its
  ``expires_at`` until the expiry job marks it, as PostgreSQL's exclusion constraint on pending
  requests does.
* **Caps.** ``daily_cap`` counts the scheduled sessions and pending requests that start on the slot's
  local date (mentor's zone); ``weekly_cap`` those in its ISO week (Monday to Sunday, local). A slot on
  a day (week) that has reached its cap is not free.
* **Window.** Slots start no sooner than ``now + min_notice`` (minutes) and no later than
  ``now + max_days_ahead`` days (or fewer, when a caller asks for ``days``).
* Nothing is offered when the mentor has no availability, offers no such length, or is not listed
  (:func:`mentoring.selectors.mentor_is_listed`: approved by staff and accepting bookings);
  :func:`slot_check` then refuses with ``unavailable`` (or ``length_not_offered``).
  :func:`slots_preview` (the mentor's own page) applies the same rules whether listed or not.

Reads use a fixed number of queries however many days they cover: the rules, the overrides, the
sessions and the requests in the window are each fetched once.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.accounts.timezones import is_valid_timezone
from portal.dates import zone_or_utc

from ..models import Availability, DateOverride, Session, SessionRequest, WeeklyHours
from ..selectors import availability_get, mentor_is_listed
from . import MentoringError

__all__ = [
    "Slot",
    "availability_get",
    "availability_rules_check",
    "availability_summary",
    "availability_update",
    "date_override_remove",
    "date_override_set",
    "format_minutes",
    "slot_check",
    "slots_free",
    "slots_preview",
]

GRID_MINUTES = 30
LENGTH_MIN, LENGTH_MAX, LENGTH_STEP, MAX_LENGTHS = 15, 240, 5, 6
CAP_MAX = 50
DAY_MINUTES = 24 * 60
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Interval = tuple[int, int]


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # aware, UTC
    ends_at: datetime

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


def format_minutes(minute: int) -> str:
    """Minutes after midnight as "09:30" (1440 is "24:00")."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


# --------------------------------------------------------------------------- wall time → instant
def _wall_instant(day: date, minute: int, zone: tzinfo) -> datetime | None:
    """The UTC instant of ``minute`` after local midnight of ``day`` in ``zone``; ``None`` when that wall
    time does not exist (skipped by a spring-forward). Ambiguous wall times are the first occurrence."""
    local = datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minute)  # wall arithmetic, fold=0
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def _wall_bound(day: date, minute: int, zone: tzinfo) -> datetime:
    """Like :func:`_wall_instant`, but a wall time in a gap is the moment the clocks jump (the first wall
    minute after it that exists)."""
    for step in range(DAY_MINUTES + 1):
        instant = _wall_instant(day, minute + step, zone)
        if instant is not None:
            return instant
    return (datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minute)).astimezone(UTC)


def _steady_offset(day: date, zone: tzinfo) -> timedelta | None:
    """The zone's UTC offset all through ``day`` when it does not change that day (most days), else None."""
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    offsets = {(midnight + timedelta(hours=hours)).utcoffset() for hours in (0, 6, 12, 18, 24)}
    return offsets.pop() if len(offsets) == 1 else None


def _day_slots(day: date, intervals: Iterable[Interval], duration: int, zone: tzinfo) -> list[Slot]:
    """Every slot of ``duration`` minutes the hours of one local ``day`` hold, ignoring what blocks them."""
    step = min(GRID_MINUTES, duration)
    length = timedelta(minutes=duration)
    offset = _steady_offset(day, zone)
    utc_midnight = datetime.combine(day, time(0), tzinfo=UTC)
    slots = []
    for start, end in intervals:
        if offset is not None:  # no clock change that day: plain arithmetic
            for minute in range(start, end - duration + 1, step):
                starts_at = utc_midnight + timedelta(minutes=minute) - offset
                slots.append(Slot(starts_at, starts_at + length))
            continue
        end_at = _wall_bound(day, end, zone)
        for minute in range(start, end, step):
            starts_at = _wall_instant(day, minute, zone)
            if starts_at is not None and starts_at + length <= end_at:
                slots.append(Slot(starts_at, starts_at + length))
    return slots


# --------------------------------------------------------------------------- what is known about a window
@dataclass
class _Calendar:
    """A mentor's rules and commitments for the local dates ``first``..``last`` (whole ISO weeks counted)."""

    availability: Availability
    zone: tzinfo
    weekly: dict[int, list[Interval]]
    overrides: dict[date, list[Interval]]
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)  # widened by the buffers, merged
    busy_ends: list[datetime] = field(default_factory=list)
    per_day: Counter = field(default_factory=Counter)
    per_week: Counter = field(default_factory=Counter)

    def hours_on(self, day: date) -> list[Interval]:
        return self.overrides[day] if day in self.overrides else self.weekly.get(day.weekday(), [])

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def refusal(self, slot: Slot) -> MentoringError | None:
        """Why a slot within the hours is not free (taken, or a cap reached), or ``None``."""
        # ``busy`` is sorted and disjoint: the first range ending after the slot's start is the only one to ask.
        index = bisect_right(self.busy_ends, slot.starts_at)
        if index < len(self.busy) and self.busy[index][0] < slot.ends_at:
            return MentoringError(
                "That time is no longer free: the mentor has another session (or a request) then. Choose another slot.",
                code="slot_taken",
            )
        day = self.local_date(slot.starts_at)
        cap = self.availability.daily_cap
        if cap is not None and self.per_day[day] >= cap:
            return MentoringError(
                f"The mentor is fully booked on that day (at most {cap} a day). Choose another day.",
                code="cap_reached",
            )
        cap = self.availability.weekly_cap
        if cap is not None and self.per_week[day.isocalendar()[:2]] >= cap:
            return MentoringError(
                f"The mentor is fully booked that week (at most {cap} a week). Choose another week.",
                code="cap_reached",
            )
        return None


def _calendar(
    *,
    availability: Availability,
    first: date,
    last: date,
    ignore_session_id: int | None,
    ignore_request_id: int | None,
) -> _Calendar:
    zone = zone_or_utc(availability.time_zone)
    weekly: dict[int, list[Interval]] = {}
    for row in availability.weekly_hours.all():
        weekly.setdefault(row.weekday, []).append((row.start_minute, row.end_minute))
    overrides: dict[date, list[Interval]] = {}
    for row in DateOverride.objects.filter(availability=availability, date__range=(first, last)):
        hours = overrides.setdefault(row.date, [])
        if row.start_minute is not None and row.end_minute is not None:
            hours.append((row.start_minute, row.end_minute))
    for hours in (*weekly.values(), *overrides.values()):
        hours.sort()
    calendar = _Calendar(availability=availability, zone=zone, weekly=weekly, overrides=overrides)

    # Whole ISO weeks around the dates, for the weekly cap; a day's margin for the buffers and slot lengths.
    week_first = first - timedelta(days=first.weekday())
    week_last = last + timedelta(days=6 - last.weekday())
    since = datetime.combine(week_first - timedelta(days=1), time(0), tzinfo=UTC)
    until = datetime.combine(week_last + timedelta(days=2), time(0), tzinfo=UTC)
    mentor_id = availability.mentor_id
    sessions = Session.objects.filter(
        mentor_id=mentor_id, status=Session.Status.SCHEDULED, starts_at__lt=until, ends_at__gt=since
    )
    if ignore_session_id is not None:
        sessions = sessions.exclude(pk=ignore_session_id)
    requests = SessionRequest.objects.filter(
        mentor_id=mentor_id, status=SessionRequest.Status.PENDING, starts_at__lt=until, ends_at__gt=since
    )
    if ignore_request_id is not None:
        requests = requests.exclude(pk=ignore_request_id)
    commitments = [*sessions.values_list("starts_at", "ends_at"), *requests.values_list("starts_at", "ends_at")]

    pad = timedelta(minutes=max(availability.buffer_before, availability.buffer_after))
    for starts_at, ends_at in sorted(commitments):
        day = calendar.local_date(starts_at)
        if week_first <= day <= week_last:
            calendar.per_day[day] += 1
            calendar.per_week[day.isocalendar()[:2]] += 1
        widened = (starts_at - pad, ends_at + pad)
        if calendar.busy and widened[0] <= calendar.busy[-1][1]:
            calendar.busy[-1] = (calendar.busy[-1][0], max(calendar.busy[-1][1], widened[1]))
        else:
            calendar.busy.append(widened)
    calendar.busy_ends = [end for _, end in calendar.busy]
    return calendar


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# --------------------------------------------------------------------------- reads
def slots_free(
    *,
    mentor: User,
    duration_minutes: int,
    now: datetime | None = None,
    days: int | None = None,
    ignore_session_id: int | None = None,
    ignore_request_id: int | None = None,
    any_length: bool = False,
) -> list[Slot]:
    """The mentor's free slots of ``duration_minutes``, in time order, from ``now + min_notice`` up to
    ``min(days, max_days_ahead)`` days ahead. Empty when the mentor has no availability, does not offer
    that length (unless ``any_length``: moving a booked session keeps its own length), or is not listed.
    See the module's docstring for the rules."""
    if not mentor.pk or not mentor_is_listed(mentor_id=mentor.pk):
        return []
    availability = availability_get(mentor=mentor)
    if availability is None:
        return []
    return _free(
        availability=availability,
        duration=duration_minutes,
        now=now or timezone.now(),
        days=days,
        ignore_session_id=ignore_session_id,
        ignore_request_id=ignore_request_id,
        any_length=any_length,
    )


def slots_preview(*, availability: Availability, now: datetime | None = None, limit: int = 8) -> list[Slot]:
    """The next ``limit`` free slots of the first length offered, for the mentor's own page: the same
    rules as :func:`slots_free`, whether or not the mentor is listed yet."""
    lengths = availability_lengths(availability)
    if not lengths:
        return []
    return _free(availability=availability, duration=lengths[0], now=now or timezone.now(), limit=limit)


def _free(
    *,
    availability: Availability,
    duration: int,
    now: datetime,
    days: int | None = None,
    ignore_session_id: int | None = None,
    ignore_request_id: int | None = None,
    limit: int | None = None,
    any_length: bool = False,
) -> list[Slot]:
    if not _length_allowed(availability, duration, any_length=any_length):
        return []
    ahead = availability.max_days_ahead if days is None else min(days, availability.max_days_ahead)
    if ahead <= 0:
        return []
    earliest = now + timedelta(minutes=availability.min_notice)
    latest = now + timedelta(days=ahead)
    zone = zone_or_utc(availability.time_zone)
    first, last = earliest.astimezone(zone).date(), latest.astimezone(zone).date()
    calendar = _calendar(
        availability=availability,
        first=first,
        last=last,
        ignore_session_id=ignore_session_id,
        ignore_request_id=ignore_request_id,
    )
    free: dict[datetime, Slot] = {}
    for day in _days(first, last):
        for slot in _day_slots(day, calendar.hours_on(day), duration, zone):
            if earliest <= slot.starts_at <= latest and slot.starts_at not in free and calendar.refusal(slot) is None:
                free[slot.starts_at] = slot
        if limit is not None and len(free) >= limit:
            break
    slots = sorted(free.values(), key=lambda slot: slot.starts_at)
    return slots[:limit] if limit is not None else slots


def availability_summary(*, availability: Availability | None) -> str:
    """One line for the mentor: "Mon–Fri · 30 or 60 min · Europe/Berlin · accepted automatically"; empty
    when nothing can be requested (no rules, no lengths or no weekly hours)."""
    if availability is None:
        return ""
    lengths = availability_lengths(availability)
    weekdays = sorted({row.weekday for row in availability.weekly_hours.all()})
    if not lengths or not weekdays:
        return ""
    runs: list[list[int]] = []
    for weekday in weekdays:
        if runs and runs[-1][-1] == weekday - 1:
            runs[-1].append(weekday)
        else:
            runs.append([weekday])
    short = [name[:3] for name in WEEKDAY_NAMES]
    days = ", ".join(
        f"{short[run[0]]}–{short[run[-1]]}" if len(run) > 2 else ", ".join(short[d] for d in run) for run in runs
    )
    parts = [days, f"{_lengths_text(lengths)} min", availability.time_zone]
    if availability.auto_accept:
        parts.append("accepted automatically")
    return " · ".join(parts)


def slot_check(
    *,
    mentor: User,
    starts_at: datetime,
    duration_minutes: int,
    now: datetime | None = None,
    ignore_session_id: int | None = None,
    ignore_request_id: int | None = None,
    any_length: bool = False,
) -> None:
    """Refuse a start that :func:`slots_free` would not offer, with the reason: ``MentoringError`` with
    code ``unavailable`` (no availability, no lengths, or not listed), ``length_not_offered``,
    ``too_soon``, ``too_far``, ``outside_hours`` (not one of the slot starts of the hours),
    ``slot_taken`` or ``cap_reached``."""
    now = now or timezone.now()
    if not isinstance(starts_at, datetime) or timezone.is_naive(starts_at):
        raise MentoringError("That time is not one of the mentor's available times.", code="outside_hours")
    availability = availability_get(mentor=mentor) if mentor.pk else None
    if availability is None or not availability_lengths(availability) or not mentor_is_listed(mentor_id=mentor.pk):
        raise MentoringError("This mentor does not take one-to-one requests at the moment.", code="unavailable")
    lengths = availability_lengths(availability)
    if not _length_allowed(availability, duration_minutes, any_length=any_length):
        raise MentoringError(
            f"This mentor offers sessions of {_lengths_text(lengths)} minutes: choose one of those lengths.",
            code="length_not_offered",
        )
    if starts_at < now + timedelta(minutes=availability.min_notice):
        raise MentoringError(
            f"This mentor needs {_notice_text(availability.min_notice)} notice: choose a later time.",
            code="too_soon",
        )
    if starts_at > now + timedelta(days=availability.max_days_ahead):
        raise MentoringError(
            f"This mentor takes requests up to {availability.max_days_ahead} days ahead: choose an earlier time.",
            code="too_far",
        )
    zone = zone_or_utc(availability.time_zone)
    day = starts_at.astimezone(zone).date()
    calendar = _calendar(
        availability=availability,
        first=day,
        last=day,
        ignore_session_id=ignore_session_id,
        ignore_request_id=ignore_request_id,
    )
    slot = next(
        (s for s in _day_slots(day, calendar.hours_on(day), duration_minutes, zone) if s.starts_at == starts_at),
        None,
    )
    if slot is None:
        raise MentoringError(
            "That time is outside the mentor's hours: choose one of the free slots.", code="outside_hours"
        )
    refusal = calendar.refusal(slot)
    if refusal is not None:
        raise refusal


def _length_allowed(availability: Availability, duration: int, *, any_length: bool) -> bool:
    if any_length:
        return isinstance(duration, int) and Session.MIN_DURATION <= duration <= Session.MAX_DURATION
    return duration in availability_lengths(availability)


def availability_lengths(availability: Availability | None) -> list[int]:
    """The 1:1 lengths offered, shortest first, read defensively (the JSON field is edited in the admin
    too); empty without availability."""
    raw = availability.session_lengths if availability and isinstance(availability.session_lengths, list) else []
    return sorted({x for x in raw if type(x) is int and LENGTH_MIN <= x <= LENGTH_MAX})


def _lengths_text(lengths: list[int]) -> str:
    """[30, 45, 60] as "30, 45 or 60"."""
    head = ", ".join(str(length) for length in lengths[:-1])
    return f"{head} or {lengths[-1]}" if head else str(lengths[-1])


def _notice_text(minutes: int) -> str:
    if minutes % DAY_MINUTES == 0 and minutes >= DAY_MINUTES:
        days = minutes // DAY_MINUTES
        return f"{days} day{'s' if days != 1 else ''}'"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}'" if hours != 1 else "an hour's"
    return f"{minutes} minutes'"


# --------------------------------------------------------------------------- writes
def _int(value, *, name: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise MentoringError(f"{name} must be a whole number from {low} to {high}.", code="invalid")
    return value


def _intervals(intervals, *, label: str) -> list[Interval]:
    """Validated, sorted intervals of one day; ``label`` names the day in messages."""
    if not isinstance(intervals, list | tuple):
        raise MentoringError(f"{label}: the hours are not a list of intervals.", code="invalid_hours")
    if len(intervals) > 24:
        raise MentoringError(f"{label}: at most 24 intervals a day.", code="invalid_hours")
    clean: list[Interval] = []
    for interval in intervals:
        if not isinstance(interval, list | tuple) or len(interval) != 2:
            raise MentoringError(f"{label}: each interval is a start and an end.", code="invalid_hours")
        start, end = interval
        if type(start) is not int or type(end) is not int or not 0 <= start < end <= DAY_MINUTES:
            raise MentoringError(
                f"{label}: an interval must start before it ends, between 00:00 and 24:00.", code="invalid_hours"
            )
        clean.append((start, end))
    clean.sort()
    for (start_a, end_a), (start_b, end_b) in zip(clean, clean[1:], strict=False):
        if start_b < end_a:
            raise MentoringError(
                f"{label}: {format_minutes(start_a)}–{format_minutes(end_a)} overlaps "
                f"{format_minutes(start_b)}–{format_minutes(end_b)}.",
                code="invalid_hours",
            )
    return clean


def _session_lengths(lengths) -> list[int]:
    if not isinstance(lengths, list | tuple):
        raise MentoringError("Session lengths must be a list of minutes.", code="invalid_lengths")
    clean = set()
    for length in lengths:
        if type(length) is not int or not LENGTH_MIN <= length <= LENGTH_MAX or length % LENGTH_STEP:
            raise MentoringError(
                f"Session lengths are between {LENGTH_MIN} and {LENGTH_MAX} minutes, in steps of {LENGTH_STEP}.",
                code="invalid_lengths",
            )
        clean.add(length)
    if len(clean) > MAX_LENGTHS:
        raise MentoringError(f"Offer at most {MAX_LENGTHS} session lengths.", code="invalid_lengths")
    return sorted(clean)


def _cap(value, *, name: str) -> int | None:
    if value is None:
        return None
    return _int(value, name=name, low=1, high=CAP_MAX)


def _require_mentor(mentor: User) -> None:
    if not mentor.pk or not mentor.is_mentor:
        raise MentoringError("Only mentors set availability.", code="not_mentor")


def _zone_name(name) -> str:
    if not isinstance(name, str) or not is_valid_timezone(name):
        raise MentoringError("Choose a time zone from the list (an IANA name like Europe/Berlin).", code="zone")
    ZoneInfo(name)  # the list only holds names zoneinfo knows
    return name


def availability_rules_check(
    *, time_zone: str, session_lengths: list[int], daily_cap: int | None, weekly_cap: int | None
) -> tuple[str, list[int], int | None, int | None]:
    """The zone, lengths and caps checked (for :func:`availability_update` and the admin's form):
    cleaned, or a ``MentoringError`` naming the problem."""
    zone = _zone_name(time_zone)
    lengths = _session_lengths(session_lengths)
    day_cap = _cap(daily_cap, name="The daily limit")
    week_cap = _cap(weekly_cap, name="The weekly limit")
    if day_cap is not None and week_cap is not None and week_cap < day_cap:
        raise MentoringError("The weekly limit cannot be lower than the daily limit.", code="invalid")
    return zone, lengths, day_cap, week_cap


@transaction.atomic
def availability_update(
    *,
    mentor: User,
    time_zone: str,
    session_lengths: list[int],
    buffer_before: int,
    buffer_after: int,
    min_notice: int,
    max_days_ahead: int,
    daily_cap: int | None,
    weekly_cap: int | None,
    auto_accept: bool,
    weekly_hours: Mapping[int, list[Interval]],
) -> Availability:
    """Save a mentor's rules, replacing every weekly interval (weekdays 0 = Monday .. 6, minutes after
    local midnight). ``min_notice`` is in minutes, ``max_days_ahead`` in days, buffers in minutes.
    Everything is checked first: a ``MentoringError`` names the first problem and nothing changes."""
    _require_mentor(mentor)
    zone, lengths, day_cap, week_cap = availability_rules_check(
        time_zone=time_zone, session_lengths=session_lengths, daily_cap=daily_cap, weekly_cap=weekly_cap
    )
    before = _int(buffer_before, name="The buffer before a session", low=0, high=Availability.MAX_BUFFER)
    after = _int(buffer_after, name="The buffer after a session", low=0, high=Availability.MAX_BUFFER)
    notice = _int(min_notice, name="The minimum notice (minutes)", low=0, high=Availability.MAX_NOTICE)
    ahead = _int(max_days_ahead, name="How far ahead (days)", low=1, high=Availability.MAX_AHEAD_DAYS)
    if not isinstance(auto_accept, bool):
        raise MentoringError("Accept automatically is yes or no.", code="invalid")
    if not isinstance(weekly_hours, Mapping):
        raise MentoringError("The weekly hours are not a list of weekdays.", code="invalid_hours")
    hours: dict[int, list[Interval]] = {}
    for weekday, intervals in weekly_hours.items():
        if type(weekday) is not int or not 0 <= weekday <= 6:
            raise MentoringError("Weekdays are 0 (Monday) to 6 (Sunday).", code="invalid_hours")
        hours[weekday] = _intervals(intervals, label=WEEKDAY_NAMES[weekday])

    availability = Availability.objects.select_for_update().filter(mentor=mentor).first()
    if availability is None:
        availability = Availability(mentor=mentor)
    availability.time_zone = zone
    availability.session_lengths = lengths
    availability.buffer_before = before
    availability.buffer_after = after
    availability.min_notice = notice
    availability.max_days_ahead = ahead
    availability.daily_cap = day_cap
    availability.weekly_cap = week_cap
    availability.auto_accept = auto_accept
    availability.save()
    WeeklyHours.objects.filter(availability=availability).delete()
    WeeklyHours.objects.bulk_create(
        WeeklyHours(availability=availability, weekday=weekday, start_minute=start, end_minute=end)
        for weekday, intervals in sorted(hours.items())
        for start, end in intervals
    )
    return availability


def _availability_for_overrides(mentor: User) -> Availability:
    _require_mentor(mentor)
    availability = Availability.objects.select_for_update().filter(mentor=mentor).first()
    if availability is None:
        # Rules with no lengths offer nothing yet; the zone is the mentor's own.
        zone = mentor.time_zone if is_valid_timezone(mentor.time_zone) else "UTC"
        availability = Availability.objects.create(mentor=mentor, time_zone=zone)
    return availability


def _is_date(value) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _override_date(availability: Availability, day, *, now: datetime | None = None) -> date:
    if not _is_date(day):
        raise MentoringError("Choose a date.", code="invalid_date")
    today = (now or timezone.now()).astimezone(zone_or_utc(availability.time_zone)).date()
    if not today <= day <= today + timedelta(days=Availability.MAX_AHEAD_DAYS):
        raise MentoringError("Choose a date from today up to a year ahead.", code="invalid_date")
    return day


@transaction.atomic
def date_override_set(
    *, mentor: User, date: date, intervals: list[Interval], now: datetime | None = None
) -> list[DateOverride]:
    """Set the hours of one local date, replacing its weekday's hours (and any earlier override of that
    date). No intervals make it a day off. The date is from today (mentor's zone) up to a year ahead."""
    availability = _availability_for_overrides(mentor)
    day = _override_date(availability, date, now=now)
    clean = _intervals(intervals, label=f"{day:%a} {day.day} {day:%b %Y}")
    DateOverride.objects.filter(availability=availability, date=day).delete()
    rows = [DateOverride(availability=availability, date=day, start_minute=s, end_minute=e) for s, e in clean] or [
        DateOverride(availability=availability, date=day)
    ]
    return DateOverride.objects.bulk_create(rows)


@transaction.atomic
def date_override_remove(*, mentor: User, date: date) -> None:
    """Forget the override of that date (its weekday's hours apply again). Removing none is no error."""
    _require_mentor(mentor)
    if not _is_date(date):
        raise MentoringError("Choose a date.", code="invalid_date")
    DateOverride.objects.filter(availability__mentor=mentor, date=date).delete()
