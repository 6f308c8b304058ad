"""1:1 requests: a learner asks a mentor for a one-to-one session in one of the mentor's free slots;
the mentor accepts (a private session with the learner's seat is created) or declines; the learner may
withdraw while it waits; unanswered requests expire.

A pending request holds its slot. Exactness under concurrency: every write that takes or frees a
mentor's slot locks the mentor's user row first (so two requests for one mentor are decided one after
the other, and the slot check sees the earlier one); PostgreSQL's exclusion constraints
``request_pending_no_overlap`` and ``session_mentor_no_overlap`` refuse an overlap anyway, and their
violation is the same friendly ``slot_taken`` refusal, listing the next free slots.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.dates import safe_localtime
from portal.validators import squash_to_one_line

from ..models import Availability, SessionRequest
from ..selectors import learner_bookings_between, mentor_is_listed, request_get_for_learner, request_get_for_mentor
from . import SAME_SUBMISSION_WINDOW, MentoringError
from .availability import Slot, slot_check, slots_free
from .bookings import _seat_take
from .notifications import Invite, notify
from .sessions import session_create
from .text import text_multi_line

AGENDA_MAX = 1000
RESPONSE_MAX = 1000
# A request the mentor has not answered expires this long before its start: nobody should learn of a
# session minutes before it begins.
ANSWER_MARGIN = timedelta(hours=1)
NEXT_SLOTS_SHOWN = 3
TITLE_MAX = 120


class SlotTaken(MentoringError):
    """The slot went to someone else (or is otherwise held): the message lists the next free slots,
    which are also given as ``next_slots`` for a page to offer them."""

    def __init__(self, message: str, *, next_slots: list[Slot]):
        super().__init__(message, code="slot_taken")
        self.next_slots = next_slots


# --------------------------------------------------------------------------- wording
def _when(dt: datetime, user: User, *, now: datetime | None = None) -> str:
    """ "Tue 3 Mar, 10:00" in the person's zone; with the year when it is not this year."""
    local = safe_localtime(dt, user.time_zone)
    this_year = safe_localtime(now or timezone.now(), local.tzinfo).year
    return f"{local:%a} {local.day} {local:%b}{'' if local.year == this_year else f' {local.year}'}, {local:%H:%M}"


def _zone(user: User) -> str:
    return user.time_zone or "UTC"


def _name(user: User) -> str:
    return squash_to_one_line(user.display_name) or "Someone"


def _slot_text(request: SessionRequest, user: User) -> str:
    return f"{_when(request.starts_at, user)} ({_zone(user)}), {request.duration_minutes} minutes"


def _excerpt(text: str, length: int = 80) -> str:
    line = squash_to_one_line(text)
    return line if len(line) <= length else f"{line[: length - 1].rstrip()}…"


def request_slots(
    *,
    mentor: User,
    duration_minutes: int,
    now: datetime | None = None,
    days: int | None = None,
    learner: User | None = None,
) -> list[Slot]:
    """The slots a learner may request now: the mentor's free slots, less those too close to answer
    (within ``ANSWER_MARGIN``) unless the mentor accepts automatically, and, given the ``learner``,
    less those when the learner has a session booked or a request waiting."""
    now = now or timezone.now()
    slots = slots_free(mentor=mentor, duration_minutes=duration_minutes, now=now, days=days)
    if not _auto_accepts(mentor):
        slots = [slot for slot in slots if slot.starts_at - ANSWER_MARGIN > now]
    if learner is not None and slots:
        busy = _learner_busy_times(learner=learner, since=slots[0].starts_at, until=slots[-1].ends_at, now=now)
        slots = [slot for slot in slots if not any(s < slot.ends_at and e > slot.starts_at for s, e in busy)]
    return slots


def _learner_busy_times(*, learner: User, since: datetime, until: datetime, now: datetime) -> list[tuple]:
    """(start, end) of the learner's booked sessions and waiting requests between ``since`` and ``until``."""
    booked = learner_bookings_between(learner=learner, starts_at=since, ends_at=until).values_list(
        "session__starts_at", "session__ends_at"
    )
    waiting = SessionRequest.objects.filter(
        learner=learner,
        status=SessionRequest.Status.PENDING,
        expires_at__gt=now,
        starts_at__lt=until,
        ends_at__gt=since,
    ).values_list("starts_at", "ends_at")
    return [*booked, *waiting]


def _auto_accepts(mentor: User) -> bool:
    return Availability.objects.filter(mentor=mentor, auto_accept=True).exists()


