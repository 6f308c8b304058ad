"""1:1 requests on the site: the slot picker on a mentor's profile, the request form, the requests page
and the mentor's answers. The work is done by :mod:`mentoring.services.requests`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from portal.accounts.models import User
from portal.dates import safe_localtime
from portal.once import once

from .errors import MentoringError
from .forms import MultiLineField
from .models import SessionRequest
from .selectors import (
    availability_get,
    mentor_get_public,
    mentor_is_listed,
    request_get_for_learner,
    request_get_for_mentor,
    request_made_for,
    requests_of,
)
from .services.availability import Slot, availability_lengths
from .services.requests import (
    AGENDA_MAX,
    RESPONSE_MAX,
    SlotTaken,
    request_accept,
    request_create,
    request_decline,
    request_slot_check,
    request_slots,
    request_withdraw,
)
from .web import domain_errors

PICKER_DAYS = 14
SIGNED_OUT_SLOTS = 12  # signed-out visitors see the first ones, each with its date, in their browser's zone
START_MAX_CHARS = 40


# --------------------------------------------------------------------------- parsing
def parse_start(raw) -> datetime | None:
    """An ISO 8601 instant from a link or a form (``2026-03-03T10:00Z``), as aware UTC; ``None`` for
    anything else (not text, too long, NUL, not a date, out of range). A naive value is UTC."""
    if not isinstance(raw, str) or not raw or len(raw) > START_MAX_CHARS or not raw.isascii():
        return None
    for text in (raw, raw.replace(" ", "+")):  # a "+" in a query string arrives as a space
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            continue
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except (OverflowError, ValueError):
            return None
    return None


def parse_length(raw) -> int | None:
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit() and len(raw) <= 3):
        return None
    return int(raw)


def start_param(instant: datetime) -> str:
    """How a slot's start travels in links: ISO 8601 in UTC, to the minute."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def request_link(mentor_id: int, slot: Slot) -> str:
    query = QueryDict(mutable=True)
    query["start"] = start_param(slot.starts_at)
    query["length"] = str(slot.duration_minutes)
    return f"{reverse('request_new', args=[mentor_id])}?{query.urlencode()}"


# --------------------------------------------------------------------------- the slot picker
@dataclass
class PickerSlot:
    starts_at: datetime
    ends_at: datetime
    link: str

    @property
    def param(self) -> str:
        return start_param(self.starts_at)


@dataclass
class PickerDay:
    day: date
    slots: list[PickerSlot] = field(default_factory=list)


@dataclass
class SlotPicker:
    """The "Book a 1:1" card of a mentor's profile."""

    lengths: list[int]
    length: int
    days: list[PickerDay]  # signed-in viewers: by day in their zone
    flat: list[PickerSlot]  # signed-out visitors: the first ones, each shown with its date
    more: bool
    can_request: bool
    auto_accept: bool = False
    login_url: str = ""


def slot_picker(request: HttpRequest, *, mentor: User, now: datetime | None = None) -> SlotPicker | None:
    """The free slots of the next two weeks in the length asked for (``?length=``, else the first
    offered), for the viewer: by day in their zone, or for signed-out visitors the first ones with
    their dates (shown in the browser's zone by ``local-times.js``). ``None``: no 1:1 requests."""
    if not mentor_is_listed(mentor_id=mentor.pk):
        return None
    availability = availability_get(mentor=mentor)
    lengths = availability_lengths(availability)
    if not lengths:
        return None
    asked = parse_length(request.GET.get("length"))
    length = asked if asked in lengths else lengths[0]
    now = now or timezone.now()
    user = request.user
    signed_in = user.is_authenticated
    asking = user if signed_in and user.is_learner else None  # their own busy times are not offered
    slots = request_slots(mentor=mentor, duration_minutes=length, now=now, days=PICKER_DAYS, learner=asking)
    picker = SlotPicker(
        lengths=lengths,
        length=length,
        days=[],
        flat=[],
        more=False,
        can_request=signed_in and user.is_learner and user.pk != mentor.pk,
        auto_accept=availability.auto_accept,
    )
    items = [PickerSlot(slot.starts_at, slot.ends_at, request_link(mentor.pk, slot)) for slot in slots]
    if not signed_in:
        picker.flat = items[:SIGNED_OUT_SLOTS]
        picker.more = len(items) > SIGNED_OUT_SLOTS
        picker.login_url = (
            f"{reverse('account_login')}?{QueryDict.fromkeys(['next'], request.get_full_path()).urlencode()}"
        )
        for item in picker.flat:
            item.link = f"{reverse('account_login')}?{QueryDict.fromkeys(['next'], item.link).urlencode()}"
        return picker
    for item in items:
        day = safe_localtime(item.starts_at, user.time_zone).date()
        if not picker.days or picker.days[-1].day != day:
            picker.days.append(PickerDay(day))
        picker.days[-1].slots.append(item)
    return picker


