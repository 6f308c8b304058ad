"""Recommendations, the Django edge around :mod:`mentoring.recommender` (plain modules that take ids,
arrays and features and know nothing of HTTP).

What views, services and the background task call:

- reads: :func:`recommend_sessions` (and :func:`recommend_sessions_cached`, the dashboard's),
  :func:`recommend_mentors`;
- writes: :func:`recommendation_dismiss` ("Not interested"), :func:`recommendations_forget`;
- training: :func:`recommender_train` (the site's data to a new model version in ``RECOMMENDER_DIR``),
  :func:`recommender_retrain_claim` (the periodic loop: is a retraining due?) and
  :func:`recommender_retrain` (the ``retrain_recommender`` task in :mod:`mentoring.tasks`).

Candidates are what a learner can act on: upcoming sessions with a free seat within
``RECOMMENDER_HORIZON_DAYS`` (not their own, not booked, not dismissed, inside their usual hours when
known) and mentors accepting bookings. The trained model ranks them when an artifact is there;
otherwise, or when the artifact cannot be used, popularity plus interest match does, and the problem
is logged once. Either way a learner with no booking yet sees their interests first, and one mentor
takes at most two of the first five places. Every recommendation carries a short reason, and a reason
that speaks of popularity has other learners' bookings behind it; a recommended mentor carries the
first 1:1 time the learner may request (``next_slot``), when they have set hours. No model is loaded at import time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from portal.accounts.models import User
from portal.dates import safe_localtime

from ..models import Booking, MentorProfile, NotInterested, Session
from ..selectors import OF_LISTED_MENTOR, availability_get, mentors_directory, sessions_open_for_booking
from . import MentoringError
from .availability import Slot, availability_lengths

if TYPE_CHECKING:
    from ..recommender.training import TrainingResult

logger = logging.getLogger(__name__)
POPULAR_DAYS = 7
# "Popular ..." and "Learners ... book ..." are said only with at least this many other learners'
# bookings behind them.
POPULAR_LEARNERS = 2
# Diversity: at most PER_MENTOR items of one mentor among the first DIVERSITY_WINDOW.
DIVERSITY_WINDOW, PER_MENTOR = 5, 2
# A recommended mentor's next free 1:1 time is looked for this many days ahead.
SLOT_DAYS = 14
KINDS = ("session", "mentor")


@dataclass
class Recommendation:
    item: Session | MentorProfile
    score: float
    reason: str
    # Mentors: the first 1:1 time this learner may request within SLOT_DAYS ("Book a 1:1 with X").
    next_slot: Slot | None = None


@dataclass
class Recommendations:
    kind: str  # "sessions" or "mentors"
    source: str  # "model" or "fallback"
    items: list[Recommendation]


# --------------------------------------------------------------------------- the model (loaded lazily)
class _ModelCache:
    """The latest trained artifact, loaded on first use and again when a newer one appears. A missing,
    corrupt or mismatched artifact gives ``None`` (the caller falls back) and is logged once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.model = None
        self.version = None  # (directory, version) of self.model
        self.failed = None  # (directory, version) that could not be loaded: not tried again

    def get(self):
        from ..recommender import artifact  # numpy and the model code: loaded on first use, not at import

        directory = settings.RECOMMENDER_DIR
        with self.lock:
            try:
                key = (directory, artifact.latest_version(directory))
            except Exception as error:  # no artifact yet, an unreadable directory
                return self._fail((directory, None), error, keep=False)
            if key == self.version:
                return self.model
            if key == self.failed:  # a broken newest version: keep what we had
                return self.model if self.version and self.version[0] == directory else None
            try:
                model = artifact.load(directory, key[1])
            except Exception as error:  # corrupt, truncated or from another format: never break a page
                return self._fail(key, error, keep=True)
            self.model, self.version, self.failed = model, key, None
            return model

    def _fail(self, key, error, *, keep: bool):
        if self.failed != key:
            logger.warning(
                "recommendation model %s unusable (%s); using %s",
                key[1],
                error,
                "the previous model" if keep and self.model is not None else "popularity and interest match",
            )
            self.failed = key
        if not keep or not (self.version and self.version[0] == key[0]):
            self.model = self.version = None
        return self.model


model_cache = _ModelCache()