def _slot_taken(*, mentor: User, learner: User, duration_minutes: int, now: datetime) -> SlotTaken:
    """The refusal for a slot that is gone, naming the next free ones in the learner's zone."""
    try:
        upcoming = request_slots(mentor=mentor, duration_minutes=duration_minutes, now=now, learner=learner)[
            :NEXT_SLOTS_SHOWN
        ]
    except MentoringError:
        upcoming = []
    taken = f"That time with {_name(mentor)} was just taken."
    if not upcoming:
        return SlotTaken(
            f"{taken} There are no other free times for {duration_minutes} minutes right now.", next_slots=[]
        )
    times = "; ".join(_when(slot.starts_at, learner, now=now) for slot in upcoming)
    return SlotTaken(f"{taken} The next free times ({_zone(learner)}): {times}.", next_slots=upcoming)


def request_slot_check(
    *, learner: User, mentor: User, starts_at: datetime, duration_minutes: int, now: datetime | None = None
) -> None:
    """Whether ``learner`` may ask for that slot now, before they write their agenda: the availability
    engine's refusals, a time too close for the mentor to answer, and :class:`SlotTaken` (with the next
    free slots) for a slot someone holds. :func:`request_create` decides again when it is sent."""
    now = now or timezone.now()
    try:
        slot_check(mentor=mentor, starts_at=starts_at, duration_minutes=duration_minutes, now=now)
    except MentoringError as error:
        if error.code == "slot_taken":
            raise _slot_taken(mentor=mentor, learner=learner, duration_minutes=duration_minutes, now=now) from None
        raise
    if starts_at - ANSWER_MARGIN <= now and not _auto_accepts(mentor):
        raise _too_soon_to_answer(mentor)


def _too_soon_to_answer(mentor: User) -> MentoringError:
    return MentoringError(
        f"That time starts too soon for {_name(mentor)} to answer: choose one more than an hour away.",
        code="too_soon",
    )


# --------------------------------------------------------------------------- checks
def _clean_agenda(agenda: str) -> str:
    agenda = text_multi_line(agenda or "", label="What you want to work on", code="agenda_text")
    if not agenda:
        raise MentoringError("Say in a few words what you want to work on.", code="agenda_empty")
    if len(agenda) > AGENDA_MAX:
        raise MentoringError(f"Keep what you want to work on to {AGENDA_MAX} characters or fewer.", code="agenda_long")
    return agenda


def _learner_busy(*, learner: User, starts_at: datetime, ends_at: datetime, now: datetime, exclude_id=None) -> bool:
    """The learner has a booked session, or another request still waiting, at that time."""
    if learner_bookings_between(learner=learner, starts_at=starts_at, ends_at=ends_at).exists():
        return True
    waiting = SessionRequest.objects.filter(
        learner=learner,
        status=SessionRequest.Status.PENDING,
        expires_at__gt=now,
        starts_at__lt=ends_at,
        ends_at__gt=starts_at,
    )
    if exclude_id is not None:
        waiting = waiting.exclude(pk=exclude_id)
    return waiting.exists()


def _expires_at(*, starts_at: datetime, now: datetime) -> datetime:
    return min(now + timedelta(hours=settings.REQUEST_EXPIRY_HOURS), starts_at - ANSWER_MARGIN)


def _is_due(request: SessionRequest, now: datetime) -> bool:
    return request.expires_at <= now or request.starts_at - ANSWER_MARGIN <= now


def _lock_user(pk: int) -> User | None:
    return User.objects.select_for_update().filter(pk=pk).first()


def _same_request_just_sent(
    *, learner: User, mentor: User, starts_at: datetime, duration_minutes: int, agenda: str, now: datetime
) -> SessionRequest | None:
    """The request this learner sent moments ago with the very same form (sent again: a double
    click, a retry), still pending or accepted at once: the answer to the repeat."""
    return SessionRequest.objects.filter(
        learner=learner,
        mentor=mentor,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        agenda=agenda,
        status__in=[SessionRequest.Status.PENDING, SessionRequest.Status.ACCEPTED],
        created_at__gte=now - SAME_SUBMISSION_WINDOW,
    ).first()


