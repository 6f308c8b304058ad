"""Reads. Every question "may this person see / join / change this?" is answered here, once.

Selectors know no HTTP: a thing that does not exist, or that the person asking may not know of, is
``mentoring.errors.NotFound`` (``mentoring.web.domain_errors`` makes it the 404 page; the call consumer
its own close code)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db.models import Avg, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.accounts.models import User

from .errors import NotFound
from .models import (
    Availability,
    Booking,
    CalendarFeed,
    Feedback,
    Language,
    MentorProfile,
    Notification,
    RescheduleProposal,
    Session,
    SessionRequest,
    SessionSeries,
    WaitlistEntry,
)


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
# Who may see what is decided here and only here. The predicates answer for one session and one person;
# the querysets below them are the same rules for many rows; the ``*_get_for_*`` selectors load one thing
# through them and raise ``NotFound`` for "does not exist" and "not yours" alike.
def _signed_in(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def sessions_mentored_by(*, user: User | None) -> QuerySet[Session]:
    """The sessions ``user`` offers (none for anonymous)."""
    return Session.objects.filter(mentor=user) if _signed_in(user) else Session.objects.none()


def bookings_of(*, user: User | None) -> QuerySet[Booking]:
    """``user``'s own bookings, active or cancelled (none for anonymous)."""
    return Booking.objects.filter(learner=user) if _signed_in(user) else Booking.objects.none()


def waitlist_entries_of(*, user: User | None) -> QuerySet[WaitlistEntry]:
    """``user``'s own waitlist entries, in any state (none for anonymous)."""
    return WaitlistEntry.objects.filter(learner=user) if _signed_in(user) else WaitlistEntry.objects.none()


def _seats_of(user: User) -> QuerySet[Booking]:
    return Booking.objects.filter(learner=user, status=Booking.Status.ACTIVE)


def _seats_on(session: Session) -> QuerySet[Booking]:
    return Booking.objects.filter(session=session, status=Booking.Status.ACTIVE)


def _holds_seat(user: User) -> Exists:
    """On a Session queryset: ``user`` holds an active booking on the row's session."""
    return Exists(_seats_of(user).filter(session=OuterRef("pk")))


def sessions_participated_by(*, user: User | None) -> QuerySet[Session]:
    """Sessions ``user`` takes part in: mentors them, or holds an active booking. Waitlisted learners,
    cancelled bookings and staff are not participants."""
    if not _signed_in(user):
        return Session.objects.none()
    return Session.objects.filter(Q(mentor=user) | Q(_holds_seat(user)))


def session_is_mentor(*, session: Session, user: User | None) -> bool:
    """``user`` is the session's mentor."""
    return _signed_in(user) and session.mentor_id == user.pk


def session_has_learner(*, session: Session, user: User | None) -> bool:
    """``user`` holds an active booking on the session (waitlisted or cancelled: no)."""
    return _signed_in(user) and _seats_of(user).filter(session=session).exists()


def session_is_participant(*, session: Session, user: User | None) -> bool:
    """``user`` takes part in the session: its mentor, or a learner with an active booking."""
    return session_is_mentor(session=session, user=user) or session_has_learner(session=session, user=user)


def _private_session_party(*, session: Session, user: User | None) -> bool:
    """A private one-to-one's page is its mentor's and its learner's, also after the learner gave up
    the seat (the page then says it was cancelled, instead of not existing)."""
    if session_is_mentor(session=session, user=user):
        return True
    return _signed_in(user) and Booking.objects.filter(session=session, learner=user).exists()


def session_may_cancel(*, session: Session, user: User | None) -> bool:
    """Who may cancel a whole session: its mentor on the site, staff from the admin."""
    return _signed_in(user) and (user.is_staff or session.mentor_id == user.pk)


def session_participants(*, session: Session) -> list[User]:
    """The session's mentor, then its learners with an active booking, in booking order."""
    seats = _seats_on(session).select_related("learner").order_by("created_at", "id")
    return [session.mentor, *(booking.learner for booking in seats)]


