"""Recurring group sessions: a weekly or fortnightly series whose occurrences are ordinary sessions.

An occurrence keeps the mentor's local wall-clock time: a series at 18:00 in Berlin stays at 18:00 in
Berlin when the clocks change (its UTC instant moves by the hour instead). A time the clocks skip on
one date (02:30 on the night summer time starts) falls an hour later that date, as calendar apps do.

Every occurrence goes through the one-session services (``session_create``, ``session_update``,
``session_cancel``, ``booking_create``), so their rules and notifications hold for each date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.dates import safe_localtime, zone_or_utc
from portal.validators import squash_to_one_line

from ..models import Session, SessionSeries, Skill
from ..selectors import series_future_occurrences, series_upcoming_occurrences, session_may_cancel, sessions_mentored_by
from . import SAME_SUBMISSION_WINDOW, MentoringError, SessionFull
from .bookings import booking_create
from .notifications import Invite, notify
from .sessions import SESSION_MAX_AHEAD_DAYS, session_cancel, session_create, session_update
from .text import text_multi_line, text_one_line

MIN_OCCURRENCES = 2
STEP_DAYS = {SessionSeries.Frequency.WEEKLY: 7, SessionSeries.Frequency.FORTNIGHTLY: 14}


# --------------------------------------------------------------------------- dates
def _wall_clock(instant: datetime, zone: tzinfo) -> datetime:
    """The naive local time ``instant`` shows on a clock in ``zone``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def _instant(wall_clock: datetime, zone: tzinfo) -> datetime:
    """The aware UTC instant of a local wall-clock time in ``zone``. A time the clocks skip is read with
    the offset before the change (so it lands that much later); a time that happens twice, the first."""
    return wall_clock.replace(tzinfo=zone).astimezone(UTC)