# --------------------------------------------------------------------------- create
def request_create(
    *,
    learner: User,
    mentor_id: int,
    starts_at: datetime,
    duration_minutes: int,
    agenda: str,
    now: datetime | None = None,
) -> SessionRequest:
    """Ask a mentor for a one-to-one session in one of their free slots. The mentor is told (and the
    learner gets a receipt); a mentor who accepts automatically has accepted it when this returns.

    Refusals (``MentoringError``): not a learner, one's own profile, a mentor not open to requests,
    an empty, overlong or control-character agenda, a slot the availability does not offer (the
    engine's codes), the learner busy at that time, a request to this mentor already waiting, and
    ``slot_taken`` (:class:`SlotTaken`, with the next free slots) when someone else holds the slot."""
    now = now or timezone.now()
    if learner.role != User.Role.LEARNER:
        raise MentoringError("Only learners can request a session.", code="not_learner")
    if learner.pk == mentor_id:
        raise MentoringError("You cannot request a session with yourself.", code="own")
    agenda = _clean_agenda(agenda)
    if starts_at.tzinfo is None:
        raise MentoringError("Choose one of the free times shown.", code="not_a_slot")
    starts_at = starts_at.astimezone(UTC)
    mentor: User | None = None
    try:
        with transaction.atomic():
            # Every request for this mentor is decided one after the other: the checks below see the
            # requests and sessions committed before, so they are exact; the constraints back them.
            mentor = _lock_user(mentor_id)
            if mentor is None or mentor.role != User.Role.MENTOR or not mentor_is_listed(mentor_id=mentor.pk):
                raise MentoringError("This mentor is not taking requests right now.", code="not_accepting")
            _lock_user(learner.pk)
            same = _same_request_just_sent(
                learner=learner,
                mentor=mentor,
                starts_at=starts_at,
                duration_minutes=duration_minutes,
                agenda=agenda,
                now=now,
            )
            if same is not None:
                return same
            _expire_due(mentor=mentor, now=now)
            waiting = SessionRequest.objects.filter(
                learner=learner, mentor=mentor, status=SessionRequest.Status.PENDING
            ).first()
            if waiting is not None:
                raise MentoringError(
                    f"You already have a request waiting for {_name(mentor)}'s answer "
                    f"({_slot_text(waiting, learner)}). Withdraw it to ask for another time.",
                    code="already_pending",
                )
            slot_check(mentor=mentor, starts_at=starts_at, duration_minutes=duration_minutes, now=now)
            ends_at = starts_at + timedelta(minutes=duration_minutes)
            auto_accept = _auto_accepts(mentor)
            expires_at = _expires_at(starts_at=starts_at, now=now)
            if expires_at <= now and not auto_accept:
                raise _too_soon_to_answer(mentor)
            if _learner_busy(learner=learner, starts_at=starts_at, ends_at=ends_at, now=now):
                raise MentoringError(
                    "You already have a session or a request waiting at that time.", code="learner_busy"
                )
            request = SessionRequest.objects.create(
                mentor=mentor,
                learner=learner,
                starts_at=starts_at,
                duration_minutes=duration_minutes,
                ends_at=ends_at,
                agenda=agenda,
                expires_at=max(expires_at, now),
            )
            if auto_accept:
                _accept(request=request, mentor=mentor, learner=learner, now=now)
            else:
                _notify_sent(request=request, mentor=mentor, learner=learner)
            return request
    except IntegrityError as exc:
        text = str(exc)
        if "request_one_pending_per_pair" in text:
            raise MentoringError(
                f"You already have a request waiting for {_name(mentor or learner)}'s answer. "
                "Withdraw it to ask for another time.",
                code="already_pending",
            ) from None
        if "request_pending_no_overlap" in text or "session_mentor_no_overlap" in text:
            raise _slot_taken(mentor=mentor, learner=learner, duration_minutes=duration_minutes, now=now) from None
        raise
    except MentoringError as error:
        if error.code in ("slot_taken", "overlap") and not isinstance(error, SlotTaken) and mentor is not None:
            raise _slot_taken(mentor=mentor, learner=learner, duration_minutes=duration_minutes, now=now) from None
        raise


def _notify_sent(*, request: SessionRequest, mentor: User, learner: User) -> None:
    link = reverse("requests")
    notify(
        user=mentor,
        kind="request_received",
        text=f"{_name(learner)} asks for a 1:1 on {_slot_text(request, mentor)}: “{_excerpt(request.agenda)}” "
        f"Accept or decline by {_when(request.expires_at, mentor)}.",
        link=link,
    )
    notify(
        user=learner,
        kind="request_sent",
        text=f"Your request to {_name(mentor)} for {_slot_text(request, learner)} is sent. We let you know when "
        f"they answer; without an answer it expires {_when(request.expires_at, learner)}.",
        link=link,
    )