def session_participant_ids(*, session: Session) -> set[int]:
    """The ids of :func:`session_participants`, in one small query."""
    return {session.mentor_id, *_seats_on(session).values_list("learner_id", flat=True)}


def session_get_for_participant(
    *, user: User | None, room_id: UUID | str | None = None, session_id: int | None = None
) -> Session:
    """The one door to a session's room (by ``room_id``) and its reports (by ``session_id``): its mentor
    or a learner with an active booking. Anyone else (anonymous, outsiders, waitlisted, cancelled
    bookings, staff) gets ``NotFound``, exactly as for a session that does not exist."""
    found = sessions_participated_by(user=user).select_related("mentor")
    found = found.filter(room_id=room_id) if room_id is not None else found.filter(pk=session_id)
    session = found.first()
    if session is None:
        raise NotFound("No such session.")
    return session


def session_get_for_learner(*, session_id: int, user: User | None) -> Session:
    """A session ``user`` holds an active booking on (what they may rate)."""
    session = (
        Session.objects.select_related("mentor", "mentor__mentor_profile", "course")
        .filter(pk=session_id)
        .filter(_holds_seat(user))
        .first()
        if _signed_in(user)
        else None
    )
    if session is None:
        raise NotFound("No such session.")
    return session


CALL_AHEAD_HOURS = 48


def user_has_call_ahead(*, user: User, now: datetime | None = None) -> bool:
    """Whether ``user`` has a real call coming: a scheduled session with at least one booked learner,
    not ended and starting within CALL_AHEAD_HOURS, that they mentor or are booked on. Who may be
    handed TURN credentials outside a room (the call check): a throwaway session months away, or one
    nobody booked, does not count."""
    now = now or timezone.now()
    return (
        sessions_participated_by(user=user)
        .filter(
            status=Session.Status.SCHEDULED, ends_at__gt=now, starts_at__lte=now + timedelta(hours=CALL_AHEAD_HOURS)
        )
        .filter(Exists(_seats_on(OuterRef("pk"))))
        .exists()
    )


def session_get_for_mentor(*, session_id: int, user: User | None) -> Session:
    """A session its own mentor may change; "not yours" is the same ``NotFound`` as "does not exist"."""
    session = sessions_mentored_by(user=user).filter(pk=session_id).first()
    if session is None:
        raise NotFound("No such session.")
    return session


def session_of_listed_mentor(session: Session) -> bool:
    """The session's mentor is listed: staff reviewed and approved their profile."""
    profile = getattr(session.mentor, "mentor_profile", None)
    return profile is not None and profile.review_status == MentorProfile.Review.APPROVED


# On a Session queryset: the session's mentor is listed (the same rule for many rows).
OF_LISTED_MENTOR = Q(mentor__mentor_profile__review_status=MentorProfile.Review.APPROVED)


def of_open_mentor(now: datetime | None = None) -> Q:
    """On a Session queryset: the session's mentor is listed, active and not suspended at ``now``
    (what the public lists of sessions show: search, the sitemap, the session list, choosers)."""
    return OF_LISTED_MENTOR & Q(mentor__is_active=True) & ~Q(mentor__suspended_until__gt=now or timezone.now())


def session_may_view_unlisted(*, session: Session, user: User | None) -> bool:
    """Who sees a session of a mentor staff have not approved (yet): its mentor, its booked learners, staff."""
    return _signed_in(user) and (user.is_staff or session_is_participant(session=session, user=user))


def session_get_public(*, session_id: int, user: User | None = None, include_unlisted: bool = False) -> Session:
    """A session's public page. A private one-to-one session (made from a request) is its
    participants' only: for anyone else (``user`` not given included) it does not exist. A session
    of a mentor whose profile staff have not approved is seen only by :func:`session_may_view_unlisted`,
    unless ``include_unlisted`` (the booking views: their services refuse it with a message)."""
    session = (
        Session.objects.select_related("mentor", "mentor__mentor_profile", "course")
        .prefetch_related("skills")
        .filter(pk=session_id)
        .first()
    )
    if session is None or (session.private and not _private_session_party(session=session, user=user)):
        raise NotFound("No such session.")
    if not (include_unlisted or session_of_listed_mentor(session)):
        if not session_may_view_unlisted(session=session, user=user):
            raise NotFound("No such session.")
    return session


