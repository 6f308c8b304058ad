"""The mentor's availability page: weekly hours, lengths, buffers, notice, caps and date overrides for
one-to-one requests, with a preview of the next free slots. Thin: forms parse, the services decide."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from portal.dates import safe_localtime, zone_or_utc
from portal.once import once

from .errors import NotFound
from .forms import AvailabilityForm, DateOverrideForm, DateOverrideRemoveForm, format_hours
from .models import DateOverride
from .selectors import availability_get, mentor_is_listed
from .services.availability import (
    availability_summary,
    availability_update,
    date_override_remove,
    date_override_set,
    slots_preview,
)
from .web import domain_errors, form_refusals

RULE_ERROR_FIELDS = {"zone": "time_zone", "invalid_lengths": "session_lengths"}
OVERRIDES_SHOWN = 60


@login_required
@once
@domain_errors
def availability_edit(request: HttpRequest) -> HttpResponse:
    if not request.user.is_mentor:
        raise NotFound("Only mentors set availability.")
    action = request.POST.get("action", "") if request.method == "POST" else ""
    availability = availability_get(mentor=request.user)
    extra_lengths = (
        availability.session_lengths if availability and isinstance(availability.session_lengths, list) else []
    )
    form = AvailabilityForm(
        initial=AvailabilityForm.initial_from(availability, time_zone=request.user.time_zone),
        extra_lengths=extra_lengths,
    )
    override_form = DateOverrideForm()

    if action == "rules":
        form = AvailabilityForm(request.POST, extra_lengths=extra_lengths)
        if form.is_valid():
            with form_refusals(form, fields=RULE_ERROR_FIELDS):
                availability_update(mentor=request.user, **form.rules())
                messages.success(request, "Your availability is saved. Learners see the new free slots now.")
                return redirect("availability_edit")
    elif action == "override_add":
        override_form = DateOverrideForm(request.POST)
        if override_form.is_valid():
            with form_refusals(override_form, fields={"invalid_date": "date"}):
                day = override_form.cleaned_data["date"]
                intervals = override_form.cleaned_data["hours"]
                date_override_set(mentor=request.user, date=day, intervals=intervals)
                what = f"your hours are {format_hours(intervals)}" if intervals else "you are off"
                messages.success(request, f"Saved: on {day:%a %-d %b %Y} {what}.")
                return redirect("availability_edit")
    elif action == "override_remove":
        remove = DateOverrideRemoveForm(request.POST)
        if remove.is_valid():
            date_override_remove(mentor=request.user, date=remove.cleaned_data["date"])
            messages.success(request, "Removed: that date has its weekday's hours again.")
        else:
            messages.error(request, "That date could not be read: nothing was removed.")
        return redirect("availability_edit")
    elif request.method == "POST":
        messages.error(request, "Nothing was changed: use one of the forms on this page.")
        return redirect("availability_edit")

    return render(request, "mentoring/availability.html", _context(request, availability, form, override_form))


def _context(request: HttpRequest, availability, form, override_form) -> dict:
    now = timezone.now()
    zone_name = availability.time_zone if availability else request.user.time_zone
    zone = zone_or_utc(zone_name)
    overrides: dict = {}
    if availability is not None:
        today = safe_localtime(now, zone).date()
        rows = DateOverride.objects.filter(availability=availability, date__gte=today).order_by("date", "start_minute")
        for row in rows[: OVERRIDES_SHOWN * 24]:
            hours = overrides.setdefault(row.date, [])
            if row.start_minute is not None and row.end_minute is not None:
                hours.append((row.start_minute, row.end_minute))
    preview = slots_preview(availability=availability, now=now) if availability else []
    return {
        "form": form,
        "override_form": override_form,
        "availability": availability,
        "summary": availability_summary(availability=availability),
        "zone_name": zone_name,
        "overrides": [
            {"date": day, "hours": format_hours(hours)} for day, hours in list(overrides.items())[:OVERRIDES_SHOWN]
        ],
        "preview": [_slot_text(slot, zone, now) for slot in preview],
        "preview_length": preview[0].duration_minutes if preview else None,
        "listed": mentor_is_listed(mentor_id=request.user.pk),
    }


def _slot_text(slot, zone, now) -> str:
    """ "Tue 5 Jan, 09:00–10:00" in the zone of the hours (the year too when it is not this year's)."""
    start, end = safe_localtime(slot.starts_at, zone), safe_localtime(slot.ends_at, zone)
    year = "" if start.year == safe_localtime(now, zone).year else f" {start.year}"
    return f"{start:%a} {start.day} {start:%b}{year}, {start:%H:%M}–{end:%H:%M}"
