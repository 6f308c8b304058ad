from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from mentoring.demo import booking_write_directly
from mentoring.models import Booking, Session, Skill
from mentoring.services.sessions import session_create


def skill(name: str = "Python") -> Skill:
    from django.utils.text import slugify

    return Skill.objects.get_or_create(slug=slugify(name), defaults={"name": name})[0]


def make_session(
    mentor,
    *,
    starts_in: timedelta = timedelta(days=1),
    starts_at: datetime | None = None,
    duration: int = 60,
    capacity: int = 1,
    title: str = "Code review",
    skills=(),
) -> Session:
    return session_create(
        mentor=mentor,
        title=title,
        description="Bring your code.",
        skills=list(skills),
        starts_at=starts_at or timezone.now() + starts_in,
        duration_minutes=duration,
        capacity=capacity,
    )


def past_session(
    mentor,
    *,
    ended_ago: timedelta = timedelta(hours=1),
    starts_at: datetime | None = None,
    capacity: int = 2,
    title: str = "Past session",
    status: str = Session.Status.COMPLETED,
    skills=(),
) -> Session:
    """A finished (or given) session written directly: the services (rightly) refuse a start in the past."""
    starts_at = starts_at or timezone.now() - ended_ago - timedelta(minutes=60)
    session = Session.objects.create(
        mentor=mentor,
        title=title,
        starts_at=starts_at,
        duration_minutes=60,
        ends_at=starts_at + timedelta(minutes=60),
        capacity=capacity,
        status=status,
    )
    if skills:
        session.skills.set(skills)
    return session


def make_booking(session: Session, learner, *, from_waitlist: bool = False) -> Booking | None:
    """A seat without the live rules (past sessions too); None when the session is full."""
    return booking_write_directly(session, learner, from_waitlist=from_waitlist)
