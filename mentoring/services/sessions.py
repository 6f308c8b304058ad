from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.dates import safe_localtime
from portal.validators import squash_to_one_line

from ..models import Booking, Session, SessionSeries, Skill, WaitlistEntry
from ..selectors import session_may_cancel, sessions_mentored_by
from . import SAME_SUBMISSION_WINDOW, MentoringError
from .calendar import calendar_sequence_bump
from .notifications import Invite, notify
from .text import text_multi_line, text_one_line

OVERLAP_MESSAGE = "You already have a session at that time. Sessions of one mentor cannot overlap."

# How far ahead a session can be offered: about two years. Nobody plans a mentoring hour further
# out, and it keeps every stored start (and end) far from the years where converting an instant
# to someone's time zone overflows.
SESSION_MAX_AHEAD_DAYS = 730
SESSION_WINDOW_TEXT = "from now up to 2 years ahead"


def _local(dt: datetime, user: User) -> str:
    """The instant in the person's zone, named: "Tue 1 Dec 2026, 18:30 (Europe/Rome)". A stored instant
    that cannot be shown there (near the years 1 or 9999) is given in UTC, and says so."""
    local = safe_localtime(dt, user.time_zone)
    zone = "UTC" if local.tzinfo is UTC else user.time_zone  # safe_localtime's fallback
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({zone})"


def session_start_check(*, starts_at: datetime, now: datetime | None = None) -> None:
    """Refuse a start outside the window a session can be offered in: not in the past, and at most
    ``SESSION_MAX_AHEAD_DAYS`` ahead. The session form asks the same question, for its message."""
    now = now or timezone.now()
    if starts_at <= now:
        raise MentoringError("The start must be in the future.", code="past")
    latest = now + timedelta(days=SESSION_MAX_AHEAD_DAYS)
    if starts_at > latest:
        raise MentoringError(
            f"Sessions can be offered up to 2 years ahead: choose a start before {safe_localtime(latest):%d %b %Y}.",
            code="too_far",
        )


def _check_times(*, starts_at: datetime, duration_minutes: int, now: datetime) -> None:
    session_start_check(starts_at=starts_at, now=now)
    if not Session.MIN_DURATION <= duration_minutes <= Session.MAX_DURATION:
        raise MentoringError("Sessions last between 15 and 240 minutes.", code="duration")


def _check_capacity(capacity: int) -> None:
    if not 1 <= capacity <= Session.MAX_CAPACITY:
        raise MentoringError("Capacity is 1 (one-to-one) up to 6 learners.", code="capacity")


@contextmanager
def _overlap_refused():
    """The exclusion constraint's violation (a race the Python check lost) as the same friendly refusal."""
    try:
        yield
    except IntegrityError as exc:
        if "session_mentor_no_overlap" in str(exc):
            raise MentoringError(OVERLAP_MESSAGE, code="overlap") from None
        raise


