"""Moderation: what staff do about a report and about people (warn, suspend, deactivate, hide their
feedback), and what an account that ends takes with it. Each step is kept as a ``ModerationAction``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import SUSPENSION_REASON_MAX, User
from portal.validators import squash_to_one_line

from ..models import (
    Booking,
    Feedback,
    ModerationAction,
    Notification,
    Report,
    RescheduleProposal,
    Session,
    SessionRequest,
    WaitlistEntry,
)
from . import MentoringError, NotFound
from .bookings import booking_cancel, waitlist_leave
from .notifications import notifications_mark_read, notify
from .requests import request_decline, request_withdraw
from .reschedule import reschedule_decline, reschedule_withdraw
from .sessions import _local as local_words
from .sessions import session_cancel
from .text import text_multi_line

logger = logging.getLogger(__name__)

SUSPENSION_DAYS_MAX = 3650  # ten years; longer is a deactivation
RESOLUTION_NOTE_MAX = 1000
GONE_REASON = "The mentor is no longer available on PeerLearn."
GONE_MESSAGE = "This mentor is no longer available on PeerLearn."

DECISIONS = {
    "resolve": "Resolve only",
    "hide_feedback": "Hide the reported person's feedback on the session",
    "warn": "Warn the reported person",
    "suspend": "Suspend the reported person",
    "deactivate": "Deactivate the reported person's account",
}


# --------------------------------------------------------------------------- an account that ends
@dataclass
class Withdrawn:
    """What :func:`user_activity_withdraw` undid, for the staff member's message and the audit trail."""

    bookings: int = 0
    promoted: int = 0
    waitlist: int = 0
    sessions: int = 0
    learners_told: int = 0
    requests: int = 0
    proposals: int = 0

    def __str__(self) -> str:
        parts = [
            (self.bookings, "booking", "cancelled"),
            (self.waitlist, "waitlist place", "given up"),
            (self.sessions, "session", "cancelled"),
            (self.requests, "1:1 request", "closed"),
            (self.proposals, "proposed new time", "closed"),
        ]
        said = [f"{count} {noun}{'' if count == 1 else 's'} {verb}" for count, noun, verb in parts if count]
        if self.promoted:
            said.append(f"{self.promoted} waiting learner{'' if self.promoted == 1 else 's'} got the seat")
        if self.learners_told:
            said.append(f"{self.learners_told} booked learner{'' if self.learners_told == 1 else 's'} told")
        return "; ".join(said) or "nothing booked or offered"


def _attempt(what: str, work) -> bool:
    # One item that cannot be undone (it started meanwhile, someone answered first) must not stop the
    # others: it is logged, and left as it is.
    try:
        work()
    except (MentoringError, NotFound) as error:
        logger.info("moderation: could not %s: %s", what, getattr(error, "message", error))
        return False
    return True