@dataclass
class SessionViewer:
    """What one person's view of a session page shows besides the session itself."""

    is_mentor: bool = False
    booking: Booking | None = None
    waitlist_entry: WaitlistEntry | None = None
    bookings: QuerySet[Booking] | None = None  # the mentor sees who booked
    feedback: Feedback | None = None  # a booked learner's rating, once the session ended


def session_viewer(*, session: Session, user: User | None, now: datetime | None = None) -> SessionViewer:
    if not _signed_in(user):
        return SessionViewer()
    now = now or timezone.now()
    viewer = SessionViewer(
        is_mentor=session_is_mentor(session=session, user=user),
        booking=bookings_of(user=user).filter(session=session, status=Booking.Status.ACTIVE).first(),
        waitlist_entry=waitlist_entries_of(user=user)
        .filter(session=session, status=WaitlistEntry.Status.WAITING)
        .first(),
    )
    if viewer.is_mentor:
        viewer.bookings = _seats_on(session).select_related("learner")
    if viewer.booking and session.ends_at <= now:
        viewer.feedback = feedback_get_own(session=session, user=user)
    return viewer


def booking_get_for_learner(*, booking_id: int, user: User | None) -> Booking:
    booking = bookings_of(user=user).select_related("session__mentor").filter(pk=booking_id).first()
    if booking is None:
        raise NotFound("No such booking.")
    return booking


def waitlist_entry_get_for_learner(*, entry_id: int, user: User | None) -> WaitlistEntry:
    entry = waitlist_entries_of(user=user).select_related("session__mentor").filter(pk=entry_id).first()
    if entry is None:
        raise NotFound("You are not on this waitlist.")
    return entry


def feedback_get_own(*, session: Session, user: User) -> Feedback | None:
    return Feedback.objects.filter(session=session, learner=user).first()


def calendar_feed_get_by_token(*, token: str) -> CalendarFeed:
    """A private calendar feed by its secret token; an unknown token, or a deactivated owner, is ``NotFound``."""
    feed = CalendarFeed.objects.select_related("user").filter(token=token, user__is_active=True).first()
    if feed is None:
        raise NotFound("No such calendar.")
    return feed


CALENDAR_FEED_LIMIT = 500


def sessions_in_calendar_of(*, user: User, now: datetime | None = None) -> list[Session]:
    """What a person's calendar feed holds: a mentor's sessions, a learner's booked ones. What is
    ahead, soonest first, then the past, newest first, up to CALENDAR_FEED_LIMIT: a long history never
    pushes upcoming sessions out of the feed."""
    now = now or timezone.now()
    if user.is_mentor:
        sessions = sessions_mentored_by(user=user)
    else:
        sessions = Session.objects.filter(_holds_seat(user))
    sessions = sessions.select_related("mentor")
    ahead = list(sessions.filter(ends_at__gt=now).order_by("starts_at")[:CALENDAR_FEED_LIMIT])
    past = list(sessions.filter(ends_at__lte=now).order_by("-starts_at")[: CALENDAR_FEED_LIMIT - len(ahead)])
    return ahead + past


# --------------------------------------------------------------------------- lists
def sessions_open_for_booking(*, now: datetime | None = None) -> QuerySet[Session]:
    """Upcoming scheduled sessions that still have a free seat, soonest first."""
    now = now or timezone.now()
    return (
        Session.objects.filter(status=Session.Status.SCHEDULED, starts_at__gt=now, booked_count__lt=F("capacity"))
        .filter(private=False)
        .filter(of_open_mentor(now))
        .select_related("mentor")
        .prefetch_related("skills")
        .order_by("starts_at", "id")
    )


