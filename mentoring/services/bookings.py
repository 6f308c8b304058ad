from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User

from ..models import Booking, MentorProfile, Session, WaitlistEntry
from ..selectors import (
    bookings_of,
    learner_bookings_between,
    session_has_learner,
    session_is_mentor,
    waitlist_entries_of,
)
from . import MentoringError, SessionFull
from .calendar import calendar_sequence_bump
from .notifications import Invite, notify
from .recommendations import recommendations_forget
from .sessions import _local as local_words
from .sessions import account_can_act_check

# Undoing a booking (or a session) within this long of making it is a change of mind, never late.
LATE_CANCEL_GRACE = timedelta(minutes=30)


def cancellation_is_late(*, starts_at: datetime, now: datetime | None = None, made_at: datetime | None = None) -> bool:
    """Whether cancelling now is a late cancellation: less than ``LATE_CANCEL_HOURS`` before the start,
    and more than ``LATE_CANCEL_GRACE`` after the booking (or session) was made at ``made_at``."""
    now = now or timezone.now()
    if made_at is not None and now - made_at < LATE_CANCEL_GRACE:
        return False
    return starts_at - now < timedelta(hours=settings.LATE_CANCEL_HOURS)


def late_cancellation_words() -> str:
    """How a late cancellation is explained to the person making it (dialogs, messages, notifications)."""
    hours = settings.LATE_CANCEL_HOURS
    return f"less than {hours} hour{'' if hours == 1 else 's'} before the start"


def _seats(session: Session) -> str:
    return f"{session.booked_count}/{session.capacity} seats taken"


def _has_overlapping_booking(*, learner: User, session: Session) -> bool:
    return (
        learner_bookings_between(learner=learner, starts_at=session.starts_at, ends_at=session.ends_at)
        .exclude(session=session)
        .exists()
    )


def _check_bookable(*, session: Session, learner: User, now: datetime) -> None:
    if learner.role != User.Role.LEARNER:
        raise MentoringError("Only learners can book sessions.", code="not_learner")
    if session_is_mentor(session=session, user=learner):
        raise MentoringError("You cannot book your own session.", code="own")
    if session.status == Session.Status.CANCELLED:
        raise MentoringError("This session was cancelled.", code="cancelled")
    if session.status != Session.Status.SCHEDULED or session.starts_at <= now:
        raise MentoringError("This session has already started or ended.", code="past")
    if session_has_learner(session=session, user=learner):
        raise MentoringError("You have already booked this session.", code="already_booked")
    if session.private:
        raise MentoringError("This is a one-to-one session of another learner.", code="private")
    review_status, accepting = MentorProfile.objects.filter(user_id=session.mentor_id).values_list(
        "review_status", "accepting_bookings"
    ).first() or (None, False)
    if review_status != MentorProfile.Review.APPROVED:
        raise MentoringError("This mentor's profile is not yet reviewed.", code="not_reviewed")
    if not accepting:
        raise MentoringError("This mentor is not accepting bookings right now.", code="not_accepting")
    if _has_overlapping_booking(learner=learner, session=session):
        raise MentoringError("You already have a booked session at that time.", code="overlap")


def _seat_take(*, session: Session, learner: User, from_waitlist: bool) -> Booking:
    booking = Booking.objects.create(session=session, learner=learner, promoted_from_waitlist=from_waitlist)
    Session.objects.filter(pk=session.pk).update(booked_count=F("booked_count") + 1)
    session.booked_count += 1
    # A seat taken is an event appearing in the learner's calendar: a newer SEQUENCE than any CANCEL
    # they may have had for this session before (a seat given up, then taken again).
    calendar_sequence_bump(session=session)
    recommendations_forget(user_id=learner.pk)
    return booking