def user_activity_withdraw(*, user_id: int, actor: User, now: datetime | None = None) -> Withdrawn:
    """What a deactivated (or deleted) account leaves behind, undone through the services its owner
    or staff would use, so that everyone else hears of it as usual: its future bookings are cancelled
    (the first waiting learner gets each seat), its waitlist places given up, its future sessions as a
    mentor cancelled (their learners told), its pending 1:1 requests and proposed new times withdrawn
    or declined. Sessions already started are left as they are. Bookings and sessions are cancelled
    by staff member ``actor`` (never a late cancellation, worded as the staff's)."""
    now = now or timezone.now()
    person = User.objects.filter(pk=user_id).first()
    if person is None:
        raise NotFound("No such person.")
    # The services check that whoever acts holds an active account; here they act for the person
    # whose account just ended (staff cancel their sessions, in their own name).
    person.is_active = True
    done = Withdrawn()
    with transaction.atomic():
        proposals = (
            RescheduleProposal.objects.filter(status=RescheduleProposal.Status.PENDING)
            .filter(
                Q(proposed_by=person)
                | Q(session__mentor=person)
                | Q(session__bookings__learner=person, session__bookings__status=Booking.Status.ACTIVE)
            )
            .distinct()
            .order_by("pk")
        )
        for proposal in proposals:
            if proposal.proposed_by_id == person.pk:
                closed = _attempt(
                    "withdraw a proposal",
                    lambda p=proposal: reschedule_withdraw(proposal_id=p.pk, user=person, now=now),
                )
            else:
                closed = _attempt(
                    "decline a proposal",
                    lambda p=proposal: reschedule_decline(proposal_id=p.pk, user=person, message="", now=now),
                )
            done.proposals += closed
        pending = SessionRequest.objects.filter(status=SessionRequest.Status.PENDING).order_by("pk")
        for request in pending.filter(learner=person):
            done.requests += _attempt(
                "withdraw a request", lambda r=request: request_withdraw(request_id=r.pk, learner=person, now=now)
            )
        for request in pending.filter(mentor=person):
            done.requests += _attempt(
                "decline a request",
                lambda r=request: request_decline(request_id=r.pk, mentor=person, message=GONE_MESSAGE, now=now),
            )
        bookings = Booking.objects.filter(
            learner=person,
            status=Booking.Status.ACTIVE,
            session__status=Session.Status.SCHEDULED,
            session__starts_at__gt=now,
        ).order_by("session__starts_at", "pk")
        for booking in bookings:
            promoted_before = _promoted_count(booking.session_id)
            if _attempt(
                "cancel a booking",
                lambda b=booking: booking_cancel(booking_id=b.pk, learner=person, now=now, by_staff=True),
            ):
                done.bookings += 1
                done.promoted += _promoted_count(booking.session_id) - promoted_before
        for entry in WaitlistEntry.objects.filter(learner=person, status=WaitlistEntry.Status.WAITING).order_by("pk"):
            done.waitlist += _attempt("leave a waitlist", lambda e=entry: waitlist_leave(entry_id=e.pk, learner=person))
        sessions = Session.objects.filter(mentor=person, status=Session.Status.SCHEDULED, starts_at__gt=now)
        for session in sessions.order_by("starts_at", "pk"):
            booked = session.bookings.filter(status=Booking.Status.ACTIVE).count()
            if _attempt(
                "cancel a session",
                lambda s=session: session_cancel(session_id=s.pk, actor=actor, reason=GONE_REASON, now=now),
            ):
                done.sessions += 1
                done.learners_told += booked
    return done


def _promoted_count(session_id: int) -> int:
    return WaitlistEntry.objects.filter(session_id=session_id, status=WaitlistEntry.Status.PROMOTED).count()


# --------------------------------------------------------------------------- staff's actions
REPORT_PERMISSION = "mentoring.change_report"
USER_PERMISSION = "accounts.change_user"


def _require_staff(staff: User, permission: str = REPORT_PERMISSION) -> None:
    # Staff who may only view reports (or users) look; they do not act.
    if not (staff.is_active and staff.is_staff and staff.has_perm(permission)):
        raise MentoringError("Only staff allowed to change these moderate.", code="not_staff")


def _reason(reason: str, *, required: bool, label: str = "Reason", limit: int = SUSPENSION_REASON_MAX) -> str:
    reason = text_multi_line(reason or "", label=label, code="reason_text").strip()
    if required and not reason:
        raise MentoringError(f"{label} is required: the person is shown it.", code="reason_required")
    if len(reason) > limit:
        raise MentoringError(f"Keep the {label.lower()} to {limit} characters or fewer.", code="reason_long")
    return reason


def suspension_days_check(days: object) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= SUSPENSION_DAYS_MAX:
        raise MentoringError(
            f"A suspension lasts from 1 to {SUSPENSION_DAYS_MAX} days; deactivate the account for longer.",
            code="days",
        )
    return days


def _target(user_id: int | None, staff: User) -> User:
    person = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if person is None:
        raise MentoringError("This report names no person to act on.", code="no_person")
    if person.pk == staff.pk:
        raise MentoringError("You cannot moderate your own account.", code="self")
    if (person.is_staff or person.is_superuser) and not staff.is_superuser:
        raise MentoringError("Only a superuser moderates a staff account.", code="staff_target")
    return person


