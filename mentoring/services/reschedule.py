"""Rescheduling a one-to-one session: one side proposes a new time from the mentor's availability,
the other accepts or declines, the proposer may withdraw, and an unanswered proposal expires when
the session or the proposed time starts.

Accepted, the same ``Session`` row moves: its seat, its room (``room_id``) and its calendar event
(the same UID, a higher SEQUENCE) follow, and the booking's reminders are due again for the new
time. Group sessions (capacity above 1) are not proposed: their mentor edits them.

Every write locks the session's row first, then the proposal's: proposing, answering, withdrawing
and booking changes on one session happen one at a time. PostgreSQL keeps the rest exact: one
pending proposal per session (``reschedule_one_pending_per_session``) and no overlapping sessions
of a mentor (``session_mentor_no_overlap``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.dates import safe_localtime
from portal.validators import squash_to_one_line

from ..errors import NotFound
from ..models import Booking, RescheduleProposal, Session
from ..selectors import session_has_learner, session_is_mentor, session_one_to_one_learner
from . import MentoringError
from .availability import slot_check
from .calendar import calendar_sequence_bump
from .notifications import Invite, notify
from .text import text_multi_line

MESSAGE_MAX = 1000
DECLINE_MESSAGE_MAX = 300

PENDING_MESSAGE = (
    "A new time is already proposed for this session. Answer it (or withdraw yours) before proposing another."
)
SLOT_TAKEN_MESSAGE = (
    "The proposed time is no longer free: the mentor has another session then. "
    "Decline this proposal and propose another time."
)
NO_AVAILABILITY_MESSAGE = (
    "There are no free times to move to: the mentor's availability for one-to-one sessions is not set, "
    "or they are not taking bookings at the moment."
)


def when_for(dt: datetime, user: User) -> str:
    """The instant in the person's zone, named: "Tue 9 Dec 2025, 15:00 (Europe/Rome)"; in UTC, and
    saying so, when the zone is unknown or the instant cannot be shown there."""
    local = safe_localtime(dt, user.time_zone)
    zone = "UTC" if local.tzinfo is UTC or str(local.tzinfo) != user.time_zone else user.time_zone
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M} ({zone})"


# --------------------------------------------------------------------------- rules
def _other_side(*, session: Session, user: User, learner: User) -> User:
    return learner if session.mentor_id == user.pk else session.mentor


def reschedule_check(*, session: Session, user: User, now: datetime | None = None) -> User:
    """Whether ``user`` may propose a new time for ``session`` now; returns the one booked learner.

    Anyone but the session's mentor and its booked learner gets ``NotFound`` (the same answer as for a
    session that does not exist); the participants get a ``MentoringError`` saying why not."""
    now = now or timezone.now()
    if not (session_is_mentor(session=session, user=user) or session_has_learner(session=session, user=user)):
        raise NotFound("No such session.")
    if session.capacity != 1:
        raise MentoringError(
            "Group sessions are not rescheduled by proposal: their mentor changes the time with Edit, "
            "and everyone booked is told.",
            code="group",
        )
    if session.status == Session.Status.CANCELLED:
        raise MentoringError("This session was cancelled.", code="cancelled")
    if session.status != Session.Status.SCHEDULED or session.starts_at <= now:
        raise MentoringError("This session has already started or ended; its time can no longer change.", code="past")
    learner = session_one_to_one_learner(session=session)
    if learner is None:
        raise MentoringError(
            "Nobody has booked this session yet: change its time with Edit instead.", code="no_learner"
        )
    return learner


def _slot_check(*, session: Session, starts_at: datetime, now: datetime) -> None:
    """The new time must be a free slot of the mentor's availability for the session's own length
    (whether or not the mentor offers that length for new requests); the session's current time does
    not block its move."""
    try:
        slot_check(
            mentor=session.mentor,
            starts_at=starts_at,
            duration_minutes=session.duration_minutes,
            now=now,
            ignore_session_id=session.pk,
            any_length=True,
        )
    except MentoringError as error:
        if error.code == "unavailable":
            raise MentoringError(NO_AVAILABILITY_MESSAGE, code="unavailable") from None
        raise


# At acceptance: why the proposed time cannot be taken any more, by the availability engine's code.
_GONE_AT_ANSWER = {
    "slot_taken": "the mentor has another session (or a request) then",
    "cap_reached": "the mentor's limit of sessions for that day or week is reached",
    "too_soon": "it is now sooner than the notice the mentor needs",
}


def _slot_check_at_answer(*, session: Session, starts_at: datetime, now: datetime) -> None:
    try:
        _slot_check(session=session, starts_at=starts_at, now=now)
    except MentoringError as error:
        reason = _GONE_AT_ANSWER.get(error.code, "it is no longer among the mentor's free times")
        raise MentoringError(
            f"The proposed time is no longer free: {reason}. Decline this proposal and propose another time.",
            code=error.code,
        ) from None


def _learner_busy(*, learner: User, session: Session, starts_at: datetime, ends_at: datetime) -> bool:
    return (
        Booking.objects.filter(
            learner=learner,
            status=Booking.Status.ACTIVE,
            session__status=Session.Status.SCHEDULED,
            session__starts_at__lt=ends_at,
            session__ends_at__gt=starts_at,
        )
        .exclude(session=session)
        .exists()
    )


def _session_locked(session_id: int) -> Session:
    session = Session.objects.select_for_update().filter(pk=session_id).first()
    if session is None:
        raise NotFound("No such session.")
    # The mentor is read apart from the lock (FOR UPDATE on a join would lock the user's row too).
    session.mentor = User.objects.get(pk=session.mentor_id)
    return session


def _proposal_locked(*, proposal_id: int, user: User) -> tuple[RescheduleProposal, Session]:
    """The proposal and its session, both locked (session first, as every write on a session does).
    Only the session's mentor and its booked learner find it."""
    session_id = RescheduleProposal.objects.filter(pk=proposal_id).values_list("session_id", flat=True).first()
    if session_id is None:
        raise NotFound("No such proposal.")
    session = _session_locked(session_id)
    if not (session_is_mentor(session=session, user=user) or session_has_learner(session=session, user=user)):
        raise NotFound("No such proposal.")
    proposal = RescheduleProposal.objects.select_for_update().get(pk=proposal_id)
    proposal.session = session
    return proposal, session