def sessions_upcoming(
    *, now: datetime | None = None, skill: str | None = None, q: str | None = None
) -> QuerySet[Session]:
    now = now or timezone.now()
    sessions = (
        Session.objects.filter(status=Session.Status.SCHEDULED, starts_at__gt=now, private=False)
        .filter(of_open_mentor(now))
        .select_related("mentor")
        .prefetch_related("skills")
        .order_by("starts_at", "id")
    )
    if skill:
        sessions = sessions.filter(skills__slug=skill)
    if q:
        sessions = sessions.filter(
            Q(title__icontains=q) | Q(description__icontains=q) | Q(mentor__display_name__icontains=q)
        )
    return sessions.distinct()


def _mentor_open_q(now=None) -> Q:
    """On MentorProfile: the mentor's account is active and not suspended (the one rule for listing)."""
    return Q(user__is_active=True) & ~Q(user__suspended_until__gt=now or timezone.now())


def mentors_directory(
    *, q: str = "", skill: str = "", language: str = "", include_unlisted: bool = False
) -> QuerySet[MentorProfile]:
    """Active mentors whose profile staff approved (``include_unlisted``: not yet approved ones too)."""
    profiles = (
        MentorProfile.objects.filter(user__is_active=True, user__role=User.Role.MENTOR)
        .filter(Q() if include_unlisted else Q(review_status=MentorProfile.Review.APPROVED) & _mentor_open_q())
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
            Q(user__display_name__icontains=q)
            | Q(headline__icontains=q)
            | Q(bio__icontains=q)
            | Q(skills__name__icontains=q)
        )
    if skill:
        profiles = profiles.filter(skills__slug=skill)
    if language:
        profiles = profiles.filter(languages__code=language)
    return profiles.distinct()


def mentor_languages_in_use() -> QuerySet[Language]:
    """The languages that mentors listed in the directory speak, each with ``mentor_count`` (how many
    of them), by name: what the directory's language filter offers."""
    listed = mentors_directory().values("pk")
    return (
        Language.objects.filter(mentors__pk__in=listed)
        .annotate(mentor_count=Count("mentors", distinct=True))
        .order_by("name", "pk")
    )


def mentor_is_listed(*, mentor_id: int) -> bool:
    """Whether a mentor is open to learners: reviewed and approved by staff, accepting bookings, and
    not suspended."""
    return MentorProfile.objects.filter(
        _mentor_open_q(), user_id=mentor_id, review_status=MentorProfile.Review.APPROVED, accepting_bookings=True
    ).exists()


def availability_get(*, mentor: User) -> Availability | None:
    """The mentor's 1:1 booking rules (weekly hours prefetched), or ``None`` if never set."""
    return Availability.objects.filter(mentor=mentor).prefetch_related("weekly_hours").first() if mentor.pk else None


def mentor_profiles_pending_count() -> int:
    """How many active mentors' profiles wait for staff review (the admin index says so)."""
    return MentorProfile.objects.filter(review_status=MentorProfile.Review.PENDING, user__is_active=True).count()


def mentor_get_public(*, user_id: int, user: User | None = None) -> MentorProfile:
    """A mentor's public profile. One staff have not approved (yet) is seen only by the mentor
    themself and staff (``user``, the viewer); for anyone else it does not exist."""
    may_preview = _signed_in(user) and (user.is_staff or user.pk == user_id)
    profile = mentors_directory(include_unlisted=may_preview).filter(user_id=user_id).first()
    if profile is None:
        raise NotFound("No such mentor.")
    return profile


def mentor_get_reportable(*, user_id: int, user: User) -> MentorProfile:
    """A mentor ``user`` may report: any public mentor but themselves."""
    profile = mentor_get_public(user_id=user_id)
    if profile.user_id == user.pk:
        raise NotFound("No such mentor.")
    return profile


def mentor_sessions_open(*, mentor_id: int, limit: int = 20) -> QuerySet[Session]:
    return sessions_open_for_booking().filter(mentor_id=mentor_id)[:limit]


def mentor_feedback_public(*, mentor_id: int, limit: int = 6) -> QuerySet[Feedback]:
    """What learners wrote about a mentor's sessions, as their public profile shows it (hidden ones left out)."""
    return (
        Feedback.objects.filter(session__mentor_id=mentor_id, hidden=False)
        .exclude(comment="")
        .select_related("learner", "session")[:limit]
    )