def deactivation_check(*, user_id: int, staff: User) -> None:
    """Whether ``staff`` may deactivate the person (the user admin's form asks before it saves)."""
    _require_staff(staff, USER_PERMISSION)
    _target(user_id, staff)


def _record(*, kind: str, actor: User, target: User | None, report: Report | None, **fields) -> ModerationAction:
    return ModerationAction.objects.create(kind=kind, actor=actor, target=target, report=report, **fields)


@transaction.atomic
def user_warn(*, user_id: int, staff: User, reason: str, report: Report | None = None) -> ModerationAction:
    """Tell a person (notification and email) what they must not do again."""
    _require_staff(staff)
    reason = _reason(reason, required=True)
    person = _target(user_id, staff)
    notify(
        user=person,
        kind="moderation",
        text=f"A warning from the PeerLearn moderators: {squash_to_one_line(reason)}",
    )
    return _record(kind=ModerationAction.Kind.WARN, actor=staff, target=person, report=report, reason=reason)


@transaction.atomic
def user_suspend(
    *, user_id: int, staff: User, days: int, reason: str, report: Report | None = None, now: datetime | None = None
) -> ModerationAction:
    """Suspend a person for ``days``: they cannot log in until then and are shown ``reason`` and the
    end when they try; their open logins and sockets end now. It lifts itself when the time has passed."""
    from portal.accounts.services import user_suspension_set

    _require_staff(staff)
    days = suspension_days_check(days)
    reason = _reason(reason, required=True)
    person = _target(user_id, staff)
    # A second suspension never shortens the first: the later end stays (with its reason).
    person = user_suspension_set(user=person, until=(now or timezone.now()) + timedelta(days=days), reason=reason)
    until, reason = person.suspended_until, person.suspension_reason
    notify(
        user=person,
        kind="moderation",
        text=f"Your PeerLearn account is suspended until {local_words(until, person)}. "
        f"Reason: {squash_to_one_line(reason)}",
    )
    return _record(
        kind=ModerationAction.Kind.SUSPEND, actor=staff, target=person, report=report, reason=reason, until=until
    )


@transaction.atomic
def user_suspension_lift(*, user_id: int, staff: User, now: datetime | None = None) -> ModerationAction | None:
    """End a running suspension now (staff changed their mind, or it was a mistake): the person may
    log in again and is told. ``None`` when the person is not suspended (nothing to lift)."""
    from portal.accounts.services import user_suspension_end

    _require_staff(staff, USER_PERMISSION)
    person = _target(user_id, staff)
    if not user_suspension_end(user=person, now=now or timezone.now()):
        return None
    notify(
        user=person,
        kind="moderation",
        text="The PeerLearn moderators lifted your suspension: you can sign in again.",
    )
    return _record(kind=ModerationAction.Kind.LIFT, actor=staff, target=person, report=None)


@transaction.atomic
def user_deactivate(
    *, user_id: int, staff: User, reason: str = "", report: Report | None = None
) -> tuple[bool, Withdrawn]:
    """End a person's account (the admin's deactivation, from a report, from the user admin or from
    Wagtail's) and record it with ``reason``: what they held is withdrawn (:func:`user_activity_withdraw`),
    their sockets close, and they are told by email (with the reason, if given). Also for an account
    already inactive, which may still hold bookings; then, with nothing left to withdraw, nothing is
    recorded again. Returns whether it was active, and what was withdrawn."""
    from portal.accounts.services import user_deactivate as account_deactivate

    _require_staff(staff, USER_PERMISSION)
    reason = _reason(reason, required=False)
    person = _target(user_id, staff)
    was_active, withdrawn = account_deactivate(user_id=person.pk, actor=staff)
    if not was_active and withdrawn == Withdrawn():
        return was_active, withdrawn
    _record(
        kind=ModerationAction.Kind.DEACTIVATE,
        actor=staff,
        target=person,
        report=report,
        reason=reason,
        detail=str(withdrawn)[:300],
    )
    if was_active:
        said = f" Reason: {squash_to_one_line(reason)}" if reason else ""
        notify(user=person, kind="moderation", text=f"Your PeerLearn account was closed by the moderators.{said}")
    return was_active, withdrawn