def booking_create(*, session_id: int, learner: User, now: datetime | None = None, announce: bool = True) -> Booking:
    """Book a seat. Exact under concurrency: the learner's row, then the session's row, are locked,
    and the database refuses overbooking and a second active booking anyway. ``announce=False``: the
    caller tells both sides itself (the dates of a series booked at once, in one message)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            locked = User.objects.select_for_update().filter(pk=learner.pk).first()
            session = Session.objects.select_for_update().select_related("mentor").filter(pk=session_id).first()
            if session is None:
                raise MentoringError("No such session.", code="not_found")
            # Read again under the lock: a deactivation or suspension that committed meanwhile wins.
            account_can_act_check(user=locked, now=now)
            if not session.mentor.is_active or session.mentor.is_suspended(now):
                raise MentoringError("This mentor is not available on PeerLearn right now.", code="mentor_unavailable")
            _check_bookable(session=session, learner=learner, now=now)
            if session.is_full:
                raise SessionFull()
            booking = _seat_take(session=session, learner=learner, from_waitlist=False)
            WaitlistEntry.objects.filter(session=session, learner=learner, status=WaitlistEntry.Status.WAITING).update(
                status=WaitlistEntry.Status.LEFT
            )
            if not announce:
                return booking
            invite = Invite(session, "REQUEST")
            notify(
                user=learner,
                kind="booking_confirmed",
                text=f"You are booked on “{session.title}” with {session.mentor.display_name}, "
                f"{local_words(session.starts_at, learner)}. The calendar invitation holds the link to the call.",
                link=reverse("session_detail", args=[session.pk]),
                invite=invite,
            )
            notify(
                user=session.mentor,
                kind="booking_made",
                text=f"{learner.display_name} booked “{session.title}” ({_seats(session)}): "
                f"{local_words(session.starts_at, session.mentor)}.",
                link=reverse("dashboard"),
                invite=invite,
            )
    except IntegrityError as exc:
        text = str(exc)
        if "booking_one_active_per_learner" in text:
            raise MentoringError("You have already booked this session.", code="already_booked") from None
        if "session_not_overbooked" in text:
            raise SessionFull() from None
        raise
    return booking


def waitlist_promote(*, session: Session, now: datetime | None = None) -> list[Booking]:
    """Give free seats to the first waiting learners, in order. Caller holds the session's row lock."""
    now = now or timezone.now()
    promoted: list[Booking] = []
    if session.status != Session.Status.SCHEDULED or session.starts_at <= now:
        return promoted
    session.refresh_from_db(fields=["booked_count", "capacity"])
    waiting = (
        WaitlistEntry.objects.filter(session=session, status=WaitlistEntry.Status.WAITING)
        .select_related("learner")
        .order_by("created_at", "id")
    )
    for entry in waiting:
        if session.booked_count >= session.capacity:
            break
        learner = entry.learner
        if (
            not learner.is_active
            or learner.is_suspended(now)
            or _has_overlapping_booking(learner=learner, session=session)
        ):
            continue  # they keep their place; the next learner gets this seat
        if session_has_learner(session=session, user=learner):
            entry.status = WaitlistEntry.Status.LEFT
            entry.save(update_fields=["status"])
            continue
        promoted.append(_seat_take(session=session, learner=learner, from_waitlist=True))
        entry.status = WaitlistEntry.Status.PROMOTED
        entry.save(update_fields=["status"])
        invite = Invite(session, "REQUEST")
        notify(
            user=learner,
            kind="waitlist_promoted",
            text=f"A seat freed up: you are now booked on “{session.title}” with {session.mentor.display_name}, "
            f"{local_words(session.starts_at, learner)}. The calendar invitation holds the link to the call.",
            link=reverse("session_detail", args=[session.pk]),
            invite=invite,
        )
        notify(
            user=session.mentor,
            kind="booking_made",
            text=f"{learner.display_name} got a seat on “{session.title}” "
            f"({local_words(session.starts_at, session.mentor)}) from the waitlist ({_seats(session)}).",
            link=reverse("dashboard"),
            invite=invite,
        )
    return promoted