# --------------------------------------------------------------------------- sessions
def _usual_hours(user: User, now: datetime) -> set[int] | None:
    """The local hours of day around the learner's last bookings (two hours either side, wrapping
    past midnight); ``None`` until there are three of them."""
    starts = list(
        Booking.objects.filter(learner=user, status=Booking.Status.ACTIVE, session__starts_at__lt=now)
        .order_by("-session__starts_at")
        .values_list("session__starts_at", flat=True)[:20]
    )
    if len(starts) < 3:
        return None
    tz = ZoneInfo(user.time_zone or "UTC")
    return {(safe_localtime(start, tz).hour + shift) % 24 for start in starts for shift in range(-2, 3)}


def _horizon(now: datetime) -> datetime:
    """Sessions starting after this are not recommended (``RECOMMENDER_HORIZON_DAYS``)."""
    return now + timedelta(days=settings.RECOMMENDER_HORIZON_DAYS)


def session_candidates(*, user: User, now: datetime | None = None) -> list[Session]:
    now = now or timezone.now()
    mine = Booking.objects.filter(learner=user, status=Booking.Status.ACTIVE).values("session_id")
    dismissed = NotInterested.objects.filter(user=user)
    sessions = (
        sessions_open_for_booking(now=now)
        .filter(mentor__is_active=True, starts_at__lte=_horizon(now))
        .exclude(pk__in=mine)
        .exclude(mentor=user)
        .exclude(pk__in=dismissed.filter(session__isnull=False).values("session_id"))
        .exclude(mentor_id__in=dismissed.filter(mentor__isnull=False).values("mentor_id"))
        .select_related("mentor", "course")
        .prefetch_related("skills")[:2000]
    )
    sessions = _next_of_each_series(sessions)  # soonest first: a weekly series is one pick, not six
    hours = _usual_hours(user, now)
    if hours is None:
        return sessions[:500]
    tz = ZoneInfo(user.time_zone or "UTC")
    return [s for s in sessions if safe_localtime(s.starts_at, tz).hour in hours][:500]


def _next_of_each_series(sessions: Iterable[Session]) -> list[Session]:
    """Sessions in their order, keeping of each series only its first (its next open date)."""
    seen: set[int] = set()
    kept = []
    for session in sessions:
        if session.series_id is not None:
            if session.series_id in seen:
                continue
            seen.add(session.series_id)
        kept.append(session)
    return kept


# A person's ranking is reused for a minute on the dashboard: ranking is most of the page's work.
# The sessions themselves are read fresh (seats, cancellations), and anything the person does that
# changes their candidates (book, cancel, waitlist, "Not interested", interests) starts a new ranking.
RANKING_CACHE_SECONDS = 60


def recommend_sessions_cached(*, user: User, limit: int = 6, now: datetime | None = None) -> Recommendations:
    now = now or timezone.now()
    key = f"recommendations:sessions:{user.pk}:{limit}:{cache.get(ranking_version_key(user.pk), 0)}"
    cached = cache.get(key)
    if cached is None:
        result = recommend_sessions(user=user, limit=limit, now=now)
        ranking = [(r.item.pk, r.score, r.reason) for r in result.items]
        cache.set(key, (result.source, ranking), RANKING_CACHE_SECONDS)
        return result
    source, ranking = cached
    still_open = (
        Session.objects.filter(
            pk__in=[pk for pk, _, _ in ranking],
            status=Session.Status.SCHEDULED,
            starts_at__gt=now,
            starts_at__lte=_horizon(now),
        )
        .filter(booked_count__lt=F("capacity"))
        .filter(OF_LISTED_MENTOR)  # staff may have asked the mentor for changes since
        .select_related("mentor")
        .prefetch_related("skills")
    )
    by_id = {session.pk: session for session in still_open}
    return Recommendations(
        "sessions", source, [Recommendation(by_id[pk], score, reason) for pk, score, reason in ranking if pk in by_id]
    )