_CLOSED_MESSAGES = {
    RescheduleProposal.Status.ACCEPTED: "This new time was accepted already.",
    RescheduleProposal.Status.DECLINED: "This new time was declined already.",
    RescheduleProposal.Status.WITHDRAWN: "This new time was withdrawn by the person who proposed it.",
    RescheduleProposal.Status.EXPIRED: "This proposal expired: its time, or the session, has started.",
}


def _closed(proposal: RescheduleProposal) -> MentoringError:
    return MentoringError(_CLOSED_MESSAGES[proposal.status], code=f"proposal_{proposal.status}")


# --------------------------------------------------------------------------- writes
def reschedule_propose(
    *, session_id: int, user: User, starts_at: datetime, message: str = "", now: datetime | None = None
) -> RescheduleProposal:
    """Propose ``starts_at`` (aware) as the new start of a one-to-one session. The length stays; the
    time must be free in the mentor's availability. The other side is asked to answer."""
    now = now or timezone.now()
    if timezone.is_naive(starts_at):
        raise MentoringError("Choose one of the free times listed.", code="bad_time")
    message = text_multi_line(message, label="Message", code="message_text")
    if len(message) > MESSAGE_MAX:
        raise MentoringError(f"Keep the message to {MESSAGE_MAX} characters or fewer.", code="message_text")
    try:
        with transaction.atomic():
            session = _session_locked(session_id)
            learner = reschedule_check(session=session, user=user, now=now)
            if starts_at == session.starts_at:
                raise MentoringError("That is the session's current time: choose another one.", code="same_time")
            if RescheduleProposal.objects.filter(session=session, status=RescheduleProposal.Status.PENDING).exists():
                raise MentoringError(PENDING_MESSAGE, code="pending")
            _slot_check(session=session, starts_at=starts_at, now=now)
            ends_at = starts_at + timedelta(minutes=session.duration_minutes)
            # The learner's own calendar is checked for their own proposal; the mentor does not get to
            # probe it (the learner's answer checks it then).
            if user.pk == learner.pk and _learner_busy(
                learner=learner, session=session, starts_at=starts_at, ends_at=ends_at
            ):
                raise MentoringError("You already have another session at that time: choose another.", code="overlap")
            proposal = RescheduleProposal.objects.create(
                session=session, proposed_by=user, starts_at=starts_at, ends_at=ends_at, message=message
            )
            _announce_proposal(proposal=proposal, session=session, proposer=user, learner=learner)
    except IntegrityError as exc:
        if "reschedule_one_pending_per_session" in str(exc):
            raise MentoringError(PENDING_MESSAGE, code="pending") from None
        raise
    return proposal


