"""Rescheduling a one-to-one session: the page to propose a new time (the mentor's free slots of the
session's length, in the viewer's zone, by day) and the answers to a proposal (accept, decline,
withdraw). The rules live in :mod:`mentoring.services.reschedule`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.dates import safe_localtime
from portal.once import once
from portal.validators import validate_multi_line

from .errors import MentoringError, NotFound
from .models import Booking, RescheduleProposal, Session
from .selectors import (
    reschedule_get_for_participant,
    reschedule_pending_for,
    session_get_for_participant,
)
from .services.availability import slots_free
from .services.reschedule import (
    MESSAGE_MAX,
    PENDING_MESSAGE,
    reschedule_accept,
    reschedule_check,
    reschedule_decline,
    reschedule_propose,
    reschedule_withdraw,
    when_for,
)
from .web import domain_errors, form_refusals

# How far ahead the page lists free times (the mentor's "how far ahead" may be shorter).
SLOT_DAYS = 28
# The latest year a submitted time may name: anything later is not a slot, and is refused before
# any arithmetic on it can overflow.
LATEST_YEAR = 9000
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})", re.ASCII)


class RescheduleForm(forms.Form):
    starts_at = forms.CharField(
        max_length=64, error_messages={"required": "Choose one of the free times listed."}, label="New time"
    )
    message = forms.CharField(
        required=False,
        max_length=MESSAGE_MAX,
        validators=[validate_multi_line],
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MESSAGE_MAX}),
        label="Message",
        help_text="Why the new time, or anything the other side should know.",
    )

    def clean_starts_at(self) -> datetime:
        raw = self.cleaned_data["starts_at"].strip()
        try:
            if not ISO_INSTANT.fullmatch(raw):  # fromisoformat alone lets odd characters through
                raise ValueError(raw)
            value = datetime.fromisoformat(raw)
            if timezone.is_naive(value) or not 2000 <= value.year <= LATEST_YEAR:
                raise ValueError(raw)
            return value.astimezone(UTC)
        except (ValueError, OverflowError):
            raise ValidationError("Choose one of the free times listed.", code="bad_time") from None


# The form field a service refusal belongs to (others show above the form).
RESCHEDULE_ERROR_FIELDS = {
    "bad_time": "starts_at",
    "same_time": "starts_at",
    "too_soon": "starts_at",
    "too_far": "starts_at",
    "outside_hours": "starts_at",
    "slot_taken": "starts_at",
    "cap_reached": "starts_at",
    "overlap": "starts_at",
    "message_text": "message",
}


@dataclass
class SlotDay:
    day: date
    label: str  # "Tuesday 9 December", with the year when it is not this year's
    slots: list = field(default_factory=list)  # aware UTC starts

    @property
    def isos(self) -> list[str]:
        return [start.isoformat() for start in self.slots]


def _slot_days(*, session: Session, viewer: User, learner: User, now: datetime) -> list[SlotDay]:
    """The mentor's free starts for a session of this length, grouped by day in the viewer's zone.
    The current time is left out, and so, for the learner, are times their other sessions take."""
    slots = slots_free(
        mentor=session.mentor,
        duration_minutes=session.duration_minutes,
        now=now,
        days=SLOT_DAYS,
        ignore_session_id=session.pk,
        any_length=True,
    )
    busy: list[tuple[datetime, datetime]] = []
    if viewer.pk == learner.pk:
        busy = list(
            Booking.objects.filter(
                learner=learner,
                status=Booking.Status.ACTIVE,
                session__status=Session.Status.SCHEDULED,
                session__ends_at__gt=now,
                session__starts_at__lt=now + timedelta(days=SLOT_DAYS + 1),
            )
            .exclude(session=session)
            .values_list("session__starts_at", "session__ends_at")
        )
    days: dict[date, SlotDay] = {}
    this_year = safe_localtime(now, viewer.time_zone).year
    length = timedelta(minutes=session.duration_minutes)
    for slot in slots:
        start = slot.starts_at
        if start == session.starts_at or any(b_start < start + length and b_end > start for b_start, b_end in busy):
            continue
        local_day = safe_localtime(start, viewer.time_zone).date()
        if local_day not in days:
            label = f"{local_day:%A} {local_day.day} {local_day:%B}"
            days[local_day] = SlotDay(
                day=local_day, label=label if local_day.year == this_year else f"{label} {local_day.year}"
            )
        days[local_day].slots.append(start)
    return list(days.values())


@login_required
@once
@domain_errors(redirect_to="session_detail")
def reschedule_new(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_participant(session_id=session_id, user=request.user)
    now = timezone.now()
    learner = reschedule_check(session=session, user=request.user, now=now)
    if reschedule_pending_for(session=session, user=request.user, now=now):
        raise MentoringError(PENDING_MESSAGE, code="pending")
    other = learner if session.mentor_id == request.user.pk else session.mentor
    form = RescheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with form_refusals(form, fields=RESCHEDULE_ERROR_FIELDS):
            proposal = reschedule_propose(
                session_id=session.pk,
                user=request.user,
                starts_at=form.cleaned_data["starts_at"],
                message=form.cleaned_data["message"],
                now=now,
            )
            messages.success(
                request,
                f"You proposed {when_for(proposal.starts_at, request.user)}. We will tell you when "
                f"{other.display_name} answers; until then the session keeps its time.",
            )
            return redirect("session_detail", session.pk)
    chosen = form.cleaned_data.get("starts_at") if form.is_bound and hasattr(form, "cleaned_data") else None
    return render(
        request,
        "mentoring/reschedule_form.html",
        {
            "session": session,
            "other": other,
            "form": form,
            "days": _slot_days(session=session, viewer=request.user, learner=learner, now=now),
            "chosen": chosen.isoformat() if isinstance(chosen, datetime) else "",
            "slot_days": SLOT_DAYS,
        },
    )


def _proposal_page(request: HttpRequest, proposal_id: int) -> str:
    """Where an answer's refusal is shown: the session's page (the dashboard if it is gone meanwhile)."""
    try:
        proposal = reschedule_get_for_participant(proposal_id=proposal_id, user=request.user)
    except NotFound:
        return reverse("dashboard")
    return reverse("session_detail", args=[proposal.session_id])


def _answer(request: HttpRequest, proposal_id: int) -> RescheduleProposal | None:
    """The proposal for an answer sent by POST; ``None`` for any other method (a link followed after
    signing in again: the session's page has the buttons). Outsiders get 404 either way."""
    proposal = reschedule_get_for_participant(proposal_id=proposal_id, user=request.user)
    return proposal if request.method == "POST" else None


@login_required
@once
@domain_errors(redirect_to=_proposal_page)
def reschedule_accept_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = _answer(request, proposal_id)
    if proposal is None:
        return redirect(_proposal_page(request, proposal_id))
    proposal = reschedule_accept(proposal_id=proposal.pk, user=request.user)
    messages.success(
        request,
        f"Done: the session now starts {when_for(proposal.starts_at, request.user)}. "
        "You both have the updated calendar invite.",
    )
    return redirect("session_detail", proposal.session_id)


@login_required
@once
@domain_errors(redirect_to=_proposal_page)
def reschedule_decline_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = _answer(request, proposal_id)
    if proposal is None:
        return redirect(_proposal_page(request, proposal_id))
    reschedule_decline(proposal_id=proposal.pk, user=request.user, message=request.POST.get("message", ""))
    messages.success(request, "You declined the new time. The session keeps its time.")
    return redirect("session_detail", proposal.session_id)


@login_required
@once
@domain_errors(redirect_to=_proposal_page)
def reschedule_withdraw_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = _answer(request, proposal_id)
    if proposal is None:
        return redirect(_proposal_page(request, proposal_id))
    reschedule_withdraw(proposal_id=proposal.pk, user=request.user)
    messages.success(request, "You withdrew your proposed time. The session keeps its time.")
    return redirect("session_detail", proposal.session_id)


def reschedule_context(*, session: Session, user: User, is_mentor: bool, booking, now: datetime) -> dict:
    """What the session page shows about rescheduling: the pending proposal (to answer, or to
    withdraw for its proposer) and whether "Propose a new time" is offered."""
    if not (is_mentor or booking) or session.capacity != 1:
        return {"reschedule": None, "may_reschedule": False}
    pending = reschedule_pending_for(session=session, user=user, now=now)
    may = (
        pending is None
        and session.status == Session.Status.SCHEDULED
        and session.starts_at > now
        and session.booked_count >= 1
    )
    return {"reschedule": pending, "may_reschedule": may}