def recommend_sessions(*, user: User, limit: int = 6, now: datetime | None = None) -> Recommendations:
    """Up to ``limit`` sessions for ``user``, best first, each with a reason that is true.

    - Only candidates (see :func:`session_candidates`): nothing past ``RECOMMENDER_HORIZON_DAYS``.
    - A learner with no booking yet (no history, whatever its status) sees the sessions matching their
      interests first, each group in the ranking's order (the model's score, or popularity and
      freshness without a model): with nothing else known about them, what they said they want beats
      what others book. From their first booking on, the ranking alone decides.
    - Of one mentor, at most ``PER_MENTOR`` sessions in the first ``DIVERSITY_WINDOW``, while other
      mentors' sessions are there to take the places.
    - A reason that claims popularity needs other learners' bookings behind it (see :class:`_Popularity`).
    """
    now = now or timezone.now()
    candidates = session_candidates(user=user, now=now)
    interests = {skill.pk: skill.name for skill in _interests(user)}
    history = Booking.objects.filter(learner=user).exists() if candidates else False
    model = model_cache.get() if candidates else None
    if model is not None:
        try:
            ranked = _rank_with_model(model, user, candidates, limit, interests, history=history, now=now)
            return Recommendations("sessions", "model", ranked)
        except Exception:  # a model that does not fit the data must not break the page
            logger.exception("recommendation model failed; falling back to popularity")
    return Recommendations(
        "sessions", "fallback", _rank_by_popularity(user, candidates, interests, limit, now, history=history)
    )


def _interests(user: User):
    profile = getattr(user, "learner_profile", None)
    return list(profile.interests.all()) if profile is not None else []


def _matching(session: Session, interests: dict[int, str]) -> list[str]:
    return [interests[skill.pk] for skill in session.skills.all() if skill.pk in interests]


@dataclass
class _Popularity:
    """How many *other* learners hold an active booking on what: the only ground for a reason that
    says "popular" or "learners ... book". Each count is of distinct learners; ``recent`` ones count
    bookings made in the last ``POPULAR_DAYS``. The model trains on these same bookings."""

    sessions: dict[int, int]
    sessions_recent: dict[int, int]
    mentors: dict[int, int]
    mentors_recent: dict[int, int]
    skills: dict[int, int]
    levels: dict[str, int]

    @classmethod
    def of(cls, *, user: User, sessions: list[Session], now: datetime) -> _Popularity:
        bookings = Booking.objects.filter(status=Booking.Status.ACTIVE, learner__role=User.Role.LEARNER).exclude(
            learner=user
        )
        learners = Count("learner_id", distinct=True)
        recent = Count("learner_id", distinct=True, filter=Q(created_at__gte=now - timedelta(days=POPULAR_DAYS)))

        def counts(rows) -> tuple[dict, dict]:
            rows = list(rows)
            return {key: n for key, n, _ in rows}, {key: r for key, _, r in rows}

        by_session, by_session_recent = counts(
            bookings.filter(session_id__in=[s.pk for s in sessions])
            .values("session_id")
            .annotate(n=learners, r=recent)
            .values_list("session_id", "n", "r")
        )
        by_mentor, by_mentor_recent = counts(
            bookings.filter(session__mentor_id__in={s.mentor_id for s in sessions})
            .values("session__mentor_id")
            .annotate(n=learners, r=recent)
            .values_list("session__mentor_id", "n", "r")
        )
        skill_ids = {skill.pk for s in sessions for skill in s.skills.all()}
        by_skill = (
            dict(
                bookings.filter(session__skills__in=skill_ids)
                .values("session__skills")
                .annotate(n=learners)
                .values_list("session__skills", "n")
            )
            if skill_ids
            else {}
        )
        levels = {s.course.level for s in sessions if s.course_id and s.course is not None}
        by_level = (
            dict(
                bookings.filter(session__course__level__in=levels)
                .values("session__course__level")
                .annotate(n=learners)
                .values_list("session__course__level", "n")
            )
            if levels
            else {}
        )
        return cls(by_session, by_session_recent, by_mentor, by_mentor_recent, by_skill, by_level)


def _diversify(ranked: list, key: Callable) -> list:
    """``ranked`` with at most ``PER_MENTOR`` items of one ``key`` in the first ``DIVERSITY_WINDOW``:
    an item over the cap moves down behind the window, unless nothing else is left to fill it."""
    head, rest = [], []
    seen: dict = {}
    for item in ranked:
        if len(head) < DIVERSITY_WINDOW and seen.get(key(item), 0) < PER_MENTOR:
            head.append(item)
            seen[key(item)] = seen.get(key(item), 0) + 1
        else:
            rest.append(item)
    return head + rest