@dataclass
class LearnerDashboard:
    upcoming: list[Booking]
    waitlist: list[WaitlistEntry]
    past: list[Booking]
    feedback_by_session: dict[int, Feedback]


def learner_dashboard(*, user: User, now: datetime | None = None) -> LearnerDashboard:
    now = now or timezone.now()
    bookings = bookings_of(user=user).filter(status=Booking.Status.ACTIVE).select_related("session", "session__mentor")
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
        waitlist_entries_of(user=user)
        .filter(status=WaitlistEntry.Status.WAITING, session__starts_at__gt=now)
        .annotate(position=Coalesce(Subquery(ahead), 0) + 1)
        .select_related("session", "session__mentor")
        .order_by("session__starts_at")
    )
    feedback = {
        f.session_id: f for f in Feedback.objects.filter(learner=user, session_id__in=[b.session_id for b in past])
    }
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
        sessions_mentored_by(user=user)
        .filter(status=Session.Status.SCHEDULED, ends_at__gt=now)
        .prefetch_related(active_bookings)
        .annotate(waiting_count=Count("waitlist", filter=Q(waitlist__status=WaitlistEntry.Status.WAITING)))
        .order_by("starts_at")
    )
    past = list(
        sessions_mentored_by(user=user)
        .filter(ends_at__lte=now)
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
    # "id", not "pk": in a Wagtail preview the skills are the edit form's, held in memory by
    # modelcluster, whose fake queryset knows no "pk".
    skill_ids = list(course.skills.values_list("id", flat=True)) if course.pk else []
    linked = Q(course_id=course.pk)
    matching = Q(pk__in=Session.skills.through.objects.filter(skill_id__in=skill_ids).values("session_id"))
    return list(sessions_open_for_booking(now=now).filter(linked | matching if skill_ids else linked)[:limit])


def course_mentors(*, course, limit: int = 6) -> list[MentorProfile]:
    skill_ids = list(course.skills.values_list("id", flat=True)) if course.pk else []
    if not skill_ids:
        return []
    return list(mentors_directory().filter(skills__in=skill_ids, accepting_bookings=True)[:limit])


def sessions_pinned(*, sessions: list[Session], now: datetime | None = None) -> list[Session]:
    """Sessions an editor pinned on a page, in the editor's order, leaving out past and cancelled ones
    (and those of mentors staff have not approved)."""
    now = now or timezone.now()
    mentor_ids = {s.mentor_id for s in sessions if s is not None}
    listed = set(
        MentorProfile.objects.filter(user_id__in=mentor_ids, review_status=MentorProfile.Review.APPROVED).values_list(
            "user_id", flat=True
        )
    )
    return [
        s
        for s in sessions
        if s is not None
        and s.status == Session.Status.SCHEDULED
        and s.starts_at > now
        and not s.private
        and s.mentor_id in listed
    ]


# --------------------------------------------------------------------------- 1:1 requests
def requests_received_by(*, user: User | None) -> QuerySet[SessionRequest]:
    """The 1:1 requests learners sent ``user`` (a mentor), in any state (none for anonymous)."""
    return SessionRequest.objects.filter(mentor=user) if _signed_in(user) else SessionRequest.objects.none()


def requests_made_by(*, user: User | None) -> QuerySet[SessionRequest]:
    """The 1:1 requests ``user`` (a learner) sent, in any state (none for anonymous)."""
    return SessionRequest.objects.filter(learner=user) if _signed_in(user) else SessionRequest.objects.none()


def request_get_for_mentor(*, request_id: int, user: User | None) -> SessionRequest:
    """A request sent to ``user``; anyone else's is the same ``NotFound`` as one that does not exist."""
    found = requests_received_by(user=user).select_related("learner", "mentor", "session").filter(pk=request_id).first()
    if found is None:
        raise NotFound("No such request.")
    return found


def request_get_for_learner(*, request_id: int, user: User | None) -> SessionRequest:
    """A request ``user`` sent; anyone else's is the same ``NotFound`` as one that does not exist."""
    found = requests_made_by(user=user).select_related("learner", "mentor", "session").filter(pk=request_id).first()
    if found is None:
        raise NotFound("No such request.")
    return found


REQUESTS_PAGE_LIMIT = 100


def requests_of(*, user: User, limit: int = REQUESTS_PAGE_LIMIT) -> list[SessionRequest]:
    """What the requests page lists: a mentor's received requests, a learner's sent ones; the pending
    ones first (soonest start first), then the answered ones, newest first."""
    mine = requests_received_by(user=user) if user.is_mentor else requests_made_by(user=user)
    mine = mine.select_related("learner", "mentor", "session")
    pending = list(mine.filter(status=SessionRequest.Status.PENDING).order_by("starts_at", "id")[:limit])
    answered = list(
        mine.exclude(status=SessionRequest.Status.PENDING).order_by("-created_at", "-id")[: limit - len(pending)]
    )
    return pending + answered


def learner_bookings_between(*, learner: User, starts_at: datetime, ends_at: datetime) -> QuerySet[Booking]:
    """The learner's active bookings of scheduled sessions overlapping ``starts_at``..``ends_at``: the
    one rule for "the learner is busy then" (booking, requests, the slot picker, the demo seed)."""
    return Booking.objects.filter(
        learner=learner,
        status=Booking.Status.ACTIVE,
        session__status=Session.Status.SCHEDULED,
        session__starts_at__lt=ends_at,
        session__ends_at__gt=starts_at,
    )


def request_made_for(*, learner: User, mentor: User, starts_at: datetime) -> SessionRequest | None:
    """The learner's request to the mentor for that start that still stands (waiting, or accepted with
    its session not cancelled), if any."""
    return (
        requests_made_by(user=learner)
        .filter(mentor=mentor, starts_at=starts_at)
        .filter(
            Q(status=SessionRequest.Status.PENDING)
            | Q(status=SessionRequest.Status.ACCEPTED, session__status=Session.Status.SCHEDULED)
        )
        .order_by("-pk")
        .first()
    )


def requests_for_dashboard(*, user: User, now: datetime | None = None, limit: int = 10) -> list[SessionRequest]:
    """A mentor's requests waiting for an answer (soonest start first); a learner's pending requests
    and those answered in the last week, for the dashboard's cards."""
    now = now or timezone.now()
    if user.is_mentor:
        return list(
            requests_received_by(user=user)
            .filter(status=SessionRequest.Status.PENDING, expires_at__gt=now)
            .select_related("learner")
            .order_by("starts_at", "id")[:limit]
        )
    recent = Q(status=SessionRequest.Status.PENDING) | Q(responded_at__gte=now - timedelta(days=7))
    return list(
        requests_made_by(user=user)
        .filter(recent, starts_at__gt=now - timedelta(days=1))
        .select_related("mentor", "session")
        .order_by("starts_at", "id")[:limit]
    )


# --------------------------------------------------------------------------- rescheduling
def session_one_to_one_learner(*, session: Session) -> User | None:
    """The learner holding the seat of a one-to-one session (the first active booking), if any."""
    booking = _seats_on(session).select_related("learner").order_by("created_at", "id").first()
    return booking.learner if booking else None


def _reschedules_open(now: datetime) -> QuerySet[RescheduleProposal]:
    # Pending and still answerable: neither the proposed time nor the session has started (the
    # periodic job marks the rest expired within a minute; pages never offer them meanwhile).
    return RescheduleProposal.objects.filter(
        status=RescheduleProposal.Status.PENDING,
        starts_at__gt=now,
        session__status=Session.Status.SCHEDULED,
        session__starts_at__gt=now,
    )


def reschedule_pending_for(
    *, session: Session, user: User | None, now: datetime | None = None
) -> RescheduleProposal | None:
    """The new time proposed for ``session`` and waiting for an answer, as its mentor or booked
    learner sees it; ``None`` for anyone else and when there is none."""
    if not session_is_participant(session=session, user=user):
        return None
    now = now or timezone.now()
    return _reschedules_open(now).filter(session=session).select_related("proposed_by").first()


def reschedule_get_for_participant(*, proposal_id: int, user: User | None) -> RescheduleProposal:
    """A proposal (in any state) of a session ``user`` takes part in; ``NotFound`` for anyone else."""
    if not _signed_in(user):
        raise NotFound("No such proposal.")
    proposal = (
        RescheduleProposal.objects.select_related("session", "session__mentor", "proposed_by")
        .filter(pk=proposal_id)
        .filter(Q(session__mentor=user) | Q(Exists(_seats_of(user).filter(session=OuterRef("session")))))
        .first()
    )
    if proposal is None:
        raise NotFound("No such proposal.")
    return proposal


def reschedules_awaiting_answer(*, user: User | None, now: datetime | None = None) -> list[RescheduleProposal]:
    """New times others proposed for sessions ``user`` takes part in, waiting for ``user``'s answer,
    soonest session first (the dashboard's list, for mentors and learners alike)."""
    if not _signed_in(user):
        return []
    now = now or timezone.now()
    return list(
        _reschedules_open(now)
        .exclude(proposed_by=user)
        .filter(Q(session__mentor=user) | Q(Exists(_seats_of(user).filter(session=OuterRef("session")))))
        .select_related("session", "session__mentor", "proposed_by")
        .order_by("session__starts_at", "pk")[:20]
    )


# --------------------------------------------------------------------------- series
def series_get_public(*, series_id: int) -> SessionSeries:
    series = SessionSeries.objects.select_related("mentor").filter(pk=series_id).first()
    if series is None:
        raise NotFound("No such series.")
    return series


def series_upcoming_occurrences(*, series_id: int, now: datetime | None = None) -> QuerySet[Session]:
    """A series' scheduled dates that have not started yet, soonest first."""
    now = now or timezone.now()
    return (
        Session.objects.filter(series_id=series_id, status=Session.Status.SCHEDULED, starts_at__gt=now)
        .select_related("mentor")
        .order_by("starts_at", "id")
    )


def series_future_occurrences(*, session: Session, now: datetime | None = None) -> QuerySet[Session]:
    """``session`` (while scheduled) and the later scheduled dates of its series that have not started:
    what "this and all future ones" changes or cancels."""
    now = now or timezone.now()
    return (
        Session.objects.filter(series_id=session.series_id, status=Session.Status.SCHEDULED)
        .filter(Q(pk=session.pk) | Q(starts_at__gt=max(session.starts_at, now)))
        .order_by("starts_at", "id")
    )


@dataclass
class SeriesOverview:
    """A session page's view of the series the session belongs to."""

    series: SessionSeries
    upcoming: list[Session]  # every scheduled date not started yet, this one included
    others: list[Session]  # the upcoming dates besides this one
    booked_ids: set[int]  # the upcoming dates the viewer holds a seat on
    later_count: int  # this date and the later ones: what "this and all future ones" changes

    @property
    def frequency_words(self) -> str:
        return "weekly" if self.series.frequency == SessionSeries.Frequency.WEEKLY else "fortnightly"

    @property
    def to_book(self) -> int:
        """Upcoming dates the viewer has no seat on: what "Book all" tries."""
        return len(self.upcoming) - len(self.booked_ids)


def series_overview(*, session: Session, user: User | None, now: datetime | None = None) -> SeriesOverview | None:
    """The series of ``session`` for its page, or None when it is not part of one (three queries)."""
    if not session.series_id:
        return None
    now = now or timezone.now()
    series = SessionSeries.objects.filter(pk=session.series_id).first()
    if series is None:
        return None
    upcoming = list(series_upcoming_occurrences(series_id=series.pk, now=now))
    booked = (
        set(_seats_of(user).filter(session__in=[s.pk for s in upcoming]).values_list("session_id", flat=True))
        if _signed_in(user) and upcoming
        else set()
    )
    later = [s for s in upcoming if s.pk == session.pk or s.starts_at > session.starts_at]
    return SeriesOverview(
        series=series,
        upcoming=upcoming,
        others=[s for s in upcoming if s.pk != session.pk],
        booked_ids=booked,
        later_count=len(later),
    )
