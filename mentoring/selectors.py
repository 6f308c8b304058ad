"""Reads. Every question "may this user see / join this session?" is answered here, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db.models import Avg, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from portal.accounts.models import User

from .models import Booking, Feedback, MentorProfile, Notification, Session, WaitlistEntry


# --------------------------------------------------------------------------- time
def join_window(session: Session) -> tuple[datetime, datetime]:
    """The room is open from JOIN_WINDOW_MINUTES before the start until the end."""
    return session.starts_at - timedelta(minutes=settings.JOIN_WINDOW_MINUTES), session.ends_at


def session_is_live(session: Session, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    opens, closes = join_window(session)
    return session.status == Session.Status.SCHEDULED and opens <= now < closes


def session_display_status(session: Session, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if session.status == Session.Status.CANCELLED:
        return "cancelled"
    if session.status == Session.Status.COMPLETED or session.ends_at <= now:
        return "completed"
    if session_is_live(session, now):
        return "live"
    return "scheduled"


# --------------------------------------------------------------------------- access
def session_get_for_participant(*, room_id: UUID | str, user: User) -> Session:
    """The one door to a session's room: its mentor or a learner with an active booking.

    Anyone else (anonymous, outsiders, waitlisted, cancelled bookings, staff) gets ``Http404``,
    exactly as for a room that does not exist.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        raise Http404("No such session.")
    active_booking = Booking.objects.filter(session=OuterRef("pk"), learner=user, status=Booking.Status.ACTIVE)
    session = (
        Session.objects.select_related("mentor")
        .filter(room_id=room_id)
        .filter(Q(mentor=user) | Q(Exists(active_booking)))
        .first()
    )
    if session is None:
        raise Http404("No such session.")
    return session


CALL_AHEAD_HOURS = 48