def series_when(instant: datetime, zone: tzinfo | str) -> str:
    """A date of a series for a message: "Tue 3 Mar 2026, 18:00" in the given zone."""
    local = safe_localtime(instant, zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def _dates_text(instants: Iterable[datetime], zone: tzinfo | str) -> str:
    return "; ".join(series_when(instant, zone) for instant in instants)


def series_starts(
    *,
    first: datetime,
    time_zone: str,
    frequency: str,
    occurrences: int | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> list[datetime]:
    """The starts of a series, as aware UTC instants at the same local time in ``time_zone``: either
    ``occurrences`` dates, or every date up to and including ``until`` (a date in that zone). Refused
    unless it makes 2 to ``SessionSeries.MAX_OCCURRENCES`` dates, all within the window sessions are
    offered in (up to 2 years ahead)."""
    now = now or timezone.now()
    if frequency not in STEP_DAYS:
        raise MentoringError(
            "Choose how often the session repeats: every week or every two weeks.", code="series_frequency"
        )
    if (occurrences is None) == (until is None):
        raise MentoringError("Give either the number of dates or the end date of the series.", code="series_count")
    zone = zone_or_utc(time_zone)
    step = timedelta(days=STEP_DAYS[frequency])
    latest = now + timedelta(days=SESSION_MAX_AHEAD_DAYS)
    most = SessionSeries.MAX_OCCURRENCES
    start_clock = _wall_clock(first, zone)
    if occurrences is not None:
        if not MIN_OCCURRENCES <= occurrences <= most:
            raise MentoringError(f"A series has {MIN_OCCURRENCES} to {most} dates.", code="series_count")
        clocks = [start_clock + step * index for index in range(occurrences)]
    else:
        if until < start_clock.date():
            raise MentoringError("The end date is before the first session: choose a later one.", code="series_until")
        if until > safe_localtime(latest, zone).date():
            raise MentoringError(
                f"A series can run up to 2 years ahead: choose an end date by {safe_localtime(latest, zone):%d %b %Y}.",
                code="series_until",
            )
        clocks = []
        clock = start_clock
        while clock.date() <= until:
            if len(clocks) == most:
                raise MentoringError(
                    f"That end date makes more than {most} dates: choose an earlier one (a series has at most {most}).",
                    code="series_until",
                )
            clocks.append(clock)
            clock += step
        if len(clocks) < MIN_OCCURRENCES:
            raise MentoringError(
                "That end date leaves a single date: choose a later one for a series, or do not repeat.",
                code="series_until",
            )
    starts = [_instant(clock, zone) for clock in clocks]
    if starts[-1] > latest:
        raise MentoringError(
            f"The last date, {series_when(starts[-1], zone)}, would be more than 2 years ahead: "
            "choose fewer dates or an earlier start.",
            code="series_count",
        )
    return starts


def _clashes(
    *, mentor: User, slots: list[tuple[datetime, datetime]], exclude_pks: Iterable[int] = ()
) -> list[datetime]:
    """The starts among ``slots`` that overlap another scheduled session of the mentor (one query)."""
    if not slots:
        return []
    others = list(
        Session.objects.filter(
            mentor=mentor,
            status=Session.Status.SCHEDULED,
            starts_at__lt=max(end for _, end in slots),
            ends_at__gt=min(start for start, _ in slots),
        )
        .exclude(pk__in=list(exclude_pks))
        .values_list("starts_at", "ends_at")
    )
    return [start for start, end in slots if any(s < end and e > start for s, e in others)]


# --------------------------------------------------------------------------- create
def series_create(
    *,
    mentor: User,
    title: str,
    description: str = "",
    skills: Iterable[Skill] = (),
    course=None,
    starts_at: datetime,
    duration_minutes: int,
    capacity: int,
    frequency: str,
    occurrences: int | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> SessionSeries:
    """Offer a session that repeats every week or two weeks, at the same local time in the mentor's zone.
    All or nothing: if any date overlaps another of the mentor's sessions, nothing is created and the
    message names the clashing dates. The same form sent again within moments (every field alike) is
    answered with the series it created, not refused as an overlap with itself."""
    now = now or timezone.now()
    if mentor.role != User.Role.MENTOR:
        raise MentoringError("Only mentors can offer sessions.", code="not_mentor")
    title = text_one_line(title, label="Title", code="title_text")
    description = text_multi_line(description, label="Description", code="description_text")
    skills = list(skills)
    starts = series_starts(
        first=starts_at,
        time_zone=mentor.time_zone,
        frequency=frequency,
        occurrences=occurrences,
        until=until,
        now=now,
    )
    length = timedelta(minutes=duration_minutes)
    fields = {
        "title": title,
        "description": description,
        "skills": skills,
        "course": course,
        "duration_minutes": duration_minutes,
        "capacity": capacity,
    }
    with transaction.atomic():
        # One series at a time per mentor: a repeat of this form waits here, then finds the first one.
        User.objects.select_for_update().filter(pk=mentor.pk).first()
        clashes = _clashes(mentor=mentor, slots=[(start, start + length) for start in starts])
        if clashes:
            same = _same_series_just_published(mentor=mentor, frequency=frequency, starts=starts, now=now, **fields)
            if same is not None:
                return same
            raise MentoringError(
                f"Nothing was created: {'this date clashes' if len(clashes) == 1 else 'these dates clash'} with "
                f"your other sessions: {_dates_text(clashes, mentor.time_zone)} ({mentor.time_zone}). "
                "Choose another time, or move those sessions first.",
                code="series_overlap",
            )
        series = SessionSeries.objects.create(mentor=mentor, frequency=frequency)
        for start in starts:
            session = session_create(mentor=mentor, starts_at=start, series=series, now=now, **fields)
            if session.series_id != series.pk:  # pragma: no cover - session_create answers occurrences itself
                raise MentoringError("Another session took one of these times meanwhile.", code="series_overlap")
    return series


def _same_series_just_published(
    *,
    mentor: User,
    frequency: str,
    starts: list[datetime],
    now: datetime,
    title: str,
    description: str,
    skills: list[Skill],
    course,
    duration_minutes: int,
    capacity: int,
) -> SessionSeries | None:
    """The series the mentor published moments ago from the very same form, if any."""
    wanted_skills = {skill.pk for skill in skills}
    candidates = SessionSeries.objects.filter(
        mentor=mentor, frequency=frequency, created_at__gte=now - SAME_SUBMISSION_WINDOW
    ).order_by("-created_at")
    for series in candidates:
        dates = list(
            series.occurrences.filter(status=Session.Status.SCHEDULED).prefetch_related("skills").order_by("starts_at")
        )
        if [s.starts_at for s in dates] != starts:
            continue
        if all(
            (s.title, s.description, s.course_id, s.duration_minutes, s.capacity)
            == (title, description, course.pk if course else None, duration_minutes, capacity)
            and {skill.pk for skill in s.skills.all()} == wanted_skills
            for s in dates
        ):
            return series
    return None


# --------------------------------------------------------------------------- book
@dataclass
class SeriesBooking:
    """What "Book all" did, date by date."""

    booked: list[Session] = field(default_factory=list)
    already: list[Session] = field(default_factory=list)  # the learner had a seat already
    full: list[Session] = field(default_factory=list)
    clashed: list[Session] = field(default_factory=list)  # overlaps another booking of the learner

    @property
    def skipped(self) -> list[Session]:
        return sorted(self.full + self.clashed, key=lambda s: (s.starts_at, s.pk))


def series_book(*, series_id: int, learner: User, now: datetime | None = None) -> SeriesBooking:
    """Book a seat on every upcoming date of a series that has one free. Each seat is an ordinary
    booking (``booking_create``: its rules, its confirmations); dates that are full, or that clash with
    another booking of the learner, are skipped and reported."""
    now = now or timezone.now()
    dates = list(series_upcoming_occurrences(series_id=series_id, now=now))
    if not dates:
        raise MentoringError("This series has no upcoming dates left to book.", code="series_over")
    outcome = SeriesBooking()
    for session in dates:
        try:
            booking_create(session_id=session.pk, learner=learner, now=now, announce=False)
        except SessionFull:
            outcome.full.append(session)
            continue
        except MentoringError as error:
            if error.code == "overlap":
                outcome.clashed.append(session)
            elif error.code == "already_booked":
                outcome.already.append(session)
            elif error.code in ("past", "cancelled", "not_found"):
                continue  # started or cancelled while we went along: not a date to book any more
            else:
                raise  # about the learner or the mentor (not a learner, own series, not bookable): every date
            continue
        session.refresh_from_db(fields=["booked_count", "ics_sequence"])
        outcome.booked.append(session)
    if outcome.booked:
        _announce_series_booking(booked=outcome.booked, learner=learner)
    return outcome


def _announce_series_booking(*, booked: list[Session], learner: User) -> None:
    """One message each for the learner and the mentor, with a calendar invitation per date booked
    (instead of a pair of emails per date)."""
    first = booked[0]
    mentor = User.objects.get(pk=first.mentor_id)
    title, count = squash_to_one_line(first.title), len(booked)
    dates = "date" if count == 1 else f"{count} dates"
    invites = [Invite(session, "REQUEST") for session in booked]
    link = reverse("session_detail", args=[first.pk])
    notify(
        user=learner,
        kind="booking_confirmed",
        text=f"You are booked on {dates} of “{title}” with {squash_to_one_line(mentor.display_name)}, the first "
        f"{series_when(first.starts_at, learner.time_zone)} ({learner.time_zone}). Each date has its calendar invitation.",
        link=link,
        invites=invites,
    )
    notify(
        user=mentor,
        kind="booking_made",
        text=f"{squash_to_one_line(learner.display_name)} booked {dates} of “{title}”, the first "
        f"{series_when(first.starts_at, mentor.time_zone)} ({mentor.time_zone}).",
        link=reverse("dashboard"),
        invites=invites,
    )


# --------------------------------------------------------------------------- change and cancel
def _future_of(*, session: Session, now: datetime) -> list[Session]:
    if not session.series_id:
        raise MentoringError("This session is not part of a series.", code="not_series")
    if session.status != Session.Status.SCHEDULED:
        raise MentoringError("Only scheduled sessions can be changed.", code="not_scheduled")
    if session.starts_at <= now:
        raise MentoringError("This session has already started and can no longer be changed.", code="started")
    return list(series_future_occurrences(session=session, now=now))


def series_update_future(
    *,
    session_id: int,
    mentor: User,
    title: str,
    description: str,
    skills: Iterable[Skill],
    course=None,
    starts_at: datetime,
    duration_minutes: int,
    capacity: int,
    now: datetime | None = None,
) -> list[Session]:
    """Change this occurrence and every later scheduled one of its series. Title, description, skills,
    course, capacity and length become the new ones; a new start is applied to each later date as the
    same shift of local wall-clock time (18:00 → 19:00 on one date is 18:00 → 19:00 on every date, in
    summer and winter). Each date goes through ``session_update`` (its learners are told); all or
    nothing: a date that cannot take the change (an overlap, fewer seats than bookings) refuses it all."""
    now = now or timezone.now()
    skills = list(skills)
    session = sessions_mentored_by(user=mentor).filter(pk=session_id).first()
    if session is None:
        raise MentoringError("No such session.", code="not_found")
    dates = _future_of(session=session, now=now)
    zone = zone_or_utc(mentor.time_zone)
    shift = _wall_clock(starts_at, zone) - _wall_clock(session.starts_at, zone)
    moves = [(occurrence, _instant(_wall_clock(occurrence.starts_at, zone) + shift, zone)) for occurrence in dates]
    length = timedelta(minutes=duration_minutes)
    clashes = _clashes(
        mentor=mentor, slots=[(start, start + length) for _, start in moves], exclude_pks=[o.pk for o, _ in moves]
    )
    if clashes:
        raise MentoringError(
            f"Nothing was changed: {'this date would clash' if len(clashes) == 1 else 'these dates would clash'} "
            f"with your other sessions: {_dates_text(clashes, zone)} ({mentor.time_zone}).",
            code="series_overlap",
        )
    # Later dates move first when the shift is forward (and earlier ones first when it is backward), so
    # no date passes through another's old time on its way.
    if shift > timedelta(0):
        moves.reverse()
    updated = []
    with transaction.atomic():
        for occurrence, start in moves:
            try:
                updated.append(
                    session_update(
                        session_id=occurrence.pk,
                        mentor=mentor,
                        title=title,
                        description=description,
                        skills=skills,
                        course=course,
                        starts_at=start,
                        duration_minutes=duration_minutes,
                        capacity=capacity,
                        now=now,
                    )
                )
            except MentoringError as error:
                raise MentoringError(
                    f"{series_when(occurrence.starts_at, zone)}: {error.message} Nothing was changed.", code=error.code
                ) from None
    return sorted(updated, key=lambda s: (s.starts_at, s.pk))


def series_cancel_future(
    *, session_id: int, actor: User, reason: str = "", now: datetime | None = None
) -> list[Session]:
    """Cancel this occurrence and every later scheduled one of its series (its mentor, or staff), each
    through ``session_cancel`` (its learners are told). Returns the sessions this call cancelled: none
    when they were cancelled already (the same request sent twice)."""
    now = now or timezone.now()
    session = Session.objects.filter(pk=session_id).first()
    if session is None or not session_may_cancel(session=session, user=actor):
        raise MentoringError("No such session.", code="not_found")
    if not session.series_id:
        raise MentoringError("This session is not part of a series.", code="not_series")
    dates = list(series_future_occurrences(session=session, now=now))
    cancelled = []
    with transaction.atomic():
        for occurrence in dates:
            cancelled.append(session_cancel(session_id=occurrence.pk, actor=actor, reason=reason, now=now))
    return cancelled
