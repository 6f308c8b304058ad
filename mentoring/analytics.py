"""Reads for the staff analytics page: weekly aggregates over the last weeks, and the bar charts' geometry.

Every figure comes from a fixed handful of aggregate queries, however many sessions there are.
Weeks start on Monday, 00:00 UTC. A session belongs to the week of its start; cancelled sessions
(and their bookings and feedback) are left out of every figure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from .models import Booking, CallAttendance, Feedback, Session

WEEKS = 12
MAX_WEEKS = 53  # a chosen range is at most about a year
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TOP_LIMIT = 8
LATE_CANCEL_DAYS = 90  # late cancellations are counted over this many days, by when they happened
ATTENDANCE_NOTE = "no finished sessions with bookings yet"
CSV_HEADER = [
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


# --------------------------------------------------------------------------- the window
def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the week ``moment`` falls in."""
    moment = moment.astimezone(UTC)
    return (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def analytics_window(*, now: datetime | None = None, weeks: int = WEEKS) -> tuple[datetime, datetime]:
    """[start, end): the current week and the ``weeks - 1`` weeks before it."""
    current = week_start(now or timezone.now())
    return current - timedelta(weeks=weeks - 1), current + timedelta(weeks=1)


class AnalyticsRangeError(ValueError):
    """A chosen date range the page cannot show; the message says why, for the person who chose it."""


def analytics_window_between(*, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """[start, end): the whole weeks from the one ``first_day`` falls in to the one ``last_day`` falls in."""
    start = week_start(datetime.combine(first_day, time(), tzinfo=UTC))
    return start, week_start(datetime.combine(last_day, time(), tzinfo=UTC)) + timedelta(weeks=1)


def analytics_range_parse(
    first: str | None, last: str | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The window for ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (the default window when neither is given).
    Raises ``AnalyticsRangeError`` for anything else, never echoing the input back."""
    if not first and not last:
        return analytics_window(now=now)
    days = []
    for label, text in (("From", first), ("To", last)):
        if not text:
            raise AnalyticsRangeError("Choose both dates, from and to.")
        if not ISO_DAY.fullmatch(text):
            raise AnalyticsRangeError(f"{label}: write the date as YYYY-MM-DD.")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise AnalyticsRangeError(f"{label}: that day is not on the calendar.") from None
        if not FIRST_DAY <= day <= LAST_DAY:
            raise AnalyticsRangeError(f"{label}: choose a day between {FIRST_DAY:%Y} and {LAST_DAY:%Y}.")
        days.append(day)
    if days[0] > days[1]:
        raise AnalyticsRangeError("From must not be after To.")
    start, end = analytics_window_between(first_day=days[0], last_day=days[1])
    if end - start > timedelta(weeks=MAX_WEEKS):
        raise AnalyticsRangeError(f"Choose at most {MAX_WEEKS} weeks.")
    return start, end


def _counted_sessions(*, start: datetime, end: datetime) -> QuerySet[Session]:
    return Session.objects.filter(starts_at__gte=start, starts_at__lt=end).exclude(status=Session.Status.CANCELLED)


def _week_key(value: datetime) -> date:
    return value.astimezone(UTC).date()


# --------------------------------------------------------------------------- figures
class _Rates:
    """Fill rate and average rating, derived from seat and rating totals (weekly or overall)."""

    capacity: int
    booked_seats: int
    rating_sum: int
    rating_count: int

    @property
    def fill_rate(self) -> float | None:
        return self.booked_seats / self.capacity if self.capacity else None

    @property
    def fill_percent(self) -> float | None:
        rate = self.fill_rate
        return None if rate is None else rate * 100

    @property
    def average_rating(self) -> float | None:
        return self.rating_sum / self.rating_count if self.rating_count else None


@dataclass(frozen=True)
class WeekStats(_Rates):
    week_start: date
    sessions: int = 0
    bookings: int = 0
    capacity: int = 0
    booked_seats: int = 0
    rating_sum: int = 0
    rating_count: int = 0
    finished_bookings: int = 0  # active bookings on sessions that have ended
    joined: int = 0  # of those, the learners who joined the call

    @property
    def attendance_rate(self) -> float | None:
        return self.joined / self.finished_bookings if self.finished_bookings else None


@dataclass(frozen=True)
class SkillStat:
    name: str
    bookings: int


@dataclass(frozen=True)
class MentorStat:
    name: str
    sessions: int
    bookings: int


@dataclass(frozen=True)
class AnalyticsOverview(_Rates):
    start: datetime
    end: datetime
    weeks: list[WeekStats]
    top_skills: list[SkillStat]
    busiest_mentors: list[MentorStat]
    most_booked_sessions: list[Session]
    late_cancellations: list[LateCancellations] = field(default_factory=list)

    @property
    def late_days(self) -> int:
        return LATE_CANCEL_DAYS

    @property
    def late_hours(self) -> int:
        return settings.LATE_CANCEL_HOURS

    @property
    def attendance(self) -> str:
        return attendance_text(
            finished_bookings=sum(w.finished_bookings for w in self.weeks), joined=sum(w.joined for w in self.weeks)
        )

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    @property
    def sessions(self) -> int:
        return sum(w.sessions for w in self.weeks)

    @property
    def bookings(self) -> int:
        return sum(w.bookings for w in self.weeks)

    @property
    def capacity(self) -> int:
        return sum(w.capacity for w in self.weeks)

    @property
    def booked_seats(self) -> int:
        return sum(w.booked_seats for w in self.weeks)

    @property
    def rating_count(self) -> int:
        return sum(w.rating_count for w in self.weeks)

    @property
    def rating_sum(self) -> int:
        return sum(w.rating_sum for w in self.weeks)


def weekly_stats(*, start: datetime, end: datetime, now: datetime | None = None) -> list[WeekStats]:
    """One row per week in [start, end), empty weeks included. Four queries."""
    sessions = (
        _counted_sessions(start=start, end=end)
        .annotate(week=TruncWeek("starts_at", tzinfo=UTC))
        .values("week")
        .annotate(sessions=Count("id"), capacity=Sum("capacity"), booked_seats=Sum("booked_count"))
        .order_by()
    )
    bookings = (
        Booking.objects.filter(status=Booking.Status.ACTIVE, session__starts_at__gte=start, session__starts_at__lt=end)
        .exclude(session__status=Session.Status.CANCELLED)
        .annotate(week=TruncWeek("session__starts_at", tzinfo=UTC))
        .values("week")
        .annotate(bookings=Count("id"))
        .order_by()
    )
    ratings = (
        Feedback.objects.filter(hidden=False, session__starts_at__gte=start, session__starts_at__lt=end)
        .exclude(session__status=Session.Status.CANCELLED)
        .annotate(week=TruncWeek("session__starts_at", tzinfo=UTC))
        .values("week")
        .annotate(rating_sum=Sum("rating"), rating_count=Count("id"))
        .order_by()
    )
    attendance = (
        _finished_bookings(start=start, end=end, now=now)
        .annotate(week=TruncWeek("session__starts_at", tzinfo=UTC))
        .values("week")
        .annotate(finished_bookings=Count("id"), joined=Count("id", filter=Q(came=True)))
        .order_by()
    )
    rows: dict[date, dict[str, int]] = {}
    for row in attendance:
        rows.setdefault(_week_key(row["week"]), {}).update(
            finished_bookings=row["finished_bookings"], joined=row["joined"]
        )
    for row in sessions:
        rows.setdefault(_week_key(row["week"]), {}).update(
            sessions=row["sessions"], capacity=row["capacity"] or 0, booked_seats=row["booked_seats"] or 0
        )
    for row in bookings:
        rows.setdefault(_week_key(row["week"]), {})["bookings"] = row["bookings"]
    for row in ratings:
        rows.setdefault(_week_key(row["week"]), {}).update(
            rating_sum=row["rating_sum"] or 0, rating_count=row["rating_count"]
        )
    weeks = []
    monday = start
    while monday < end:
        weeks.append(WeekStats(week_start=monday.date(), **rows.get(monday.date(), {})))
        monday += timedelta(weeks=1)
    return weeks


def top_skills(*, start: datetime, end: datetime, limit: int = TOP_LIMIT) -> list[SkillStat]:
    """Skills by active bookings on (non-cancelled) sessions carrying them. One query."""
    rows = (
        Booking.objects.filter(
            status=Booking.Status.ACTIVE,
            session__starts_at__gte=start,
            session__starts_at__lt=end,
            session__skills__isnull=False,
        )
        .exclude(session__status=Session.Status.CANCELLED)
        .values("session__skills__id", "session__skills__name")
        .annotate(bookings=Count("id"))
        .order_by("-bookings", "session__skills__name")[:limit]
    )
    return [SkillStat(name=row["session__skills__name"], bookings=row["bookings"]) for row in rows]


def busiest_mentors(*, start: datetime, end: datetime, limit: int = TOP_LIMIT) -> list[MentorStat]:
    """Mentors by non-cancelled sessions, then by active bookings on them. One query."""
    rows = (
        _counted_sessions(start=start, end=end)
        .values("mentor_id", "mentor__display_name", "mentor__email")
        .annotate(
            sessions=Count("id", distinct=True),
            bookings=Count("bookings", filter=Q(bookings__status=Booking.Status.ACTIVE)),
        )
        .order_by("-sessions", "-bookings", "mentor__display_name", "mentor_id")[:limit]
    )
    return [
        MentorStat(
            name=row["mentor__display_name"] or row["mentor__email"], sessions=row["sessions"], bookings=row["bookings"]
        )
        for row in rows
    ]


def most_booked_sessions(*, start: datetime, end: datetime, limit: int = TOP_LIMIT) -> list[Session]:
    """The non-cancelled sessions with the most booked seats. One query."""
    return list(
        _counted_sessions(start=start, end=end)
        .filter(booked_count__gt=0)
        .select_related("mentor")
        .order_by("-booked_count", "starts_at", "id")[:limit]
    )


def _finished_bookings(*, start: datetime, end: datetime, now: datetime | None) -> QuerySet[Booking]:
    """Active bookings on finished, non-cancelled sessions starting in [start, end), each with
    ``came``: whether the learner joined the call."""
    joined = CallAttendance.objects.filter(session_id=OuterRef("session_id"), user_id=OuterRef("learner_id"))
    return (
        Booking.objects.filter(
            status=Booking.Status.ACTIVE,
            session__starts_at__gte=start,
            session__starts_at__lt=end,
            session__ends_at__lte=now or timezone.now(),
        )
        .exclude(session__status=Session.Status.CANCELLED)
        .annotate(came=Exists(joined))
    )


def attendance_text(*, finished_bookings: int, joined: int) -> str:
    if not finished_bookings:
        return ATTENDANCE_NOTE
    return f"{100 * joined / finished_bookings:.1f}% ({joined} of {finished_bookings} booked learners joined)"


def attendance_summary(*, start: datetime, end: datetime, now: datetime | None = None) -> str:
    """Of the learners booked on finished, non-cancelled sessions in the window, how many joined the call."""
    counts = _finished_bookings(start=start, end=end, now=now).aggregate(
        total=Count("pk"), attended=Count("pk", filter=Q(came=True))
    )
    return attendance_text(finished_bookings=counts["total"], joined=counts["attended"])


# --------------------------------------------------------------------------- late cancellations
@dataclass(frozen=True)
class LateCancellations:
    """Cancellations within ``LATE_CANCEL_HOURS`` of the start, made in the last ``LATE_CANCEL_DAYS``
    days: whole sessions the mentor cancelled, and seats learners gave up on the mentor's sessions."""

    by_mentor: int = 0
    by_learners: int = 0
    name: str = ""

    @property
    def total(self) -> int:
        return self.by_mentor + self.by_learners


def late_cancel_since(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=LATE_CANCEL_DAYS)


def mentor_late_cancellations(*, mentor_id: int, now: datetime | None = None) -> LateCancellations:
    """One mentor's late cancellations over the last ``LATE_CANCEL_DAYS`` days (their dashboard). One query."""
    since = late_cancel_since(now)
    counts = Session.objects.filter(mentor_id=mentor_id).aggregate(
        by_mentor=Count("id", distinct=True, filter=Q(cancelled_late=True, cancelled_at__gte=since)),
        by_learners=Count(
            "bookings", distinct=True, filter=Q(bookings__cancelled_late=True, bookings__cancelled_at__gte=since)
        ),
    )
    return LateCancellations(by_mentor=counts["by_mentor"], by_learners=counts["by_learners"])


def late_cancellations_by_mentor(*, now: datetime | None = None, limit: int = 20) -> list[LateCancellations]:
    """Mentors with late cancellations over the last ``LATE_CANCEL_DAYS`` days, most first. Two queries."""
    since = late_cancel_since(now)
    by_mentor = (
        Session.objects.filter(cancelled_late=True, cancelled_at__gte=since)
        .values("mentor_id", "mentor__display_name", "mentor__email")
        .annotate(late=Count("id"))
        .order_by()
    )
    by_learners = (
        Booking.objects.filter(cancelled_late=True, cancelled_at__gte=since)
        .values("session__mentor_id", "session__mentor__display_name", "session__mentor__email")
        .annotate(late=Count("id"))
        .order_by()
    )
    rows: dict[int, dict] = {}
    for row in by_mentor:
        name = row["mentor__display_name"] or row["mentor__email"]
        rows.setdefault(row["mentor_id"], {"name": name})["by_mentor"] = row["late"]
    for row in by_learners:
        name = row["session__mentor__display_name"] or row["session__mentor__email"]
        rows.setdefault(row["session__mentor_id"], {"name": name})["by_learners"] = row["late"]
    stats = [LateCancellations(**row) for row in rows.values()]
    return sorted(stats, key=lambda s: (-s.by_mentor, -s.total, s.name))[:limit]


def analytics_overview(
    *, now: datetime | None = None, weeks: int = WEEKS, start: datetime | None = None, end: datetime | None = None
) -> AnalyticsOverview:
    """Everything the analytics page shows, for [start, end) (by default the last ``weeks`` weeks).
    Nine queries, whatever the amount of data."""
    if start is None or end is None:
        start, end = analytics_window(now=now, weeks=weeks)
    return AnalyticsOverview(
        start=start,
        end=end,
        weeks=weekly_stats(start=start, end=end, now=now),
        top_skills=top_skills(start=start, end=end),
        busiest_mentors=busiest_mentors(start=start, end=end),
        most_booked_sessions=most_booked_sessions(start=start, end=end),
        late_cancellations=late_cancellations_by_mentor(now=now),
    )


# --------------------------------------------------------------------------- output
def _ratio(value: float | None, places: int) -> str:
    return "" if value is None else f"{value:.{places}f}"


def weekly_csv_rows(weeks: Sequence[WeekStats]) -> list[list[str]]:
    """The CSV export: a header, then one row per week. Numbers and dates only (no user text)."""
    rows = [list(CSV_HEADER)]
    for week in weeks:
        rows.append(
            [
                week.week_start.isoformat(),
                str(week.sessions),
                str(week.bookings),
                str(week.capacity),
                str(week.booked_seats),
                _ratio(week.fill_rate, 3),
                _ratio(week.average_rating, 2),
                str(week.finished_bookings),
                str(week.joined),
                _ratio(week.attendance_rate, 3),
            ]
        )
    return rows


def week_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def analytics_charts(overview: AnalyticsOverview) -> dict[str, BarChart]:
    labels = [week_label(w.week_start) for w in overview.weeks]

    def percent_chart(rates: list[float | None], title: str) -> BarChart:
        shown = [None if rate is None else round(rate * 100, 1) for rate in rates]
        return bar_chart(labels, shown, title=title, value_suffix="%", max_value=100)

    return {
        "sessions": bar_chart(labels, [w.sessions for w in overview.weeks], title="Sessions per week"),
        "bookings": bar_chart(labels, [w.bookings for w in overview.weeks], title="Bookings per week"),
        "fill_rate": percent_chart([w.fill_rate for w in overview.weeks], "Fill rate per week (%)"),
        "attendance": percent_chart([w.attendance_rate for w in overview.weeks], "Attendance per week (%)"),
        "rating": bar_chart(
            labels,
            [None if w.average_rating is None else round(w.average_rating, 2) for w in overview.weeks],
            title="Average rating per week (out of 5)",
            max_value=5,
        ),
        "skills": bar_chart(
            [s.name for s in overview.top_skills],
            [s.bookings for s in overview.top_skills],
            title="Top skills by bookings",
        ),
        "mentors": bar_chart(
            [m.name for m in overview.busiest_mentors],
            [m.sessions for m in overview.busiest_mentors],
            title="Busiest mentors by sessions",
        ),
    }


# --------------------------------------------------------------------------- chart
# The geometry of a horizontal bar chart; templates/mentoring/charts/bar_chart.html draws it as SVG.
CHART_WIDTH = 520
LABEL_WIDTH = 160
VALUE_WIDTH = 60
ROW_HEIGHT = 26
BAR_HEIGHT = 18
PADDING = 8
LABEL_CHARS = 20


@dataclass(frozen=True)
class BarChartRow:
    label: str  # whole, in the row's <title>
    short: str  # what fits beside the bar
    shown: str  # the value as read: "3", "57.1%", "—"
    y: int  # the bar's top
    width: int  # the bar's

    @property
    def text_y(self) -> int:
        """The baseline of the row's label and value."""
        return self.y + BAR_HEIGHT - 4

    @property
    def value_x(self) -> int:
        return LABEL_WIDTH + self.width + 6


@dataclass(frozen=True)
class BarChart:
    title: str
    rows: list[BarChartRow]
    width: int = CHART_WIDTH
    label_x: int = LABEL_WIDTH - 8  # labels end here
    bar_x: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT
    padding: int = PADDING

    @property
    def height(self) -> int:
        return 2 * PADDING + max(1, len(self.rows)) * ROW_HEIGHT  # an empty chart keeps one row for "No data yet"

    @property
    def empty_text_y(self) -> int:
        return PADDING + BAR_HEIGHT - 4


def _number(value: float | int | None, suffix: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}{suffix}"
    return f"{int(value)}{suffix}"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | int | None],
    *,
    title: str,
    value_suffix: str = "",
    max_value: float | None = None,
) -> BarChart:
    """A horizontal bar chart, one row per label, for ``mentoring/charts/bar_chart.html``.

    The largest value (or ``max_value``) gets the whole bar space; ``None`` values draw no bar and
    read "—"."""
    if len(labels) != len(values):
        raise ValueError("bar_chart needs as many values as labels")
    bar_space = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    top = max([max_value or 0, *(v or 0 for v in values)])
    rows = [
        BarChartRow(
            label=str(label),
            short=_short(str(label)),
            shown=_number(value, value_suffix),
            y=PADDING + index * ROW_HEIGHT,
            width=round(bar_space * (value or 0) / top) if top else 0,
        )
        for index, (label, value) in enumerate(zip(labels, values, strict=True))
    ]
    return BarChart(title=title, rows=rows)