# --------------------------------------------------------------------------- the request form
class RequestForm(forms.Form):
    start = forms.CharField(max_length=START_MAX_CHARS, widget=forms.HiddenInput)
    length = forms.CharField(max_length=3, widget=forms.HiddenInput)
    agenda = MultiLineField(
        label="What do you want to work on?",
        max_length=AGENDA_MAX,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": AGENDA_MAX}),
        help_text="A few lines for the mentor: your goal, where you are stuck, what to look at. "
        f"Up to {AGENDA_MAX} characters.",
    )

    def clean_start(self) -> datetime:
        value = parse_start(self.cleaned_data["start"])
        if value is None:
            raise forms.ValidationError("Choose one of the free times on the mentor's profile.")
        return value

    def clean_length(self) -> int:
        value = parse_length(self.cleaned_data["length"])
        if value is None:
            raise forms.ValidationError("Choose one of the session lengths the mentor offers.")
        return value


REQUEST_ERROR_FIELDS = {"agenda_text": "agenda", "agenda_empty": "agenda", "agenda_long": "agenda"}


def _slot_from_query(request: HttpRequest) -> tuple[datetime, int]:
    start, length = parse_start(request.GET.get("start")), parse_length(request.GET.get("length"))
    if start is None or length is None:
        raise MentoringError("Choose one of the free times below to request a 1:1.", code="not_a_slot")
    return start, length


def _form_page(
    request: HttpRequest, profile, form: RequestForm, *, start, length, next_slots=(), refusal: str = ""
) -> HttpResponse:
    try:
        end = start + timedelta(minutes=length) if start and length else None
    except OverflowError:  # a start at the very end of the calendar: refused already, shown without an end
        end = None
    alternatives = [
        PickerSlot(slot.starts_at, slot.ends_at, request_link(profile.user_id, slot)) for slot in next_slots
    ]
    return render(
        request,
        "mentoring/request_form.html",
        {
            "profile": profile,
            "form": form,
            "start": start,
            "end": end,
            "length": length,
            "alternatives": alternatives,
            "refusal": refusal,
            "auto_accept": getattr(availability_get(mentor=profile.user), "auto_accept", False),
        },
    )


@login_required
@once
@domain_errors(redirect_to=lambda request, user_id: f"{reverse('mentor_detail', args=[user_id])}#book")
def request_new(request: HttpRequest, user_id: int) -> HttpResponse:
    """GET ``?start=<ISO UTC>&length=<minutes>``: the form for that slot; POST: send the request."""
    profile = mentor_get_public(user_id=user_id, user=request.user)
    if not request.user.is_learner:
        raise MentoringError("Only learners can request a 1:1 session.", code="not_learner")
    if request.method != "POST":
        start, length = _slot_from_query(request)
        if (done := request_made_for(learner=request.user, mentor=profile.user, starts_at=start)) is not None:
            # This time was asked for already (the form sent, then Back or a reload): say what became of it.
            if done.status == SessionRequest.Status.ACCEPTED and done.session_id:
                messages.info(request, "You booked this time already: here is your 1:1.")
                return redirect("session_detail", done.session_id)
            messages.info(request, "You asked for this time already: your request is waiting for the answer.")
            return redirect("requests")
        try:
            request_slot_check(learner=request.user, mentor=profile.user, starts_at=start, duration_minutes=length)
        except SlotTaken as taken:
            form = RequestForm(initial={"start": start_param(start), "length": length})
            return _form_page(
                request, profile, form, start=start, length=length, next_slots=taken.next_slots, refusal=taken.message
            )
        form = RequestForm(initial={"start": start_param(start), "length": length})
        return _form_page(request, profile, form, start=start, length=length)

    form = RequestForm(request.POST)
    start, length = parse_start(request.POST.get("start")), parse_length(request.POST.get("length"))
    if not form.is_valid():
        return _form_page(request, profile, form, start=start, length=length)
    try:
        sent = request_create(
            learner=request.user,
            mentor_id=profile.user_id,
            starts_at=form.cleaned_data["start"],
            duration_minutes=form.cleaned_data["length"],
            agenda=form.cleaned_data["agenda"],
        )
    except SlotTaken as taken:
        form.add_error(None, taken.message)
        return _form_page(request, profile, form, start=start, length=length, next_slots=taken.next_slots)
    except MentoringError as error:
        form.add_error(REQUEST_ERROR_FIELDS.get(error.code), error.message)
        return _form_page(request, profile, form, start=start, length=length)
    name = profile.user.display_name
    if sent.status == SessionRequest.Status.ACCEPTED and sent.session_id:
        messages.success(request, f"{name} accepts requests automatically: your 1:1 is booked. See you there!")
        return redirect("session_detail", sent.session_id)
    messages.success(request, f"Your request is sent. We let you know as soon as {name} answers.")
    return redirect("requests")


