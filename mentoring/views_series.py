"""Recurring group sessions on the web: publishing a series (from the session form), booking all its
upcoming dates, and changing or cancelling "this and all future" dates. The work is in
``mentoring.services.series``; these parse, call and tell the person what happened."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from portal.dates import safe_localtime
from portal.once import once

from .errors import NotFound
from .models import Session, SessionSeries
from .selectors import (
    series_future_occurrences,
    series_get_public,
    series_upcoming_occurrences,
    session_get_for_mentor,
    session_of_listed_mentor,
)
from .services.series import SeriesBooking, series_book, series_cancel_future, series_update_future
from .web import domain_errors

FREQUENCY_WORDS = {SessionSeries.Frequency.WEEKLY: "weekly", SessionSeries.Frequency.FORTNIGHTLY: "fortnightly"}


def _day(session: Session) -> str:
    """A date for a message, in the viewer's zone: "Tue 3 Mar 2026, 18:00"."""
    return f"{safe_localtime(session.starts_at):%a %-d %b %Y, %H:%M}"


def _days(sessions: list[Session]) -> str:
    return "; ".join(_day(session) for session in sessions)


def _dates(count: int) -> str:
    return f"{count} date{'' if count == 1 else 's'}"


# --------------------------------------------------------------------------- publish (from session_new)
def series_published(request: HttpRequest, series: SessionSeries) -> HttpResponse:
    """The answer to a published series: the first date's page, and what was created."""
    dates = list(series.occurrences.select_related("mentor__mentor_profile").order_by("starts_at", "id"))
    first, last = dates[0], dates[-1]
    words = FREQUENCY_WORDS.get(series.frequency, "repeating")
    listed = session_of_listed_mentor(first)
    messages.success(
        request,
        f"Your {words} series is {'published' if listed else 'saved'}: {len(dates)} sessions, "
        f"from {_day(first)} to {_day(last)}. "
        + ("Learners can book one date or all of them." if listed else "It is listed once staff approve your profile."),
    )
    return redirect("session_detail", first.pk)


# --------------------------------------------------------------------------- change (from session_edit)
def series_future_count(session: Session) -> int:
    """How many dates "this and all future ones" covers for ``session`` (0 outside a series)."""
    return series_future_occurrences(session=session).count() if session.series_id else 0


def series_future_saved(request: HttpRequest, session: Session, data: dict) -> HttpResponse:
    """Apply the edit form to this date and every later one of its series."""
    updated = series_update_future(session_id=session.pk, mentor=request.user, **data)
    messages.success(
        request,
        f"{_dates(len(updated)).capitalize()} of the series updated, from {_day(updated[0])} on. "
        "Booked learners were told about any change of time.",
    )
    return redirect("session_detail", session.pk)


# --------------------------------------------------------------------------- book all
def _series_page(request: HttpRequest, series_id: int) -> str:
    """Where the series' booking answers: the date the learner was on, else its next date, else the list."""
    raw = request.POST.get("session", "")
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        if Session.objects.filter(pk=int(raw), series_id=series_id).exists():
            return reverse("session_detail", args=[int(raw)])
    upcoming = series_upcoming_occurrences(series_id=series_id).values_list("pk", flat=True).first()
    return reverse("session_detail", args=[upcoming]) if upcoming else reverse("sessions")


@login_required
@once
@domain_errors(redirect_to=_series_page)
def series_book_view(request: HttpRequest, series_id: int) -> HttpResponse:
    series = series_get_public(series_id=series_id)
    if request.method != "POST":  # a link followed after signing in: the session's page has the button
        return redirect(_series_page(request, series.pk))
    outcome = series_book(series_id=series.pk, learner=request.user)
    _tell_booked(request, outcome)
    return redirect(_series_page(request, series.pk))


def _tell_booked(request: HttpRequest, outcome: SeriesBooking) -> None:
    skipped = []
    if outcome.full:
        skipped.append(f"full: {_days(outcome.full)} (you can join a date's waitlist on its page)")
    if outcome.clashed:
        skipped.append(f"at the time of another booking of yours: {_days(outcome.clashed)}")
    had = f" You already had a seat on {_dates(len(outcome.already))}." if outcome.already else ""
    if outcome.booked:
        count = len(outcome.booked)
        total = count + len(outcome.skipped)
        booked = f"{count} of {total} dates" if outcome.skipped else _dates(count)
        messages.success(
            request,
            f"You are booked on {booked} of “{outcome.booked[0].title}”. A confirmation for each is on its way.{had}",
        )
    elif not outcome.skipped:
        messages.success(request, "You already have a seat on every upcoming date of this series.")
    if skipped:
        level = messages.warning if outcome.booked or outcome.already else messages.error
        lead = "Skipped" if outcome.booked else "No date could be booked"
        level(request, f"{lead}: {'; and '.join(skipped)}.")


# --------------------------------------------------------------------------- cancel this and all future
@login_required
@once
@domain_errors(redirect_to="session_detail")
def series_cancel_future_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_mentor(session_id=session_id, user=request.user)
    if not session.series_id:
        raise NotFound("This session is not part of a series.")
    dates = list(series_future_occurrences(session=session))
    if not dates:
        if request.method == "POST":  # sent twice, or from another tab: the outcome stands
            messages.success(request, "These sessions are cancelled already.")
        return redirect("session_detail", session.pk)
    if not (request.method == "POST" and request.POST.get("confirmed") == "yes"):
        # Asked first, as for one session: by the page's dialog, or on this page without scripts.
        booked = sum(d.booked_count for d in dates)
        return render(
            request,
            "mentoring/confirm.html",
            {
                "question": f"Cancel “{session.title}” on {_dates(len(dates))}, from {_day(dates[0])} on?",
                "detail": f"This date and every later one of the series. {booked} seat{'' if booked == 1 else 's'} "
                "booked on them; everyone who booked them is told at once.",
                "button": f"Cancel {_dates(len(dates))}",
                "back": reverse("session_detail", args=[session.pk]),
                "action": request.path,
                "ask_reason": True,
            },
        )
    cancelled = series_cancel_future(session_id=session.pk, actor=request.user, reason=request.POST.get("reason", ""))
    if cancelled:
        messages.success(
            request,
            f"{_dates(len(cancelled)).capitalize()} cancelled, from {_day(cancelled[0])} on. "
            + (
                "Everyone who booked them has been told."
                if any(session.booked_count for session in cancelled)
                else "Nobody had booked them."
            ),
        )
    else:
        messages.success(request, "These sessions are cancelled already.")
    return redirect("session_detail", session.pk)