def _interests_first(order: list[int], matching: Callable[[int], bool], history: bool) -> list[int]:
    """The no-history rule of :func:`recommend_sessions`: stable, so each part keeps ``order``."""
    return order if history else sorted(order, key=lambda n: not matching(n))


def _rank_by_popularity(
    user: User, candidates: list[Session], interests: dict[int, str], limit: int, now: datetime, *, history: bool
) -> list[Recommendation]:
    popularity = _Popularity.of(user=user, sessions=candidates, now=now)
    scores = []
    for session in candidates:
        popular = popularity.mentors_recent.get(session.mentor_id, 0)
        soon = max(0.0, 1 - (session.starts_at - now).total_seconds() / (14 * 86400))
        scores.append(3 * len(_matching(session, interests)) + min(popular, 10) / 2 + soon)
    order = sorted(range(len(candidates)), key=lambda n: (-scores[n], candidates[n].starts_at))
    order = _interests_first(order, lambda n: bool(_matching(candidates[n], interests)), history)
    order = _diversify(order, key=lambda n: candidates[n].mentor_id)[:limit]
    return [
        Recommendation(
            candidates[n],
            round(scores[n], 4),
            _plain_reason(candidates[n], interests, popularity, now, like_you=False),
        )
        for n in order
    ]


def _rank_with_model(
    model, user: User, candidates: list[Session], limit: int, interests: dict[int, str], *, history: bool, now: datetime
) -> list[Recommendation]:
    from ..recommender.db import learner_features, session_features, session_item_id, user_item_id

    user_id, features = user_item_id(user.pk), learner_features(user)
    scores = model.score(user_id, features, [(session_item_id(s.pk), session_features(s)) for s in candidates])
    order = sorted(range(len(candidates)), key=lambda n: (-scores[n], n))
    order = _interests_first(order, lambda n: bool(_matching(candidates[n], interests)), history)
    order = _diversify(order, key=lambda n: candidates[n].mentor_id)[:limit]
    chosen = [candidates[n] for n in order]
    popularity = _Popularity.of(user=user, sessions=chosen, now=now)
    ranked = []
    for n, session in zip(order, chosen, strict=True):
        drivers = model.explain(user_id, features, session_features(session), item_id=session_item_id(session.pk))
        reason = _reason(drivers, session, interests, popularity, history=history, now=now)
        ranked.append(Recommendation(session, round(float(scores[n]), 4), reason))
    return ranked


def _reason(
    drivers: list[tuple[str, float]],
    session: Session,
    interests: dict[int, str],
    popularity: _Popularity,
    *,
    history: bool,
    now: datetime,
) -> str:
    """Say which of the session's features drove its score, in words, taking the strongest driver
    whose sentence is true: "learners ... book" needs ``POPULAR_LEARNERS`` other learners' bookings on
    that mentor, skill or level, and "sessions like yours" a booking of the learner's own."""
    skills = {f"skill:{skill.slug}": skill for skill in session.skills.all()}
    for feature, weight in drivers:
        if weight <= 0:
            break
        skill = skills.get(feature)
        if skill is not None and skill.pk in interests:
            return f"Matches your interest in {skill.name}"
        if feature.startswith("mentor:"):
            if history and popularity.mentors.get(session.mentor_id, 0) >= POPULAR_LEARNERS:
                return f"Learners who booked sessions like yours booked {session.mentor.display_name}"
        elif skill is not None:
            if popularity.skills.get(skill.pk, 0) >= POPULAR_LEARNERS:
                return f"Learners like you book {skill.name} sessions"
        elif feature.startswith("level:"):
            level = feature.split(":", 1)[1]
            if popularity.levels.get(level, 0) >= POPULAR_LEARNERS:
                return f"Learners like you take {level} sessions"
    return _plain_reason(session, interests, popularity, now, like_you=True)


def _plain_reason(
    session: Session, interests: dict[int, str], popularity: _Popularity, now: datetime, *, like_you: bool
) -> str:
    """Interest match, then the session's own popularity (never a session nobody else booked), then
    its date."""
    matching = _matching(session, interests)
    if matching:
        return f"Matches your interest in {_and(matching)}"
    if popularity.sessions_recent.get(session.pk, 0) >= POPULAR_LEARNERS:
        return "Popular this week"
    if like_you and popularity.sessions.get(session.pk, 0) >= POPULAR_LEARNERS:
        return "Popular with learners like you"
    return "Starting soon" if session.starts_at - now <= timedelta(days=7) else "Open for booking"