def _announce_proposal(*, proposal: RescheduleProposal, session: Session, proposer: User, learner: User) -> None:
    other = _other_side(session=session, user=proposer, learner=learner)
    title = squash_to_one_line(session.title)
    link = reverse("session_detail", args=[session.pk])
    note = f" Message: {squash_to_one_line(proposal.message)}" if proposal.message else ""
    notify(
        user=other,
        kind="reschedule_proposed",
        text=f"{squash_to_one_line(proposer.display_name)} proposes a new time for “{title}”: "
        f"{when_for(proposal.starts_at, other)} instead of {when_for(session.starts_at, other)}. "
        f"Accept or decline it on the session's page.{note}",
        link=link,
    )
    notify(
        user=proposer,
        kind="reschedule_proposed",
        text=f"You proposed {when_for(proposal.starts_at, proposer)} as the new time for “{title}”. "
        f"We will tell you when {squash_to_one_line(other.display_name)} answers; until then it stays at "
        f"{when_for(session.starts_at, proposer)}.",
        link=link,
    )


def reschedule_accept(*, proposal_id: int, user: User, now: datetime | None = None) -> RescheduleProposal:
    """The other side accepts: the session moves to the proposed time (its seat, room and calendar
    event follow) and both sides get the updated calendar invitation. Accepting an accepted proposal
    again returns it. A time that is no longer free leaves the proposal pending and says so."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            proposal, session = _proposal_locked(proposal_id=proposal_id, user=user)
            if proposal.status == RescheduleProposal.Status.ACCEPTED:
                return proposal  # a second click, another tab: the outcome stands
            if proposal.status != RescheduleProposal.Status.PENDING:
                raise _closed(proposal)
            if proposal.proposed_by_id == user.pk:
                raise MentoringError(
                    "You proposed this time: the other side answers it. You can withdraw it.", code="own_proposal"
                )
            learner = reschedule_check(session=session, user=user, now=now)
            if proposal.starts_at <= now:
                raise MentoringError(_CLOSED_MESSAGES[RescheduleProposal.Status.EXPIRED], code="proposal_expired")
            _slot_check_at_answer(session=session, starts_at=proposal.starts_at, now=now)
            if _learner_busy(learner=learner, session=session, starts_at=proposal.starts_at, ends_at=proposal.ends_at):
                raise MentoringError(
                    "You already have another session at that time."
                    if user.pk == learner.pk
                    else f"{squash_to_one_line(learner.display_name)} has another session at that time now.",
                    code="overlap",
                )
            old_start = session.starts_at
            session.starts_at = proposal.starts_at
            session.ends_at = proposal.starts_at + timedelta(minutes=session.duration_minutes)
            try:
                with transaction.atomic():  # the exclusion constraint settles a race the check lost
                    session.save(update_fields=["starts_at", "ends_at", "updated_at"])
            except IntegrityError as exc:
                if "session_mentor_no_overlap" in str(exc):
                    raise MentoringError(SLOT_TAKEN_MESSAGE, code="slot_taken") from None
                raise
            # Reminders follow the new time: both are due again.
            Booking.objects.filter(session=session, status=Booking.Status.ACTIVE).update(
                reminded_24h_at=None, reminded_15m_at=None
            )
            proposal.status = RescheduleProposal.Status.ACCEPTED
            proposal.responded_at = now
            proposal.save(update_fields=["status", "responded_at"])
            calendar_sequence_bump(session=session)
            _announce_accepted(session=session, old_start=old_start, answerer=user, learner=learner)
    except IntegrityError as exc:
        if "session_mentor_no_overlap" in str(exc):
            raise MentoringError(SLOT_TAKEN_MESSAGE, code="slot_taken") from None
        raise
    return proposal


def _announce_accepted(*, session: Session, old_start: datetime, answerer: User, learner: User) -> None:
    title = squash_to_one_line(session.title)
    link = reverse("session_detail", args=[session.pk])
    invite = Invite(session, "REQUEST")
    for person in (session.mentor, learner):
        who = "You accepted" if person.pk == answerer.pk else f"{squash_to_one_line(answerer.display_name)} accepted"
        notify(
            user=person,
            kind="reschedule_accepted",
            text=f"{who} the new time for “{title}”: it now starts {when_for(session.starts_at, person)} "
            f"(was {when_for(old_start, person)}). The call link stays the same; the calendar invite is updated.",
            link=link,
            invite=invite,
        )


def reschedule_decline(
    *, proposal_id: int, user: User, message: str = "", now: datetime | None = None
) -> RescheduleProposal:
    """The other side declines, with an optional message for the proposer; the session keeps its time.
    Declining a declined proposal again returns it."""
    now = now or timezone.now()
    message = text_multi_line(message, label="Message", code="message_text")
    if len(message) > DECLINE_MESSAGE_MAX:
        raise MentoringError(f"Keep the message to {DECLINE_MESSAGE_MAX} characters or fewer.", code="message_text")
    with transaction.atomic():
        proposal, session = _proposal_locked(proposal_id=proposal_id, user=user)
        if proposal.status == RescheduleProposal.Status.DECLINED:
            return proposal
        if proposal.status != RescheduleProposal.Status.PENDING:
            raise _closed(proposal)
        if proposal.proposed_by_id == user.pk:
            raise MentoringError("You proposed this time: withdraw it instead of declining it.", code="own_proposal")
        proposal.status = RescheduleProposal.Status.DECLINED
        proposal.responded_at = now
        proposal.save(update_fields=["status", "responded_at"])
        proposer = User.objects.get(pk=proposal.proposed_by_id)
        title = squash_to_one_line(session.title)
        link = reverse("session_detail", args=[session.pk])
        note = f" Their message: {squash_to_one_line(message)}" if message else ""
        notify(
            user=proposer,
            kind="reschedule_declined",
            text=f"{squash_to_one_line(user.display_name)} declined the new time you proposed for “{title}” "
            f"({when_for(proposal.starts_at, proposer)}). It stays at {when_for(session.starts_at, proposer)}.{note}",
            link=link,
        )
        notify(
            user=user,
            kind="reschedule_declined",
            text=f"You declined the new time {squash_to_one_line(proposer.display_name)} proposed for “{title}”. "
            f"It stays at {when_for(session.starts_at, user)}.",
            link=link,
        )
    return proposal


def reschedule_withdraw(*, proposal_id: int, user: User, now: datetime | None = None) -> RescheduleProposal:
    """The proposer takes their proposal back; the other side is told. Withdrawing twice returns it."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal, session = _proposal_locked(proposal_id=proposal_id, user=user)
        if proposal.proposed_by_id != user.pk:
            raise MentoringError("Only the person who proposed a new time can withdraw it.", code="not_proposer")
        if proposal.status == RescheduleProposal.Status.WITHDRAWN:
            return proposal
        if proposal.status != RescheduleProposal.Status.PENDING:
            raise _closed(proposal)
        proposal.status = RescheduleProposal.Status.WITHDRAWN
        proposal.responded_at = now
        proposal.save(update_fields=["status", "responded_at"])
        learner = session_one_to_one_learner(session=session)
        title = squash_to_one_line(session.title)
        link = reverse("session_detail", args=[session.pk])
        if learner is not None:
            other = _other_side(session=session, user=user, learner=learner)
            notify(
                user=other,
                kind="reschedule_withdrawn",
                text=f"{squash_to_one_line(user.display_name)} withdrew the new time they proposed for “{title}”. "
                f"It stays at {when_for(session.starts_at, other)}.",
                link=link,
            )
        notify(
            user=user,
            kind="reschedule_withdrawn",
            text=f"You withdrew your proposed new time for “{title}”. It stays at {when_for(session.starts_at, user)}.",
            link=link,
        )
    return proposal