@transaction.atomic
def booking_cancel(*, booking_id: int, learner: User, now: datetime | None = None, by_staff: bool = False) -> Booking:
    """A learner gives up their seat; the first waiting learner gets it. Cancelling a booking that is
    cancelled already returns it as it is. Less than ``LATE_CANCEL_HOURS`` before the start, the
    booking is marked ``cancelled_late``. The learner gets the calendar's CANCEL, the mentor an update.
    ``by_staff``: the site's staff cancel it (moderation): never late, and worded as theirs."""
    now = now or timezone.now()
    booking = bookings_of(user=learner).filter(pk=booking_id).first()
    if booking is None:
        raise MentoringError("No such booking.", code="not_found")
    session = Session.objects.select_for_update().select_related("mentor").get(pk=booking.session_id)
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if booking.status != Booking.Status.ACTIVE:
        return booking  # cancelled already (a second click, another tab): the same outcome, nothing more
    if session.starts_at <= now:
        raise MentoringError("This session has already started; it can no longer be cancelled.", code="started")
    booking.status = Booking.Status.CANCELLED
    booking.cancelled_at = now
    booking.cancelled_late = not by_staff and cancellation_is_late(
        starts_at=session.starts_at, now=now, made_at=booking.created_at
    )
    booking.save(update_fields=["status", "cancelled_at", "cancelled_late"])
    recommendations_forget(user_id=learner.pk)
    Session.objects.filter(pk=session.pk).update(booked_count=F("booked_count") - 1)
    session.booked_count -= 1
    calendar_sequence_bump(session=session)
    late = f" This is a late cancellation: {late_cancellation_words()}." if booking.cancelled_late else ""
    notify(
        user=learner,
        kind="booking_cancelled",
        text=f"{'The PeerLearn team cancelled' if by_staff else 'You cancelled'} your seat on “{session.title}” "
        f"with {session.mentor.display_name}, {local_words(session.starts_at, learner)}.{late}",
        link=reverse("session_detail", args=[session.pk]),
        invite=Invite(session, "CANCEL"),
    )
    late = f" A late cancellation: {late_cancellation_words()}." if booking.cancelled_late else ""
    by = "The PeerLearn team" if by_staff else learner.display_name
    whose = f"{learner.display_name}'s" if by_staff else "their"
    if session.private:
        # A one-to-one made from a request is the learner's alone: without them there is no session,
        # and the mentor's time is free for others again.
        session.status = Session.Status.CANCELLED
        session.cancelled_at = now
        session.save(update_fields=["status", "cancelled_at", "updated_at"])
        mentor_text = (
            f"{by} cancelled your one-to-one{f' with {learner.display_name}' if by_staff else ''} “{session.title}” "
            f"({local_words(session.starts_at, session.mentor)}); the time is free again.{late}"
        )
    else:
        mentor_text = (
            f"{by} cancelled {whose} seat on “{session.title}” "
            f"({local_words(session.starts_at, session.mentor)}; {_seats(session)}).{late}"
        )
    notify(
        user=session.mentor,
        kind="booking_cancelled",
        text=mentor_text,
        link=reverse("dashboard"),
        invite=Invite(session, "CANCEL" if session.private else "REQUEST"),
    )
    waitlist_promote(session=session, now=now)
    from .calls import calls_disconnect_user

    calls_disconnect_user(user_id=learner.pk, session_id=session.pk)
    return booking


def waitlist_join(*, session_id: int, learner: User, now: datetime | None = None) -> WaitlistEntry:
    now = now or timezone.now()
    try:
        with transaction.atomic():
            session = Session.objects.select_for_update().filter(pk=session_id).first()
            if session is None:
                raise MentoringError("No such session.", code="not_found")
            _check_bookable(session=session, learner=learner, now=now)
            if not session.is_full:
                raise MentoringError("This session still has free seats: book one instead.", code="not_full")
            if WaitlistEntry.objects.filter(
                session=session, learner=learner, status=WaitlistEntry.Status.WAITING
            ).exists():
                raise MentoringError("You are already on the waitlist for this session.", code="already_waiting")
            recommendations_forget(user_id=learner.pk)
            return WaitlistEntry.objects.create(session=session, learner=learner)
    except IntegrityError:
        raise MentoringError("You are already on the waitlist for this session.", code="already_waiting") from None


def waitlist_leave(*, entry_id: int, learner: User) -> WaitlistEntry:
    """Leave a waitlist. An entry that was left already, or promoted to a seat meanwhile, is returned as
    it is: the caller tells the learner which."""
    entry = waitlist_entries_of(user=learner).filter(pk=entry_id).select_related("session").first()
    if entry is None:
        raise MentoringError("You are not on this waitlist.", code="not_found")
    if WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistEntry.Status.WAITING).update(
        status=WaitlistEntry.Status.LEFT
    ):
        recommendations_forget(user_id=learner.pk)
    entry.refresh_from_db(fields=["status"])
    return entry