def _hide_reported_feedback(*, report: Report, staff: User, reason: str) -> ModerationAction:
    from .feedback import feedback_set_hidden

    feedback = Feedback.objects.filter(session_id=report.session_id, learner_id=report.reported_user_id)
    if report.session_id is None or report.reported_user_id is None or not feedback.exists():
        raise MentoringError("The reported person gave no feedback on this report's session.", code="no_feedback")
    reason = _reason(reason, required=False)
    count = feedback_set_hidden(
        feedback_ids=list(feedback.filter(hidden=False).values_list("pk", flat=True)), hidden=True
    )
    if reason and count:
        notify(
            user=report.reported_user,
            kind="moderation",
            text=f"The moderators hid your feedback on “{squash_to_one_line(report.session.title)}”. "
            f"Reason: {squash_to_one_line(reason)}",
        )
    return _record(
        kind=ModerationAction.Kind.HIDE_FEEDBACK,
        actor=staff,
        target=report.reported_user,
        report=report,
        reason=reason,
        detail=f"{count} feedback item{'' if count == 1 else 's'} hidden",
    )


def report_act(
    *,
    report_id: int,
    staff: User,
    decision: str,
    reason: str = "",
    days: int | None = None,
    note: str = "",
    now: datetime | None = None,
    person_done: bool = False,
) -> Report | None:
    """Staff's answer to a report: ``decision`` (one of ``DECISIONS``) on the reported person, then the
    report is resolved and the reporter told, with ``note`` if given. All of it, or nothing: a refusal
    changes nothing. The same answer from the same staff member again within ``REPEAT_WINDOW`` does
    nothing more and returns the report with ``repeated`` set. ``person_done``: the decision was carried out on this person already (another
    report in the same batch), so only the report is resolved. A report resolved already is left as it
    is (returns None for a second resolve, refuses another decision)."""
    now = now or timezone.now()
    _require_staff(staff)
    if decision not in DECISIONS:
        raise MentoringError("Choose what to do from the list.", code="decision")
    note = _reason(note, required=False, label="Note to the reporter", limit=RESOLUTION_NOTE_MAX)
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).select_related("reporter").first()
        if report is None:
            raise NotFound("No such report.")
        if report.reported_user_id is not None and report.reported_user_id == staff.pk:
            raise MentoringError("This report is about you: another staff member handles it.", code="self")
        if report.status == Report.Status.RESOLVED:
            if _repeated(report=report, staff=staff, decision=decision, now=now):
                report.repeated = True  # the same answer sent again (a double click): done already, once
                return report
            if decision == "resolve":
                return None
            raise MentoringError("This report was resolved already.", code="resolved")
        if person_done:
            pass
        elif decision == "warn":
            user_warn(user_id=report.reported_user_id, staff=staff, reason=reason, report=report)
        elif decision == "suspend":
            user_suspend(user_id=report.reported_user_id, staff=staff, days=days, reason=reason, report=report, now=now)
        elif decision == "deactivate":
            user_deactivate(user_id=report.reported_user_id, staff=staff, reason=reason, report=report)
        elif decision == "hide_feedback":
            _hide_reported_feedback(report=report, staff=staff, reason=reason)
        report.status = Report.Status.RESOLVED
        report.resolved_by = staff
        report.resolved_at = now
        report.resolution_note = note
        report.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note"])
        _record(
            kind=ModerationAction.Kind.RESOLVE, actor=staff, target=report.reported_user, report=report, reason=note
        )
        _staff_alerts_handled(report=report)
        said = f" They wrote: “{squash_to_one_line(note)}”" if note else ""
        notify(
            user=report.reporter,
            kind="report_resolved",
            text=f"Our moderators handled your report ({report.get_reason_display().lower()}, "
            f"sent {local_words(report.created_at, report.reporter)}). Thank you for telling us.{said}",
        )
    return report


