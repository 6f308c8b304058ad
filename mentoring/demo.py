"""Demo mentoring data for ``seed_demo``: skills, profiles, a week of sessions, history with feedback.

Idempotent: it adds what is missing and never rewrites what people changed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from portal.accounts.models import User
from portal.accounts.timezones import is_valid_timezone
from portal.dates import zone_or_utc

from .models import (
    Availability,
    Booking,
    CallAttendance,
    Feedback,
    Language,
    LearnerProfile,
    MentorProfile,
    Session,
    SessionSeries,
    Skill,
    WaitlistEntry,
)
from .selectors import learner_bookings_between, session_is_live
from .services import MentoringError
from .services.availability import availability_update
from .services.bookings import waitlist_promote
from .services.series import series_create
from .services.sessions import session_create

SKILLS = [
    "Python",
    "Django",
    "JavaScript",
    "Data Science",
    "Machine Learning",
    "SQL",
    "UX Design",
    "DevOps",
    "Career Coaching",
    "Product Management",
]
LANGUAGES = [
    ("en", "English"),
    ("de", "German"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("pt", "Portuguese"),
    ("hi", "Hindi"),
    ("ko", "Korean"),
    ("yo", "Yoruba"),
]

MENTORS = {
    "mentor1@peerlearn.local": {
        "headline": "Staff engineer · Python and Django for 12 years",
        "bio": "I build and review Django services for a living. In sessions we look at your code together, "
        "untangle a design, or plan how to learn the next thing.\n\nBring a repo or a question.",
        "skills": ["Python", "Django", "SQL", "DevOps"],
        "languages": ["en", "es"],
        "years": 12,
    },
    "mentor2@peerlearn.local": {
        "headline": "Data scientist · from notebooks to production",
        "bio": "Ten years of analytics and machine learning in retail and health. I help with statistics, "
        "model evaluation and getting a first data job.",
        "skills": ["Data Science", "Machine Learning", "Python", "SQL"],
        "languages": ["en", "de"],
        "years": 10,
    },
    "mentor3@peerlearn.local": {
        "headline": "Product designer and career coach",
        "bio": "I lead design at a fintech in Lagos and coach people moving into product and UX roles: "
        "portfolios, interviews, and the first 90 days.",
        "skills": ["UX Design", "Career Coaching", "Product Management", "JavaScript"],
        "languages": ["en", "fr", "yo"],
        "years": 8,
    },
}
LEARNER_INTERESTS = {
    "learner1@peerlearn.local": (["Python", "Django"], "Ship my first Django app and get a backend job."),
    "learner2@peerlearn.local": (["Data Science", "Machine Learning"], "Move from Excel reports to data science."),
    "learner3@peerlearn.local": (["UX Design", "Product Management"], "Build a design portfolio."),
    "learner4@peerlearn.local": (["JavaScript", "UX Design"], "Get better at front-end work."),
    "learner5@peerlearn.local": (["SQL", "Python", "Career Coaching"], "Prepare for data engineering interviews."),
}
SESSION_TITLES = {
    "mentor1@peerlearn.local": [
        ("Code review: your Django project", ["Django", "Python"], 1),
        ("Python testing with pytest", ["Python"], 4),
        ("SQL you will actually use", ["SQL"], 3),
        ("Deploying Django the boring way", ["Django", "DevOps"], 6),
    ],
    "mentor2@peerlearn.local": [
        ("Intro to pandas, live", ["Data Science", "Python"], 5),
        ("Evaluating ML models honestly", ["Machine Learning"], 2),
        ("Breaking into data science", ["Data Science", "Career Coaching"], 1),
        ("SQL for analysts", ["SQL", "Data Science"], 6),
    ],
    "mentor3@peerlearn.local": [
        ("Portfolio review", ["UX Design"], 1),
        ("Mock product interview", ["Product Management", "Career Coaching"], 1),
        ("Design systems 101", ["UX Design", "JavaScript"], 4),
        ("Your first 90 days in a new role", ["Career Coaching"], 6),
    ],
}
# The open demo call's description, as a mentor would write it. Earlier seeds wrote instructions for
# developers there; a row that still holds them word for word gets this text (a changed one is kept).
DEMO_CALL_DESCRIPTION = (
    "Bring the Django question you are stuck on: a view that misbehaves, a slow query, a test that "
    "will not pass, or a design you are unsure about. We share a screen, read the code together and "
    "work it through step by step.\n\nYou leave with a fix or a clear next step, and the reasons behind it."
)
OLD_DEMO_CALL_DESCRIPTIONS = (
    "The demo call: log in as mentor1 in one window and learner1 in another, then press Join.",
)
COMMENTS = [
    "Clear, patient and practical.",
    "Exactly what I needed before my interview.",
    "Great examples, I left with a plan.",
    "Very helpful, a bit short on time.",
    "Loved the live code review.",
]


def _users(emails) -> dict[str, User]:
    return {u.email: u for u in User.objects.filter(email__in=emails)}


def booking_write_directly(session: Session, learner: User, *, from_waitlist: bool = False) -> Booking | None:
    """Demo history and test factories only: a seat written without the live rules (past sessions too);
    None when the session is full. Never behind a view: booking_create keeps the rules."""
    if session.booked_count >= session.capacity:
        return None
    booking, created = Booking.objects.get_or_create(
        session=session,
        learner=learner,
        status=Booking.Status.ACTIVE,
        defaults={"promoted_from_waitlist": from_waitlist},
    )
    if created:
        Session.objects.filter(pk=session.pk).update(booked_count=F("booked_count") + 1)
        session.booked_count += 1
    return booking


@transaction.atomic
def demo_mentoring_seed(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    rng = random.Random(42)
    counts = {"skills": 0, "sessions": 0, "bookings": 0, "feedback": 0}
    skills = {}
    for name in SKILLS:
        skills[name], created = Skill.objects.get_or_create(slug=slugify(name), defaults={"name": name})
        counts["skills"] += created
    languages = {
        code: Language.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in LANGUAGES
    }

    mentors = _users(MENTORS)
    for email, data in MENTORS.items():
        user = mentors.get(email)
        if not user:
            continue
        profile, _ = MentorProfile.objects.get_or_create(user=user)
        if not profile.headline:
            profile.headline, profile.bio, profile.years_experience = data["headline"], data["bio"], data["years"]
            profile.save(update_fields=["headline", "bio", "years_experience"])
            profile.skills.set([skills[s] for s in data["skills"]])
            profile.languages.set([languages[c] for c in data["languages"]])
        if profile.review_status == MentorProfile.Review.PENDING and profile.reviewed_at is None:
            # Demo mentors are listed from the start; a review staff made since (changes asked) stands.
            profile.review_status = MentorProfile.Review.APPROVED
            profile.save(update_fields=["review_status"])
        _ensure_availability(user, auto_accept=email == DEMO_AUTO_ACCEPT_MENTOR)
    learners = _users(LEARNER_INTERESTS)
    for email, (interests, goals) in LEARNER_INTERESTS.items():
        user = learners.get(email)
        if not user:
            continue
        profile, _ = LearnerProfile.objects.get_or_create(user=user)
        if not profile.goals:
            profile.goals = goals
            profile.save(update_fields=["goals"])
            profile.interests.set([skills[s] for s in interests])
    learner_list = [learners[e] for e in LEARNER_INTERESTS if e in learners]
    if not mentors or not learner_list:
        return counts

    # A week of upcoming sessions, unless the demo mentors already have some.
    if not Session.objects.filter(mentor__in=mentors.values(), starts_at__gt=now + timedelta(hours=2)).exists():
        for m_index, (email, titles) in enumerate(SESSION_TITLES.items()):
            mentor = mentors.get(email)
            if not mentor:
                continue
            for t_index, (title, skill_names, capacity) in enumerate(titles):
                starts_at = _at_mentors_hour(mentor, now + timedelta(days=1 + t_index * 2), m_index)
                try:
                    session = session_create(
                        mentor=mentor,
                        title=title,
                        skills=[skills[s] for s in skill_names],
                        description=f"A {'one-to-one' if capacity == 1 else 'small-group'} session with {mentor.display_name}.",
                        starts_at=starts_at,
                        duration_minutes=60 if capacity == 1 else 90,
                        capacity=capacity,
                        now=now,
                    )
                except MentoringError:
                    continue
                counts["sessions"] += 1
                # Some full (with a waitlist), some half full, some empty.
                takers = rng.sample(
                    learner_list, k=min(len(learner_list), capacity if t_index % 2 == 0 else capacity // 2)
                )
                for learner in takers:
                    if not _busy(learner, session):  # mentors teach at their own hours: some overlap
                        counts["bookings"] += bool(booking_write_directly(session, learner))
                if session.booked_count >= session.capacity:
                    for learner in [lr for lr in learner_list if lr not in takers][:2]:
                        WaitlistEntry.objects.get_or_create(
                            session=session, learner=learner, status=WaitlistEntry.Status.WAITING
                        )

    # History: past sessions with feedback, once.
    if not Session.objects.filter(mentor__in=mentors.values(), ends_at__lt=now).exists():
        for m_index, (email, titles) in enumerate(SESSION_TITLES.items()):
            mentor = mentors.get(email)
            if not mentor:
                continue
            for weeks_ago in range(1, 9):
                title, skill_names, capacity = titles[weeks_ago % len(titles)]
                # At the mentor's usual hour, like the upcoming ones (so learners' usual hours overlap them).
                starts_at = _at_mentors_hour(mentor, now - timedelta(weeks=weeks_ago, days=m_index), m_index)
                session = Session.objects.create(
                    mentor=mentor,
                    title=title,
                    starts_at=starts_at,
                    duration_minutes=60,
                    ends_at=starts_at + timedelta(minutes=60),
                    capacity=max(capacity, 2),
                    status=Session.Status.COMPLETED,
                )
                session.skills.set([skills[s] for s in skill_names])
                CallAttendance.objects.create(
                    session=session,
                    user=mentor,
                    peer_id=f"demo-m{session.pk}",
                    joined_at=starts_at - timedelta(minutes=3),
                    left_at=session.ends_at,
                )
                for index, learner in enumerate(rng.sample(learner_list, k=2)):
                    if booking_write_directly(session, learner):
                        counts["bookings"] += 1
                        Feedback.objects.create(
                            session=session,
                            learner=learner,
                            rating=rng.choice([4, 5, 5, 3, 5]),
                            comment=rng.choice(COMMENTS),
                        )
                        counts["feedback"] += 1
                        if rng.random() < 0.85:  # most booked learners came; some did not
                            CallAttendance.objects.create(
                                session=session,
                                user=learner,
                                peer_id=f"demo-{session.pk}-{index}",
                                joined_at=starts_at + timedelta(minutes=rng.randint(0, 6)),
                                left_at=session.ends_at,
                            )

    counts["sessions"] += _ensure_demo_series(mentors.get(DEMO_SERIES_MENTOR), now, skills)
    counts["sessions"] += _ensure_live_session(
        mentors.get("mentor1@peerlearn.local"), learners.get("learner1@peerlearn.local"), now, skills
    )
    return counts


def _busy(learner: User, session: Session) -> bool:
    return learner_bookings_between(learner=learner, starts_at=session.starts_at, ends_at=session.ends_at).exists()


def _at_mentors_hour(mentor: User, day: datetime, m_index: int) -> datetime:
    """``day``'s date at the mentor's usual hour in their own zone (10:00, 13:00, 16:00 ... by mentor),
    so a demo mentor in New York does not teach at four in the morning."""
    zone = zone_or_utc(mentor.time_zone)
    local = day.astimezone(zone).replace(hour=10 + (m_index * 3) % 9, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


DEMO_AUTO_ACCEPT_MENTOR = "mentor3@peerlearn.local"


def _ensure_availability(mentor: User, *, auto_accept: bool) -> None:
    """Weekday hours for 1:1 requests (09:00–12:00 and 13:00–17:00 in the mentor's zone), unless the mentor
    has set availability already: a newcomer can request a slot right away."""
    if Availability.objects.filter(mentor=mentor).exists():
        return
    availability_update(
        mentor=mentor,
        time_zone=mentor.time_zone if is_valid_timezone(mentor.time_zone) else "UTC",
        session_lengths=[30, 60],
        buffer_before=10,
        buffer_after=10,
        min_notice=12 * 60,
        max_days_ahead=30,
        daily_cap=None,
        weekly_cap=None,
        auto_accept=auto_accept,
        weekly_hours={day: [(9 * 60, 12 * 60), (13 * 60, 17 * 60)] for day in range(5)},
    )


DEMO_SERIES_MENTOR = "mentor2@peerlearn.local"


def _ensure_demo_series(mentor: User | None, now: datetime, skills: dict) -> int:
    """One weekly group series of 6 dates (mentor2, 18:00 in their own zone), unless they have a series."""
    if not mentor or SessionSeries.objects.filter(mentor=mentor).exists():
        return 0
    zone = zone_or_utc(mentor.time_zone)
    first = (now.astimezone(zone) + timedelta(days=2)).replace(hour=18, minute=0, second=0, microsecond=0)
    try:
        series_create(
            mentor=mentor,
            title="Weekly data science study group",
            description="Each week we work through one real dataset together: cleaning, a first model, and "
            "an honest look at how good it is. Come to one date or to all six; every date stands on its own.",
            skills=[skills["Data Science"], skills["Python"]],
            starts_at=first,
            duration_minutes=60,
            capacity=6,
            frequency=SessionSeries.Frequency.WEEKLY,
            occurrences=6,
            now=now,
        )
    except MentoringError:
        return 0  # a clash with the mentor's own sessions: no series this time
    return 6


def _ensure_live_session(mentor: User | None, learner: User | None, now: datetime, skills: dict) -> int:
    """Make sure mentor1 and learner1 share a session whose room is open right now.

    Demo data only, so it bends the rules quietly (a moved session's learners are not told), but it
    keeps the data true: rather than create a second session beside one of mentor1's, the earliest
    clashing one is used (moved earlier to start in five minutes if its room is not open yet); then
    learner1's other bookings that overlap it are given up as a cancellation would (seat freed,
    waitlist moved on), and learner1 leaves its waitlist for a seat.
    """
    if not mentor or not learner:
        return 0
    Session.objects.filter(mentor=mentor, description__in=OLD_DEMO_CALL_DESCRIPTIONS).update(
        description=DEMO_CALL_DESCRIPTION
    )
    booked = Session.objects.filter(mentor=mentor, bookings__learner=learner, bookings__status=Booking.Status.ACTIVE)
    if any(session_is_live(s, now) for s in booked.filter(starts_at__lte=now + timedelta(hours=1), ends_at__gt=now)):
        return 0
    starts_at = (now + timedelta(minutes=5)).replace(second=0, microsecond=0)
    clashes = list(
        Session.objects.filter(
            mentor=mentor,
            status=Session.Status.SCHEDULED,
            starts_at__lt=starts_at + timedelta(minutes=60),
            ends_at__gt=starts_at,
        ).order_by("starts_at")
    )
    # A clash already open is used as it is. Otherwise the earliest clash starts after the room
    # would open, so moving it earlier cannot make it overlap another of mentor1's sessions.
    session = next((s for s in clashes if session_is_live(s, now)), None) or (clashes[0] if clashes else None)
    if session is None:
        session = session_create(
            mentor=mentor,
            title="Live now: pair on your Django question",
            skills=[skills["Django"], skills["Python"]],
            description=DEMO_CALL_DESCRIPTION,
            starts_at=starts_at,
            duration_minutes=60,
            capacity=2,
            now=now,
        )
    elif not session_is_live(session, now):
        Session.objects.filter(pk=session.pk).update(
            starts_at=starts_at, ends_at=starts_at + timedelta(minutes=session.duration_minutes)
        )
        session.refresh_from_db()
    if session.booked_count >= session.capacity:
        if session.capacity >= Session.MAX_CAPACITY:
            return 0  # a full group call: no demo seat without taking someone's
        Session.objects.filter(pk=session.pk).update(capacity=F("capacity") + 1)
        session.refresh_from_db()
    others = Booking.objects.filter(
        learner=learner,
        status=Booking.Status.ACTIVE,
        session__starts_at__lt=session.ends_at,
        session__ends_at__gt=session.starts_at,
    ).exclude(session=session)
    for booking in others:
        Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED, cancelled_at=now)
        Session.objects.filter(pk=booking.session_id).update(booked_count=F("booked_count") - 1)
        waitlist_promote(session=Session.objects.select_for_update().get(pk=booking.session_id), now=now)
    WaitlistEntry.objects.filter(session=session, learner=learner, status=WaitlistEntry.Status.WAITING).update(
        status=WaitlistEntry.Status.LEFT
    )
    booking_write_directly(session, learner)
    return 1