# --------------------------------------------------------------------------- the requests page
@login_required
def requests_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    items = requests_of(user=request.user)
    return render(request, "mentoring/requests.html", {"items": items, "is_mentor": request.user.is_mentor, "now": now})


def _confirmed(request: HttpRequest) -> bool:
    # The site's pattern (mentoring.views): confirmed by the page's dialog, or on the confirmation page.
    return request.method == "POST" and request.POST.get("confirmed") == "yes"


def _back(request: HttpRequest, *args, **kwargs) -> str:
    """The page the form was on (``next``), if it is one of ours; else the requests page."""
    back = request.POST.get("next", "") if request.method == "POST" else ""
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) and back.startswith("/")
    return back if safe else reverse("requests")


def _slot_words(item: SessionRequest) -> str:
    start = safe_localtime(item.starts_at)
    return f"{start:%a} {start.day} {start:%b %Y, %H:%M} ({start.tzname()}), {item.duration_minutes} minutes"


@login_required
@once
@domain_errors(redirect_to=_back)
def request_accept_view(request: HttpRequest, request_id: int) -> HttpResponse:
    found = request_get_for_mentor(request_id=request_id, user=request.user)
    if request.method != "POST":  # a link followed after signing in: the requests page has the button
        return redirect("requests")
    accepted = request_accept(request_id=found.pk, mentor=request.user)
    messages.success(
        request,
        f"Accepted: your 1:1 with {found.learner.display_name} is booked, and you both have the calendar invite.",
    )
    return redirect(
        _back(request) if request.POST.get("next") else reverse("session_detail", args=[accepted.session_id])
    )


@login_required
@once
@domain_errors(redirect_to=_back)
def request_decline_view(request: HttpRequest, request_id: int) -> HttpResponse:
    found = request_get_for_mentor(request_id=request_id, user=request.user)
    if found.status == SessionRequest.Status.DECLINED:
        if request.method == "POST":  # sent twice, or from another tab: the outcome stands
            messages.success(request, "Declined. The learner has been told.")
        return redirect(_back(request))
    if found.status != SessionRequest.Status.PENDING:
        messages.info(request, f"This request is {found.get_status_display().lower()} already: nothing to decline.")
        return redirect(_back(request))
    message = request.POST.get("message", "") if request.method == "POST" else ""
    if not _confirmed(request):
        return render(
            request,
            "mentoring/request_decline.html",
            {
                "item": found,
                "when": _slot_words(found),
                "message": message[:RESPONSE_MAX],
                "response_max": RESPONSE_MAX,
            },
        )
    request_decline(request_id=found.pk, mentor=request.user, message=message)
    messages.success(request, f"Declined. {found.learner.display_name} has been told, and the time is free again.")
    return redirect(_back(request))


@login_required
@once
@domain_errors(redirect_to=_back)
def request_withdraw_view(request: HttpRequest, request_id: int) -> HttpResponse:
    found = request_get_for_learner(request_id=request_id, user=request.user)
    if found.status == SessionRequest.Status.WITHDRAWN:
        if request.method == "POST":
            messages.success(request, "Your request is withdrawn.")
        return redirect(_back(request))
    if not _confirmed(request):
        return render(
            request,
            "mentoring/confirm.html",
            {
                "question": f"Withdraw your request to {found.mentor.display_name}?",
                "detail": f"{_slot_words(found)}. The time is given back to other learners.",
                "button": "Withdraw the request",
                "back": reverse("requests"),
                "action": request.path,
                "ask_reason": False,
            },
        )
    request_withdraw(request_id=found.pk, learner=request.user)
    messages.success(request, f"Your request to {found.mentor.display_name} is withdrawn.")
    return redirect(_back(request))