def user_has_call_ahead(*, user: User, now: datetime | None = None) -> bool:
    """Whether ``user`` has a real call coming: a scheduled session with at least one booked learner,
    not ended and starting within CALL_AHEAD_HOURS, that they mentor or are booked on. Who may be
    handed TURN credentials outside a room (the call check): a throwaway session months away, or one
    nobody booked, does not count."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    now = now or timezone.now()
    booked = Booking.objects.filter(session=OuterRef("pk"), status=Booking.Status.ACTIVE)
    soon = Session.objects.filter(
        status=Session.Status.SCHEDULED, ends_at__gt=now, starts_at__lte=now + timedelta(hours=CALL_AHEAD_HOURS)
    ).filter(Exists(booked))
    mine = Booking.objects.filter(session=OuterRef("pk"), learner=user, status=Booking.Status.ACTIVE)
    return soon.filter(Q(mentor=user) | Q(Exists(mine))).exists()


def session_get_for_mentor(*, session_id: int, user: User) -> Session:
    """A session its own mentor may change; "not yours" is the same 404 as "does not exist"."""
    session = Session.objects.filter(pk=session_id, mentor=user).first() if user.is_authenticated else None
    if session is None:
        raise Http404("No such session.")
    return session


def session_get_public(*, session_id: int) -> Session:
    session = (
        Session.objects.select_related("mentor", "mentor__mentor_profile", "course")
        .prefetch_related("skills")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        raise Http404("No such session.")
    return session


def booking_get_for_learner(*, booking_id: int, user: User) -> Booking:
    booking = Booking.objects.select_related("session").filter(pk=booking_id, learner=user).first() if user.is_authenticated else None
    if booking is None:
        raise Http404("No such booking.")
    return booking


# --------------------------------------------------------------------------- lists
def sessions_open_for_booking(*, now: datetime | None = None) -> QuerySet[Session]:
    """Upcoming scheduled sessions that still have a free seat, soonest first."""
    now = now or timezone.now()
    return (
        Session.objects.filter(status=Session.Status.SCHEDULED, starts_at__gt=now, booked_count__lt=F("capacity"))
        .select_related("mentor")
        .prefetch_related("skills")
        .order_by("starts_at", "id")
    )


def sessions_upcoming(*, now: datetime | None = None, skill: str | None = None, q: str | None = None) -> QuerySet[Session]:
    now = now or timezone.now()
    sessions = (
        Session.objects.filter(status=Session.Status.SCHEDULED, starts_at__gt=now)
        .select_related("mentor")
        .prefetch_related("skills")
        .order_by("starts_at", "id")
    )
    if skill:
        sessions = sessions.filter(skills__slug=skill)
    if q:
        sessions = sessions.filter(Q(title__icontains=q) | Q(description__icontains=q) | Q(mentor__display_name__icontains=q))
    return sessions.distinct()


def mentors_directory(*, q: str = "", skill: str = "", language: str = "") -> QuerySet[MentorProfile]:
    profiles = (
        MentorProfile.objects.filter(user__is_active=True, user__role=User.Role.MENTOR)
        .select_related("user")
        .prefetch_related("skills", "languages")
        .annotate(
            average_rating=Avg(
                "user__mentored_sessions__feedback__rating",
                filter=Q(user__mentored_sessions__feedback__hidden=False),
            ),
            rating_count=Count(
                "user__mentored_sessions__feedback",
                filter=Q(user__mentored_sessions__feedback__hidden=False),
                distinct=True,
            ),
        )
        .order_by("user__display_name", "pk")
    )
    if q:
        profiles = profiles.filter(
            Q(user__display_name__icontains=q) | Q(headline__icontains=q) | Q(bio__icontains=q) | Q(skills__name__icontains=q)
        )
    if skill:
        profiles = profiles.filter(skills__slug=skill)
    if language:
        profiles = profiles.filter(languages__code=language)
    return profiles.distinct()


def mentor_get_public(*, user_id: int) -> MentorProfile:
    profile = mentors_directory().filter(user_id=user_id).first()
    if profile is None:
        raise Http404("No such mentor.")
    return profile


@dataclass
class LearnerDashboard:
    upcoming: list[Booking]
    waitlist: list[WaitlistEntry]
    past: list[Booking]
    feedback_by_session: dict[int, Feedback]


def learner_dashboard(*, user: User, now: datetime | None = None) -> LearnerDashboard:
    now = now or timezone.now()
    bookings = Booking.objects.filter(learner=user, status=Booking.Status.ACTIVE).select_related("session", "session__mentor")
    upcoming = list(bookings.filter(session__ends_at__gt=now).order_by("session__starts_at")[:50])
    past = list(bookings.filter(session__ends_at__lte=now).order_by("-session__starts_at")[:10])
    # Place in line: 1 + the waiting entries before this one, in the order promotion takes them.
    ahead = (
        WaitlistEntry.objects.filter(session=OuterRef("session"), status=WaitlistEntry.Status.WAITING)
        .filter(Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), id__lt=OuterRef("id")))
        .order_by()
        .values("session")
        .annotate(n=Count("id"))
        .values("n")
    )
    waitlist = list(
        WaitlistEntry.objects.filter(learner=user, status=WaitlistEntry.Status.WAITING, session__starts_at__gt=now)
        .annotate(position=Coalesce(Subquery(ahead), 0) + 1)
        .select_related("session", "session__mentor")
        .order_by("session__starts_at")
    )
    feedback = {f.session_id: f for f in Feedback.objects.filter(learner=user, session_id__in=[b.session_id for b in past])}
    return LearnerDashboard(upcoming=upcoming, waitlist=waitlist, past=past, feedback_by_session=feedback)


@dataclass
class MentorDashboard:
    upcoming: list[Session]
    past: list[Session]


def mentor_dashboard(*, user: User, now: datetime | None = None) -> MentorDashboard:
    now = now or timezone.now()
    active_bookings = Prefetch(
        "bookings",
        queryset=Booking.objects.filter(status=Booking.Status.ACTIVE).select_related("learner").order_by("created_at"),
        to_attr="active_bookings",
    )
    upcoming = list(
        Session.objects.filter(mentor=user, status=Session.Status.SCHEDULED, ends_at__gt=now)
        .prefetch_related(active_bookings)
        .annotate(waiting_count=Count("waitlist", filter=Q(waitlist__status=WaitlistEntry.Status.WAITING)))
        .order_by("starts_at")
    )
    past = list(
        Session.objects.filter(mentor=user, ends_at__lte=now)
        .exclude(status=Session.Status.CANCELLED)
        .annotate(
            average_rating=Avg("feedback__rating", filter=Q(feedback__hidden=False)),
            rating_count=Count("feedback", filter=Q(feedback__hidden=False)),
        )
        .order_by("-starts_at")[:10]
    )
    return MentorDashboard(upcoming=upcoming, past=past)


def notifications_unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, is_read=False).count()


def notifications_for(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


# --------------------------------------------------------------------------- courses (CMS)
def course_sessions(*, course, limit: int = 12, now: datetime | None = None) -> list[Session]:
    """Upcoming sessions with a free seat that teach the course's skills or link to the course."""
    skill_ids = list(course.skills.values_list("pk", flat=True)) if course.pk else []
    linked = Q(course_id=course.pk)
    matching = Q(pk__in=Session.skills.through.objects.filter(skill_id__in=skill_ids).values("session_id"))
    return list(sessions_open_for_booking(now=now).filter(linked | matching if skill_ids else linked)[:limit])


def course_mentors(*, course, limit: int = 6) -> list[MentorProfile]:
    skill_ids = list(course.skills.values_list("pk", flat=True)) if course.pk else []
    if not skill_ids:
        return []
    return list(mentors_directory().filter(skills__in=skill_ids, accepting_bookings=True)[:limit])


def sessions_pinned(*, sessions: list[Session], now: datetime | None = None) -> list[Session]:
    """Sessions an editor pinned on a page, in the editor's order, leaving out past and cancelled ones."""
    now = now or timezone.now()
    return [s for s in sessions if s is not None and s.status == Session.Status.SCHEDULED and s.starts_at > now]