# --------------------------------------------------------------------------- mentors
def recommend_mentors(*, user: User, limit: int = 6, now: datetime | None = None) -> Recommendations:
    """Up to ``limit`` mentors accepting bookings, best first, with the same rules as
    :func:`recommend_sessions`: interest matches first for a learner with no booking yet, and a
    reason that says "popular" only with ``POPULAR_LEARNERS`` other learners' recent bookings."""
    from ..recommender.db import learner_features, mentor_features, user_item_id

    now = now or timezone.now()
    dismissed = NotInterested.objects.filter(user=user, mentor__isnull=False).values("mentor_id")
    candidates = list(
        mentors_directory()
        .filter(accepting_bookings=True)
        .exclude(user=user)
        .exclude(user_id__in=dismissed)
        .prefetch_related("skills")[:300]
    )
    interests = {skill.pk: skill.name for skill in _interests(user)}
    mine = Booking.objects.filter(learner=user)
    history = mine.exists()
    had_session_with = set(
        mine.filter(status=Booking.Status.ACTIVE, session__starts_at__lt=now)
        .exclude(session__status=Session.Status.CANCELLED)  # a cancelled session keeps its bookings active
        .values_list("session__mentor_id", flat=True)
    )
    recent = dict(
        Booking.objects.filter(
            status=Booking.Status.ACTIVE,
            learner__role=User.Role.LEARNER,
            created_at__gte=now - timedelta(days=POPULAR_DAYS),
        )
        .exclude(learner=user)
        .values("session__mentor_id")
        .annotate(n=Count("learner_id", distinct=True))
        .values_list("session__mentor_id", "n")
    )
    model = model_cache.get() if candidates else None
    model_scores: dict[int, float] = {}
    if model is not None:
        try:
            features = learner_features(user)
            items = [(f"mentor-profile:{p.user_id}", mentor_features(p)) for p in candidates]
            scores = model.score(user_item_id(user.pk), features, items)
            model_scores = {p.user_id: float(s) for p, s in zip(candidates, scores, strict=True)}
        except Exception:
            logger.exception("recommendation model failed for mentors; falling back to popularity")
            model_scores = {}
    scored = []
    for profile in candidates:
        matching = [interests[skill.pk] for skill in profile.skills.all() if skill.pk in interests]
        rating = getattr(profile, "average_rating", None) or 0
        popular = recent.get(profile.user_id, 0)
        base = 3 * len(matching) + float(rating) / 2 + min(popular, 10) / 4
        score = model_scores[profile.user_id] if model_scores else base
        if matching:
            reason = f"Teaches {_and(matching)}, which you are interested in"
        elif profile.user_id in had_session_with:
            reason = "You had a session with them before"
        elif popular >= POPULAR_LEARNERS:
            reason = "Popular this week"
        elif rating:
            reason = f"Rated {rating:.1f} by learners"
        else:
            reason = "Accepting new learners"
        scored.append((bool(matching), Recommendation(profile, round(score, 4), reason)))
    scored.sort(key=lambda pair: -pair[1].score)
    if not history:
        scored.sort(key=lambda pair: not pair[0])
    chosen = [r for _, r in scored[:limit]]
    for rec in chosen:
        rec.next_slot = _next_slot(mentor=rec.item.user, learner=user, now=now)
    return Recommendations("mentors", "model" if model_scores else "fallback", chosen)


def _next_slot(*, mentor: User, learner: User, now: datetime) -> Slot | None:
    """The first time of the mentor's shortest 1:1 length this learner may request (their own
    sessions and waiting requests left out), within ``SLOT_DAYS``; ``None`` without one."""
    from .requests import request_slots  # requests -> bookings -> this module

    lengths = availability_lengths(availability_get(mentor=mentor))
    if not lengths or not learner.is_learner:
        return None
    slots = request_slots(mentor=mentor, duration_minutes=lengths[0], now=now, days=SLOT_DAYS, learner=learner)
    return slots[0] if slots else None


def _and(names: list[str]) -> str:
    names = list(dict.fromkeys(names))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --------------------------------------------------------------------------- "Not interested"