def _overlaps(*, mentor: User, starts_at: datetime, ends_at: datetime, exclude_pk: int | None = None) -> bool:
    clash = Session.objects.filter(
        mentor=mentor, status=Session.Status.SCHEDULED, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    return clash.exists()


def account_can_act_check(*, user: User | None, now: datetime | None = None) -> None:
    """Refuse a booking or a new session for an account that was deactivated or suspended (read with
    the row locked by the caller, so that one committed meanwhile wins)."""
    if user is None or not user.is_active:
        raise MentoringError("This account is closed: it can no longer book or offer sessions.", code="inactive")
    if user.is_suspended(now):
        raise MentoringError("This account is suspended: it cannot book or offer sessions now.", code="suspended")


def session_create(
    *,
    mentor: User,
    title: str,
    description: str = "",
    skills: Iterable[Skill] = (),
    course=None,
    starts_at: datetime,
    duration_minutes: int,
    capacity: int,
    private: bool = False,
    series: SessionSeries | None = None,
    now: datetime | None = None,
) -> Session:
    """Offer a new session. Overlaps with the mentor's other scheduled sessions are refused
    (checked here for the message, guaranteed by the PostgreSQL exclusion constraint)."""
    now = now or timezone.now()
    if mentor.role != User.Role.MENTOR:
        raise MentoringError("Only mentors can offer sessions.", code="not_mentor")
    title = text_one_line(title, label="Title", code="title_text")
    description = text_multi_line(description, label="Description", code="description_text")
    _check_times(starts_at=starts_at, duration_minutes=duration_minutes, now=now)
    _check_capacity(capacity)
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    # The check and the insert in one transaction: on PostgreSQL the exclusion constraint settles a
    # race the check loses; on SQLite (IMMEDIATE transactions, settings) writers run one at a time, so
    # the check itself is exact.
    try:
        with _overlap_refused(), transaction.atomic():
            account_can_act_check(user=User.objects.select_for_update().filter(pk=mentor.pk).first(), now=now)
            if _overlaps(mentor=mentor, starts_at=starts_at, ends_at=ends_at):
                raise MentoringError(OVERLAP_MESSAGE, code="overlap")
            session = Session.objects.create(
                mentor=mentor,
                title=title,
                description=description,
                course=course,
                starts_at=starts_at,
                duration_minutes=duration_minutes,
                ends_at=ends_at,
                capacity=capacity,
                private=private,
                series=series,
            )
            session.skills.set(skills)
    except MentoringError as error:
        # The same form sent again (a double click, a retry) is one intent: the session it published
        # moments ago is the answer, not an overlap refusal. (Sent at once, the second waited for the first.)
        # (An occurrence of a series is never answered with another session: series_create settles repeats.)
        same = (
            error.code == "overlap"
            and series is None
            and _same_session_just_published(
                mentor=mentor,
                title=title,
                description=description,
                skills=skills,
                course=course,
                starts_at=starts_at,
                duration_minutes=duration_minutes,
                capacity=capacity,
                now=now,
            )
        )
        if same:
            return same
        raise
    return session


def _same_session_just_published(
    *,
    mentor: User,
    title: str,
    description: str,
    skills: Iterable[Skill],
    course,
    starts_at,
    duration_minutes: int,
    capacity: int,
    now,
) -> Session | None:
    """The session the mentor published moments ago from the very same form (every field alike), if any.
    A form that differs in anything is another session, and overlaps."""
    candidates = Session.objects.filter(
        mentor=mentor,
        status=Session.Status.SCHEDULED,
        title=title,
        description=description,
        course=course,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        capacity=capacity,
        created_at__gte=now - SAME_SUBMISSION_WINDOW,
    )
    wanted = {skill.pk for skill in skills}
    return next((s for s in candidates if set(s.skills.values_list("pk", flat=True)) == wanted), None)


def session_update(
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
) -> Session:
    """Change a scheduled session. Booked learners hear about changes of time or title."""
    now = now or timezone.now()
    title = text_one_line(title, label="Title", code="title_text")
    description = text_multi_line(description, label="Description", code="description_text")
    with _overlap_refused(), transaction.atomic():
        session = sessions_mentored_by(user=mentor).select_for_update().filter(pk=session_id).first()
        if session is None:
            raise MentoringError("No such session.", code="not_found")
        if session.status != Session.Status.SCHEDULED:
            raise MentoringError("Only scheduled sessions can be changed.", code="not_scheduled")
        if session.starts_at <= now:
            raise MentoringError("This session has already started and can no longer be changed.", code="started")
        time_changed = starts_at != session.starts_at or duration_minutes != session.duration_minutes
        if session.private and (time_changed or capacity != session.capacity):
            # Its learner agreed to this time: a new one is proposed and answered (services.reschedule).
            raise MentoringError(
                "A one-to-one keeps its agreed time and its one seat here: use “Propose a new time” on the "
                "session's page, and your learner accepts or declines it.",
                code="private_time",
            )
        if time_changed:
            _check_times(starts_at=starts_at, duration_minutes=duration_minutes, now=now)
        _check_capacity(capacity)
        if capacity < session.booked_count:
            raise MentoringError(
                f"{session.booked_count} learners have booked this session; capacity cannot be lower than that.",
                code="capacity_below_bookings",
            )
        # An unchanged time keeps its stored end (a row written elsewhere may sit at the very end of
        # the calendar, where adding the duration again would overflow).
        ends_at = starts_at + timedelta(minutes=duration_minutes) if time_changed else session.ends_at
        if time_changed and _overlaps(mentor=mentor, starts_at=starts_at, ends_at=ends_at, exclude_pk=session.pk):
            raise MentoringError(OVERLAP_MESSAGE, code="overlap")
        announce = time_changed or title != session.title
        session.title = title
        session.description = description
        session.course = course
        session.starts_at, session.duration_minutes, session.ends_at = starts_at, duration_minutes, ends_at
        session.capacity = capacity
        session.save(
            update_fields=[
                "title",
                "description",
                "course",
                "starts_at",
                "duration_minutes",
                "ends_at",
                "capacity",
                "updated_at",
            ]
        )
        session.skills.set(skills)
        if announce:  # before seats freed by a higher capacity are given: those learners hear once
            _announce_change(session=session, mentor=mentor)
        from .bookings import waitlist_promote

        waitlist_promote(session=session, now=now)
    return session


def _announce_change(*, session: Session, mentor: User) -> None:
    """A new time or title: every booked learner and the mentor get it, with the calendar's update."""
    calendar_sequence_bump(session=session)
    invite = Invite(session, "REQUEST")
    link = reverse("session_detail", args=[session.pk])
    told = 0
    for booking in session.bookings.filter(status=Booking.Status.ACTIVE).select_related("learner"):
        notify(
            user=booking.learner,
            kind="session_changed",
            text=f"“{session.title}” with {squash_to_one_line(mentor.display_name)} changed: it now starts "
            f"{_local(session.starts_at, booking.learner)}.",
            link=link,
            invite=invite,
        )
        told += 1
    learners = f"{told} booked learner{'' if told == 1 else 's'} got" if told else "Nobody has booked it yet; you got"
    notify(
        user=mentor,
        kind="session_changed",
        text=f"You changed “{session.title}”: it now starts {_local(session.starts_at, mentor)}. "
        f"{learners} the updated calendar invitation.",
        link=link,
        invite=invite,
    )


CANCEL_REASON_MAX = 300


@transaction.atomic
def session_cancel(*, session_id: int, actor: User, reason: str = "", now: datetime | None = None) -> Session:
    """Cancel a whole session (its mentor, or staff). Every booked learner and the mentor are told,
    with the calendar's CANCEL; waiting learners leave the waitlist. The mentor cancelling less than
    ``LATE_CANCEL_HOURS`` before the start marks the session ``cancelled_late``."""
    from .bookings import cancellation_is_late, late_cancellation_words

    now = now or timezone.now()
    reason = text_multi_line(reason, label="Reason")  # refused before anything changes
    if len(reason) > CANCEL_REASON_MAX:
        raise MentoringError(f"Keep the reason to {CANCEL_REASON_MAX} characters or fewer.", code="too_long")
    session = Session.objects.select_for_update().select_related("mentor").filter(pk=session_id).first()
    if session is None or not session_may_cancel(session=session, user=actor):
        raise MentoringError("No such session.", code="not_found")
    if session.status == Session.Status.CANCELLED:
        return session  # cancelled already (a second click, another tab): the same outcome, nothing more
    if session.status != Session.Status.SCHEDULED:
        raise MentoringError("This session is not scheduled any more.", code="not_scheduled")
    by_mentor = actor.pk == session.mentor_id
    session.status = Session.Status.CANCELLED
    session.cancelled_at = now
    session.cancelled_late = by_mentor and cancellation_is_late(
        starts_at=session.starts_at, now=now, made_at=session.created_at
    )
    session.save(update_fields=["status", "cancelled_at", "cancelled_late", "updated_at"])
    calendar_sequence_bump(session=session)
    invite = Invite(session, "CANCEL")
    link = reverse("session_detail", args=[session.pk])
    # Whatever is stored (rows from before control characters were refused): one line each.
    title, mentor_name = squash_to_one_line(session.title), squash_to_one_line(session.mentor.display_name)
    reason = squash_to_one_line(reason)
    why = f" Reason: {reason}" if reason else ""
    told = 0
    for booking in session.bookings.filter(status=Booking.Status.ACTIVE).select_related("learner"):
        notify(
            user=booking.learner,
            kind="session_cancelled",
            text=f"“{title}” with {mentor_name} on {_local(session.starts_at, booking.learner)} was cancelled.{why}",
            link=link,
            invite=invite,
        )
        told += 1
    who = "You cancelled" if by_mentor else "The PeerLearn team cancelled"
    learners = f"{told} booked learner{' was' if told == 1 else 's were'} told." if told else "Nobody had booked it."
    late = f" This is a late cancellation: {late_cancellation_words()}." if session.cancelled_late else ""
    notify(
        user=session.mentor,
        kind="session_cancelled",
        text=f"{who} “{title}” on {_local(session.starts_at, session.mentor)}. {learners}{late}{why}",
        link=link,
        invite=invite,
    )
    waiting = session.waitlist.filter(status=WaitlistEntry.Status.WAITING)
    waiting.update(status=WaitlistEntry.Status.LEFT)
    return session


def sessions_complete_ended(*, now: datetime | None = None) -> int:
    """Mark scheduled sessions whose end has passed as completed (run periodically)."""
    now = now or timezone.now()
    return Session.objects.filter(status=Session.Status.SCHEDULED, ends_at__lte=now).update(
        status=Session.Status.COMPLETED, updated_at=now
    )