# --------------------------------------------------------------------------- accept
def _accept(*, request: SessionRequest, mentor: User, learner: User, now: datetime) -> SessionRequest:
    """Turn a pending request into a private session with the learner's seat. The caller holds the
    mentor's row lock and the request's, inside a transaction."""
    slot_check(
        mentor=mentor,
        starts_at=request.starts_at,
        duration_minutes=request.duration_minutes,
        now=now,
        ignore_request_id=request.pk,
    )
    if _learner_busy(
        learner=learner, starts_at=request.starts_at, ends_at=request.ends_at, now=now, exclude_id=request.pk
    ):
        raise MentoringError(
            f"{_name(learner)} has booked another session at that time meanwhile.", code="learner_busy"
        )
    title = f"1:1: {_name(mentor)} and {_name(learner)}"  # the same title reads right for both
    if len(title) > TITLE_MAX:
        title = f"{title[: TITLE_MAX - 1].rstrip()}…"
    session = session_create(
        mentor=mentor,
        title=title,
        description=request.agenda,
        starts_at=request.starts_at,
        duration_minutes=request.duration_minutes,
        capacity=1,
        private=True,
        now=now,
    )
    if not session.private or SessionRequest.objects.filter(session=session).exists():
        # session_create answered a repeat with a session published moments ago: not this one.
        raise MentoringError("That time is taken.", code="slot_taken")
    _seat_take(session=session, learner=learner, from_waitlist=False)
    request.status = SessionRequest.Status.ACCEPTED
    request.session = session
    request.responded_at = now
    request.save(update_fields=["status", "session", "responded_at"])
    link = reverse("session_detail", args=[session.pk])
    invite = Invite(session, "REQUEST")
    notify(
        user=learner,
        kind="request_accepted",
        text=f"{_name(mentor)} accepted your request: your 1:1 is on {_slot_text(request, learner)}. "
        "The calendar invite has the link to the call.",
        link=link,
        invite=invite,
    )
    notify(
        user=mentor,
        kind="request_accepted",
        text=f"You have a 1:1 with {_name(learner)} on {_slot_text(request, mentor)}: “{_excerpt(request.agenda)}”",
        link=link,
        invite=invite,
    )
    return request


def request_accept(*, request_id: int, mentor: User, now: datetime | None = None) -> SessionRequest:
    """The mentor accepts a pending request: a private one-to-one session is created with the
    learner's seat, and both get the calendar invite. Accepting an accepted request returns it.

    Refusals: a request that is not this mentor's (``NotFound``), one withdrawn, declined or expired,
    and a slot no longer free (``slot_taken``, e.g. the mentor's own new session, or a cap reached)."""
    now = now or timezone.now()
    request_get_for_mentor(request_id=request_id, user=mentor)  # NotFound for anyone else's
    try:
        with transaction.atomic():
            _lock_user(mentor.pk)
            request = SessionRequest.objects.select_for_update().select_related("learner").get(pk=request_id)
            if request.status == SessionRequest.Status.ACCEPTED:
                return request  # accepted already (a second click, another tab): the same outcome
            _refuse_answered(request)
            if _is_due(request, now):
                raise MentoringError(
                    "This request has expired: it was not answered in time. The learner can send a new one.",
                    code="expired",
                )
            _lock_user(request.learner_id)
            return _accept(request=request, mentor=mentor, learner=request.learner, now=now)
    except IntegrityError as exc:
        if "session_mentor_no_overlap" in str(exc):
            raise MentoringError("You already have a session at that time.", code="slot_taken") from None
        raise
    except MentoringError as error:
        if error.code == "overlap":
            raise MentoringError("You already have a session at that time.", code="slot_taken") from None
        raise


def _refuse_answered(request: SessionRequest) -> None:
    if request.status == SessionRequest.Status.PENDING:
        return
    said = {
        "accepted": "was accepted",
        "declined": "was declined",
        "expired": "has expired",
        "withdrawn": "was withdrawn by the learner",
    }.get(str(request.status), "was answered")
    raise MentoringError(f"This request {said}.", code="not_pending")