def reschedules_expire(*, now: datetime | None = None) -> int:
    """Close pending proposals nobody can answer any more (run periodically): their proposed time or
    their session has started, the session was cancelled, or its learner gave up the seat. A proposal
    that ran out of time unanswered is announced to its proposer. Safe from several processes at once."""
    now = now or timezone.now()
    expired = 0
    with transaction.atomic():
        stale = (
            RescheduleProposal.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=RescheduleProposal.Status.PENDING)
            .filter(
                Q(starts_at__lte=now)
                | Q(session__starts_at__lte=now)
                | ~Q(session__status=Session.Status.SCHEDULED)
                | ~Exists(Booking.objects.filter(session=OuterRef("session"), status=Booking.Status.ACTIVE))
            )
            .select_related("session", "proposed_by")
            .order_by("pk")
        )
        for proposal in stale:
            proposal.status = RescheduleProposal.Status.EXPIRED
            proposal.responded_at = now
            proposal.save(update_fields=["status", "responded_at"])
            expired += 1
            session, proposer = proposal.session, proposal.proposed_by
            learner = session_one_to_one_learner(session=session)
            if session.status != Session.Status.SCHEDULED or learner is None:
                continue  # cancelled, or the seat given up: those were announced on their own
            title, link = squash_to_one_line(session.title), reverse("session_detail", args=[session.pk])
            notify(
                user=proposer,
                kind="reschedule_declined",
                text=f"Your proposed new time for “{title}” ({when_for(proposal.starts_at, proposer)}) expired "
                "without an answer.",
                link=link,
            )
            if session.starts_at > now:  # the other side still has the session ahead: it keeps its time
                other = _other_side(session=session, user=proposer, learner=learner)
                notify(
                    user=other,
                    kind="reschedule_declined",
                    text=f"The new time {squash_to_one_line(proposer.display_name)} proposed for “{title}” "
                    f"expired without an answer. It stays at {when_for(session.starts_at, other)}.",
                    link=link,
                )
    return expired