# A staff member's own answer to a report, sent again within this long, is the same answer (a double
# click, a resend after a slow page): answered as done, done once.
REPEAT_WINDOW = timedelta(minutes=10)


def _repeated(*, report: Report, staff: User, decision: str, now: datetime) -> bool:
    """``report`` was resolved by ``staff`` moments ago with ``decision`` (for a decision about the
    person: ``staff`` took it on them then, from this report or another in the same batch)."""
    if report.resolved_by_id != staff.pk or report.resolved_at is None or now - report.resolved_at > REPEAT_WINDOW:
        return False
    if decision in ("resolve", "hide_feedback"):
        return decision == "resolve" or report.actions.filter(actor=staff, kind=decision).exists()
    return ModerationAction.objects.filter(
        actor=staff,
        kind=decision,
        target_id=report.reported_user_id,
        created_at__gte=report.resolved_at - REPEAT_WINDOW,
    ).exists()


# Decisions about the person (not the report's session): several reports about one person in one
# batch act on them once.
_PERSON_DECISIONS = ("warn", "suspend", "deactivate")


def reports_act(*, report_ids: list[int], staff: User, decision: str, **fields) -> tuple[list[Report], list[str]]:
    """:func:`report_act` for several reports, oldest first, each on its own (one refused does not stop
    the others). A person named by several of them is warned, suspended or deactivated once. Returns
    the reports now resolved, and the refusals (``"Report <id>: <why>"``)."""
    done, refused, acted_on = [], [], set()
    reports = (
        Report.objects.filter(pk__in=report_ids).order_by("created_at", "pk").values_list("pk", "reported_user_id")
    )
    for report_id, person_id in reports:
        person_done = decision in _PERSON_DECISIONS and person_id is not None and person_id in acted_on
        try:
            report = report_act(report_id=report_id, staff=staff, decision=decision, person_done=person_done, **fields)
        except (MentoringError, NotFound) as error:
            refused.append(f"Report {report_id}: {error.message}")
            continue
        if report is not None:
            done.append(report)
            acted_on.add(person_id)
    return done, refused


def _staff_alerts_handled(*, report: Report) -> int:
    """Once ``report`` is resolved, the "new report" alerts staff got about it are read: no bell keeps
    asking anyone to review what is done (their open tabs get the new count). Returns how many."""
    link = reverse("admin:mentoring_report_change", args=[report.pk])
    readers = ModelBackend().with_perm("mentoring.view_report").filter(is_staff=True).values("pk")
    alerts = Notification.objects.filter(  # by person first: the (user, is_read) index, not the whole table
        user_id__in=readers, is_read=False, kind=Notification.Kind.REPORT_FILED, link=link
    )
    by_person: dict[User, list[int]] = {}
    for alert in alerts.select_related("user").order_by("pk"):
        by_person.setdefault(alert.user, []).append(alert.pk)
    return sum(notifications_mark_read(user=person, notification_ids=ids) for person, ids in by_person.items())


def report_staff_notify(*, report: Report) -> int:
    """A new report: every active staff member who may view reports is told (notification and email) and can open it."""
    about = []
    if report.reported_user_id:
        about.append(squash_to_one_line(report.reported_user.display_name))
    if report.session_id:
        about.append(f"“{squash_to_one_line(report.session.title)}”")
    text = (
        f"New report ({report.get_reason_display().lower()}) about {' in '.join(about)} "
        f"from {squash_to_one_line(report.reporter.display_name)}: review it."
    )
    link = reverse("admin:mentoring_report_change", args=[report.pk])
    told = 0
    # Only staff who can open the report (superusers included) are told.
    readers = ModelBackend().with_perm("mentoring.view_report").filter(is_staff=True)
    for staff in readers.exclude(pk=report.reporter_id).order_by("pk"):
        notify(user=staff, kind="report_filed", text=text, link=link)
        told += 1
    return told