# --------------------------------------------------------------------------- decline, withdraw
def request_decline(*, request_id: int, mentor: User, message: str = "", now: datetime | None = None) -> SessionRequest:
    """The mentor declines a pending request, with an optional message for the learner; the slot is
    free again. Declining a declined request returns it."""
    now = now or timezone.now()
    message = text_multi_line(message or "", label="Message", code="response_text")
    if len(message) > RESPONSE_MAX:
        raise MentoringError(f"Keep the message to {RESPONSE_MAX} characters or fewer.", code="response_long")
    request_get_for_mentor(request_id=request_id, user=mentor)
    with transaction.atomic():
        _lock_user(mentor.pk)
        request = SessionRequest.objects.select_for_update().select_related("learner").get(pk=request_id)
        if request.status == SessionRequest.Status.DECLINED:
            return request
        _refuse_answered(request)
        request.status = SessionRequest.Status.DECLINED
        request.response = message
        request.responded_at = now
        request.save(update_fields=["status", "response", "responded_at"])
        learner = request.learner
        said = f" Their message: “{_excerpt(message, 200)}”" if message else ""
        notify(
            user=learner,
            kind="request_declined",
            text=f"{_name(mentor)} declined your request for {_slot_text(request, learner)}.{said} "
            "You can pick another time on their profile.",
            link=reverse("mentor_detail", args=[mentor.pk]),
        )
        notify(
            user=mentor,
            kind="request_declined",
            text=f"You declined {_name(learner)}'s request for {_slot_text(request, mentor)}. The time is free again.",
            link=reverse("requests"),
        )
    return request


def request_withdraw(*, request_id: int, learner: User, now: datetime | None = None) -> SessionRequest:
    """The learner takes back a request still waiting; the slot is free again. Withdrawing a
    withdrawn request returns it; one answered meanwhile is refused with what happened."""
    now = now or timezone.now()
    found = request_get_for_learner(request_id=request_id, user=learner)
    with transaction.atomic():
        _lock_user(found.mentor_id)
        request = SessionRequest.objects.select_for_update().select_related("mentor").get(pk=request_id)
        if request.status == SessionRequest.Status.WITHDRAWN:
            return request
        _refuse_answered(request)
        request.status = SessionRequest.Status.WITHDRAWN
        request.responded_at = now
        request.save(update_fields=["status", "responded_at"])
        mentor = request.mentor
        notify(
            user=mentor,
            kind="request_withdrawn",
            text=f"{_name(learner)} withdrew their request for {_slot_text(request, mentor)}. The time is free again.",
            link=reverse("requests"),
        )
        notify(
            user=learner,
            kind="request_withdrawn",
            text=f"You withdrew your request to {_name(mentor)} for {_slot_text(request, learner)}.",
            link=reverse("mentor_detail", args=[mentor.pk]),
        )
    return request


# --------------------------------------------------------------------------- expiry
def _expire(request: SessionRequest, now: datetime) -> None:
    request.status = SessionRequest.Status.EXPIRED
    request.responded_at = now
    request.save(update_fields=["status", "responded_at"])
    mentor, learner = request.mentor, request.learner
    notify(
        user=learner,
        kind="request_expired",
        text=f"Your request to {_name(mentor)} for {_slot_text(request, learner)} was not answered in time and "
        "expired. Pick another time on their profile.",
        link=reverse("mentor_detail", args=[mentor.pk]),
    )
    notify(
        user=mentor,
        kind="request_expired",
        text=f"{_name(learner)}'s request for {_slot_text(request, mentor)} expired without an answer.",
        link=reverse("requests"),
    )


def _due(now: datetime):
    return SessionRequest.objects.filter(status=SessionRequest.Status.PENDING).filter(
        Q(expires_at__lte=now) | Q(starts_at__lte=now + ANSWER_MARGIN)
    )


def _expire_due(*, mentor: User, now: datetime) -> int:
    """Expire this mentor's requests that are due (caller holds the mentor's row lock): a request past
    its time never holds a slot, even before the periodic job got to it."""
    expired = 0
    due = _due(now).filter(mentor=mentor).select_for_update(of=("self",)).select_related("mentor", "learner")
    for request in due:
        _expire(request, now)
        expired += 1
    return expired


def requests_expire(*, now: datetime | None = None) -> int:
    """Expire the pending requests not answered in time (``REQUEST_EXPIRY_HOURS``) or starting within
    an hour; both sides are told. Safe to run from several processes at once. Returns how many."""
    now = now or timezone.now()
    expired = 0
    for request_id in list(_due(now).order_by("expires_at", "id").values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            request = (
                _due(now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("mentor", "learner")
                .filter(pk=request_id)
                .first()
            )
            if request is None:
                continue  # answered meanwhile, or another process has it
            _expire(request, now)
            expired += 1
    return expired
