"""The site's own data as :class:`~.data.InteractionData`: read-only, a fixed handful of queries.

Ids: users are learners, ``user:<pk>``; items are sessions, ``session:<pk>`` (see
:func:`user_item_id`, :func:`session_item_id`). The feature builders here are the only place
feature names are made, for training (:func:`from_database`) and for serving alike
(:func:`learner_features`, :func:`session_features`, :func:`mentor_features`):

- a learner: ``role:<role>``, ``skill:<slug>`` per interest, ``goal:<word>`` for up to ten keywords
  of their goals (lower-case words of two letters or more, stop words and numbers dropped);
- a session: ``skill:<slug>`` per skill, ``mentor:<user pk>``, and when it belongs to a course page
  ``course:<page pk>`` and ``level:<beginner|intermediate|advanced>``;
- a mentor (scored as an item nobody trained on): ``mentor:<user pk>`` and ``skill:<slug>`` per skill.

Weight of a (learner, session) pair, the sum of:

- booking: +1 when one is active, or was cancelled together with the whole session (the learner's
  choice stands); +0.3 when the learner cancelled it themselves (some interest, then a change of mind);
- attendance: +1 when the learner was in the session's call at least once (``CallAttendance``);
- feedback: +1 for a rating of 4 or 5, -0.5 for 1 or 2, nothing for 3;
- "Not interested" (``NotInterested``, when that model exists): -1 on the session, or on every session
  of the mentor it names.

A pair whose sum is zero or less is a negative signal (kept with its weight: the logistic loss learns
from it, WARP and BPR leave it out). The timestamp of a pair is its first booking's ``created_at``,
else its first signal's. With ``now``, signals recorded after it are ignored, so history can be
replayed as it stood.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

import numpy as np

from .data import InteractionData

CANCELLED_BY_LEARNER = 0.3
MAX_GOAL_WORDS = 10
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each else etc few for from further
    get got had has have having he her here hers him his how i if in into is it its itself just let like
    make me more most much my myself need new next no nor not now of off on once only or other our ours
    out over own really same she should so some still such than that the their theirs them then there
    these they this those through to too under until up upon us very want was we well were what when
    where which while who whom why will with without would yet you your yours first one two three
    better good learn learning get getting start started""".split()
)
_WORD = re.compile(r"[a-z0-9][a-z0-9+#]*")


# --------------------------------------------------------------------------- ids and feature names
def user_item_id(user_pk: int) -> str:
    return f"user:{user_pk}"


def session_item_id(session_pk: int) -> str:
    return f"session:{session_pk}"


def goal_keywords(text: str, limit: int = MAX_GOAL_WORDS) -> list[str]:
    words = (w for w in _WORD.findall((text or "").lower()) if len(w) > 1 and not w.isdigit() and w not in STOP_WORDS)
    return list(dict.fromkeys(words))[:limit]


def learner_feature_names(*, role: str, interests: Iterable[str], goals: str) -> list[str]:
    return [
        f"role:{role}",
        *(f"skill:{slug}" for slug in dict.fromkeys(interests)),
        *(f"goal:{word}" for word in goal_keywords(goals)),
    ]


def session_feature_names(
    *, skills: Iterable[str], mentor_id: int, course_id: int | None = None, course_level: str | None = None
) -> list[str]:
    names = [*(f"skill:{slug}" for slug in dict.fromkeys(skills)), f"mentor:{mentor_id}"]
    if course_id is not None:
        names.append(f"course:{course_id}")
        if course_level:
            names.append(f"level:{course_level}")
    return names


def learner_features(user) -> list[str]:
    """Features of one user (``learner_profile__interests`` prefetched saves a query)."""
    profile = getattr(user, "learner_profile", None)
    interests = [skill.slug for skill in profile.interests.all()] if profile is not None else []
    return learner_feature_names(role=user.role, interests=interests, goals=profile.goals if profile else "")


def session_features(session) -> list[str]:
    """Features of one session (``skills`` prefetched and ``course`` selected save queries)."""
    course = session.course if session.course_id else None
    return session_feature_names(
        skills=[skill.slug for skill in session.skills.all()],
        mentor_id=session.mentor_id,
        course_id=session.course_id,
        course_level=course.level if course is not None else None,
    )


def mentor_features(profile) -> list[str]:
    """Features of a mentor (a ``MentorProfile``, ``skills`` prefetched saves a query)."""
    return [*(f"skill:{skill.slug}" for skill in profile.skills.all()), f"mentor:{profile.user_id}"]