def ranking_version_key(user_id: int) -> str:
    return f"recommendations:version:{user_id}"


def recommendations_forget(*, user_id: int) -> None:
    """``user_id``'s bookings, waitlists, interests or dismissals changed: the dashboard ranks afresh
    on the next visit instead of reusing its cached ranking (after commit: a rollback changed nothing)."""

    def bump() -> None:
        try:
            cache.incr(ranking_version_key(user_id))
        except ValueError:
            cache.set(ranking_version_key(user_id), 1, None)

    transaction.on_commit(bump)


def recommendation_dismiss(*, user: User, kind: str, object_id: int) -> NotInterested:
    """Hide a session or a mentor from ``user``'s recommendations (idempotent); the next training
    reads it as a negative signal."""
    if kind == "session":
        session = Session.objects.filter(pk=object_id).first()
        if session is None:
            raise MentoringError("No such session.", code="not_found")
        dismissal, _ = NotInterested.objects.get_or_create(user=user, session=session)
        recommendations_forget(user_id=user.pk)
        return dismissal
    if kind == "mentor":
        mentor = User.objects.filter(pk=object_id, role=User.Role.MENTOR, is_active=True).exclude(pk=user.pk).first()
        if mentor is None:
            raise MentoringError("No such mentor.", code="not_found")
        dismissal, _ = NotInterested.objects.get_or_create(user=user, mentor=mentor)
        recommendations_forget(user_id=user.pk)
        return dismissal
    raise MentoringError("Say whether it is a session or a mentor.", code="kind")


# --------------------------------------------------------------------------- training
# After a retraining was asked for, the periodic loop waits this long before asking again (a run
# that wrote nothing, too little data or a failure, is not retried every minute).
RETRAIN_RETRY = timedelta(hours=1)


def recommender_train(
    *,
    directory: str | Path | None = None,
    params: dict | None = None,
    seed: int = 0,
    keep: int = 5,
    now: datetime | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> TrainingResult:
    """Train on the site's data as it stood at ``now`` (default: as it is) and save a new version in
    ``directory`` (default ``RECOMMENDER_DIR``), keeping the newest ``keep``; ``result.skipped`` says
    why nothing was written. ``ValueError`` when training fails (e.g. a diverging learning rate)."""
    from ..recommender.db import from_database
    from ..recommender.training import train_and_save

    directory = Path(directory or settings.RECOMMENDER_DIR)
    return train_and_save(from_database(now=now), directory, params=params, seed=seed, keep=keep, progress=progress)


def _latest_trained_at(directory: Path) -> datetime | None:
    from ..recommender import artifact

    try:
        metadata = artifact.read_metadata(directory, artifact.latest_version(directory))
        return datetime.fromisoformat(metadata["trained_at"])
    except (artifact.ArtifactError, KeyError, ValueError):
        return None  # none yet, or unreadable: as good as none


def recommender_retrain_claim(*, now: datetime) -> bool:
    """Whether a retraining should be queued now: the newest model is older than
    ``RECOMMENDER_RETRAIN_HOURS`` (or there is none) and none was asked for within ``RETRAIN_RETRY``.
    A ``True`` counts as asking. Reads files only, never the database."""
    directory = Path(settings.RECOMMENDER_DIR)
    trained_at = _latest_trained_at(directory)
    if trained_at is not None and now - trained_at < timedelta(hours=settings.RECOMMENDER_RETRAIN_HOURS):
        return False
    marker = directory / "last-attempt"
    if marker.exists() and now.timestamp() - marker.stat().st_mtime < RETRAIN_RETRY.total_seconds():
        return False
    directory.mkdir(parents=True, exist_ok=True)
    marker.touch()
    os.utime(marker, (now.timestamp(), now.timestamp()))
    return True


def recommender_retrain(*, requested_at: datetime) -> TrainingResult | None:
    """Train a new model unless one was trained at or after ``requested_at`` (a second queued request,
    or a ``train_recommender`` run in between): ``None`` then."""
    trained_at = _latest_trained_at(Path(settings.RECOMMENDER_DIR))
    if trained_at is not None and trained_at >= requested_at:
        return None
    result = recommender_train()
    if result.skipped:
        logger.info("recommendation model not trained: %s", result.skipped)
    else:
        logger.info("trained recommendation model %s in %.1f s", result.version, result.seconds)
    return result