# --------------------------------------------------------------------------- extraction
def from_database(now: datetime | None = None) -> InteractionData:
    """Learners, sessions and the signals between them, as described in the module docstring."""
    from django.apps import apps
    from django.db.models import Min
    from django.utils import timezone

    from mentoring.models import Booking, CallAttendance, Feedback, LearnerProfile, Session
    from portal.accounts.models import User

    now = now or timezone.now()
    learner = User.Role.LEARNER

    learners = list(User.objects.filter(role=learner).values_list("pk", "learner_profile__goals"))
    interests = defaultdict(list)
    for user_id, slug in LearnerProfile.interests.through.objects.filter(
        learnerprofile__user__role=learner
    ).values_list("learnerprofile__user_id", "skill__slug"):
        interests[user_id].append(slug)
    user_features = {
        user_item_id(pk): learner_feature_names(role=learner, interests=sorted(interests[pk]), goals=goals or "")
        for pk, goals in learners
    }
    learner_pks = {pk for pk, _ in learners}

    session_skills = defaultdict(list)
    for session_id, slug in Session.skills.through.objects.values_list("session_id", "skill__slug"):
        session_skills[session_id].append(slug)
    sessions = list(Session.objects.values_list("pk", "mentor_id", "course_id", "course__level", "status"))
    item_features = {
        session_item_id(pk): session_feature_names(
            skills=sorted(session_skills[pk]), mentor_id=mentor_id, course_id=course_id, course_level=level
        )
        for pk, mentor_id, course_id, level, _ in sessions
    }
    cancelled_sessions = {pk for pk, *_, status in sessions if status == Session.Status.CANCELLED}

    pairs: dict[
        tuple[int, int], list
    ] = {}  # (learner, session) -> [booking, attendance, rating, dismissed, first time]

    def signal(user_id: int, session_id: int, when: datetime) -> list:
        entry = pairs.setdefault((user_id, session_id), [0.0, 0.0, 0.0, 0.0, when, None])
        entry[4] = min(entry[4], when)
        return entry

    bookings = Booking.objects.filter(learner__role=learner, created_at__lte=now).values_list(
        "learner_id", "session_id", "status", "created_at"
    )
    for user_id, session_id, status, created_at in bookings:
        entry = signal(user_id, session_id, created_at)
        kept = status == Booking.Status.ACTIVE or session_id in cancelled_sessions
        entry[0] = max(entry[0], 1.0 if kept else CANCELLED_BY_LEARNER)
        entry[5] = created_at if entry[5] is None else min(entry[5], created_at)
    attendance = (
        CallAttendance.objects.filter(user__role=learner, joined_at__lte=now)
        .values("user_id", "session_id")
        .annotate(first=Min("joined_at"))
        .values_list("user_id", "session_id", "first")
    )
    for user_id, session_id, first in attendance:
        signal(user_id, session_id, first)[1] = 1.0
    for user_id, session_id, rating, created_at in Feedback.objects.filter(
        learner__role=learner, created_at__lte=now
    ).values_list("learner_id", "session_id", "rating", "created_at"):
        signal(user_id, session_id, created_at)[2] = 1.0 if rating >= 4 else -0.5 if rating <= 2 else 0.0
    for user_id, session_id, when in _dismissals(apps, learner, now, sessions):
        signal(user_id, session_id, when)[3] = -1.0

    user_ids, item_ids, weights, timestamps = [], [], [], []
    for (user_id, session_id), (booking, attended, rating, dismissed, first, booked_at) in sorted(pairs.items()):
        if user_id not in learner_pks:
            continue
        user_ids.append(user_item_id(user_id))
        item_ids.append(session_item_id(session_id))
        weights.append(booking + attended + rating + dismissed)
        timestamps.append((booked_at or first).timestamp())
    return InteractionData(
        user_ids=user_ids,
        item_ids=item_ids,
        weights=np.array(weights, dtype=np.float32),
        timestamps=np.array(timestamps, dtype=np.float64),
        user_features=user_features,
        item_features=item_features,
    )


def _dismissals(apps, learner: str, now: datetime, sessions: list[tuple]) -> Iterable[tuple[int, int, datetime]]:
    """``(learner, session, when)`` for each "Not interested", a mentor's expanded to their sessions;
    nothing while the ``NotInterested`` model does not exist."""
    try:
        model = apps.get_model("mentoring", "NotInterested")
    except LookupError:
        return
    by_mentor = defaultdict(list)
    for pk, mentor_id, *_ in sessions:
        by_mentor[mentor_id].append(pk)
    rows = model.objects.filter(user__role=learner, created_at__lte=now).values_list(
        "user_id", "session_id", "mentor_id", "created_at"
    )
    for user_id, session_id, mentor_id, created_at in rows:
        if session_id is not None:
            yield user_id, session_id, created_at
        elif mentor_id is not None:
            for pk in by_mentor.get(mentor_id, ()):
                yield user_id, pk, created_at
