from __future__ import annotations

from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.dates import safe_localtime
from portal.once import once
from portal.sites import absolute_url

from .analytics import LATE_CANCEL_DAYS, mentor_late_cancellations
from .errors import MentoringError, NotFound
from .forms import (
    DirectoryFilterForm,
    FeedbackForm,
    ReportForm,
    SeriesOccurrenceForm,
    SessionCreateForm,
    SessionFilterForm,
    SessionForm,
)
from .models import Booking, Session, WaitlistEntry
from .selectors import (
    booking_get_for_learner,
    calendar_feed_get_by_token,
    feedback_get_own,
    join_window,
    learner_dashboard,
    mentor_dashboard,
    mentor_feedback_public,
    mentor_get_public,
    mentor_get_reportable,
    mentor_sessions_open,
    mentors_directory,
    notifications_for,
    requests_for_dashboard,
    reschedules_awaiting_answer,
    series_overview,
    session_display_status,
    session_get_for_learner,
    session_get_for_mentor,
    session_get_for_participant,
    session_get_public,
    session_is_live,
    session_of_listed_mentor,
    session_participants,
    session_viewer,
    sessions_in_calendar_of,
    sessions_upcoming,
    waitlist_entry_get_for_learner,
)
from .services.availability import availability_get, availability_summary
from .services.bookings import (
    booking_cancel,
    booking_create,
    cancellation_is_late,
    late_cancellation_words,
    waitlist_join,
    waitlist_leave,
)
from .services.calendar import session_ics, sessions_feed_ics
from .services.calls import call_report_context
from .services.feedback import feedback_submit, report_create
from .services.notifications import notifications_mark_read
from .services.profiles import calendar_feed_get, calendar_feed_regenerate
from .services.recommendations import (
    recommend_mentors,
    recommend_sessions,
    recommend_sessions_cached,
    recommendation_dismiss,
)
from .services.series import series_create
from .services.sessions import session_cancel, session_create, session_update
from .views_requests import request_link, slot_picker
from .views_reschedule import reschedule_context
from .views_series import series_future_count, series_future_saved, series_published
from .web import domain_errors, form_refusals, wants_json

PAGE_SIZE = 12


def _page(request: HttpRequest, items, size: int = PAGE_SIZE):
    return Paginator(items, size).get_page(request.GET.get("page"))


def _mentor_required(request: HttpRequest) -> None:
    if not request.user.is_mentor:
        raise NotFound("Only mentors offer sessions.")


def _confirmed(request: HttpRequest) -> bool:
    """A destructive action goes ahead only when confirmed: by the page's dialog (site.js fills in
    ``confirmed``) or, without scripts, on the confirmation page that any other request gets."""
    return request.method == "POST" and request.POST.get("confirmed") == "yes"


def _confirmation(
    request: HttpRequest, *, question: str, detail: str, button: str, back: str, reason: bool = False
) -> HttpResponse:
    """The page that asks before a destructive action: shown without scripts, and to a GET of the
    action's address (a link followed after signing in again), never a 405."""
    return render(
        request,
        "mentoring/confirm.html",
        {
            "question": question,
            "detail": detail,
            "button": button,
            "back": back,
            "action": request.path,
            "ask_reason": reason,
        },
    )


def _learner_confirmation(
    request: HttpRequest, session: Session, *, question: str, consequence: str, button: str
) -> HttpResponse:
    """A learner's confirmation page about one of their sessions: when, with whom, and what follows."""
    return _confirmation(
        request,
        question=question,
        detail=f"{_when(session)} with {session.mentor.display_name}. {consequence}",
        button=button,
        back=reverse("session_detail", args=[session.pk]),
    )


def _when(session: Session) -> str:
    start = safe_localtime(session.starts_at)
    return f"{start:%a %-d %b %Y, %H:%M} ({start.tzname()})"


# --------------------------------------------------------------------------- dashboard
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context: dict = {"now": now, "join_window_minutes": settings.JOIN_WINDOW_MINUTES}
    context["reschedules_waiting"] = reschedules_awaiting_answer(user=request.user, now=now)
    context["session_requests"] = requests_for_dashboard(user=request.user, now=now)
    if request.user.is_mentor:
        context["mentor"] = mentor_dashboard(user=request.user, now=now)
        context["late_cancel_days"] = LATE_CANCEL_DAYS
        context["late_cancellations"] = mentor_late_cancellations(mentor_id=request.user.pk, now=now)
        context["availability_summary"] = availability_summary(availability=availability_get(mentor=request.user))
    else:
        data = learner_dashboard(user=request.user, now=now)
        for booking in data.upcoming:
            booking.is_live = session_is_live(booking.session, now)
            booking.cancel_late = cancellation_is_late(
                starts_at=booking.session.starts_at, now=now, made_at=booking.created_at
            )
        context["late_cancel_words"] = late_cancellation_words()
        for booking in data.past:
            booking.feedback = data.feedback_by_session.get(booking.session_id)
        context["learner"] = data
        context["recommended"] = recommend_sessions_cached(user=request.user, now=now)
    return render(request, "mentoring/dashboard.html", context)


# --------------------------------------------------------------------------- recommendations
API_KINDS = {"sessions": recommend_sessions, "mentors": recommend_mentors}


def api_recommendations(request: HttpRequest) -> JsonResponse:
    """``GET /api/recommendations/?kind=sessions|mentors&limit=10``: JSON for the signed-in user."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Sign in to get recommendations."}, status=401)
    if request.method != "GET":
        return JsonResponse({"error": "Use GET."}, status=405)
    kind = request.GET.get("kind", "sessions")
    if kind not in API_KINDS:
        return JsonResponse({"error": "kind must be 'sessions' or 'mentors'."}, status=400)
    raw_limit = request.GET.get("limit", "10")
    if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 3) or not 1 <= int(raw_limit) <= 50:
        return JsonResponse({"error": "limit must be a whole number from 1 to 50."}, status=400)
    result = API_KINDS[kind](user=request.user, limit=int(raw_limit))
    return JsonResponse({"kind": kind, "source": result.source, "results": [_api_item(kind, r) for r in result.items]})


def _api_item(kind: str, rec) -> dict:
    if kind == "sessions":
        session = rec.item
        return {
            "id": session.pk,
            "title": session.title,
            "url": reverse("session_detail", args=[session.pk]),
            "starts_at": session.starts_at.isoformat(),
            "mentor": {"id": session.mentor_id, "name": session.mentor.display_name},
            "skills": [skill.name for skill in session.skills.all()],
            "seats_left": session.seats_left,
            "reason": rec.reason,
            "score": rec.score,
        }
    profile = rec.item
    return {
        "id": profile.user_id,
        "name": profile.user.display_name,
        "headline": profile.headline,
        "url": reverse("mentor_detail", args=[profile.user_id]),
        "skills": [skill.name for skill in profile.skills.all()],
        "reason": rec.reason,
        "score": rec.score,
        "next_slot": _slot_item(profile.user_id, rec.next_slot),
    }


def _slot_item(mentor_id: int, slot) -> dict | None:
    if slot is None:
        return None
    return {
        "starts_at": slot.starts_at.isoformat(),
        "ends_at": slot.ends_at.isoformat(),
        "request_url": request_link(mentor_id, slot),
    }


def _back(request: HttpRequest) -> str:
    """The page the form was on (``next``), if it is one of ours; else the dashboard."""
    back = request.POST.get("next", "")
    return (
        back
        if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) and back.startswith("/")
        else reverse("dashboard")
    )


@login_required
@domain_errors(redirect_to=_back, json_when_asked=True)
def recommendation_dismiss_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("dashboard")
    kind, raw_id = request.POST.get("kind", ""), request.POST.get("id", "")
    if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 18):
        raise MentoringError("Say which one you are not interested in.", code="id")
    recommendation_dismiss(user=request.user, kind=kind, object_id=int(raw_id))
    if wants_json(request):
        return JsonResponse({"ok": True})
    messages.success(request, "Got it: we will not suggest that again.")
    return redirect(_back(request))


# --------------------------------------------------------------------------- mentors
def mentors_list(request: HttpRequest) -> HttpResponse:
    form = DirectoryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    mentors = mentors_directory(
        q=filters.get("q", ""),
        skill=filters["skill"].slug if filters.get("skill") else "",
        language=filters["language"].code if filters.get("language") else "",
    )
    context = {"form": form, "page_obj": _page(request, mentors)}
    if request.user.is_authenticated and not request.user.is_mentor and not request.GET:
        context["suggested"] = [
            (rec, request_link(rec.item.user_id, rec.next_slot) if rec.next_slot else "")
            for rec in recommend_mentors(user=request.user, limit=3).items
        ]
    return render(request, "mentoring/mentors_list.html", context)


@domain_errors
def mentor_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    profile = mentor_get_public(user_id=user_id, user=request.user)
    upcoming = mentor_sessions_open(mentor_id=user_id)
    feedback = mentor_feedback_public(mentor_id=user_id)
    context = {"profile": profile, "upcoming": upcoming, "feedback": feedback}
    context["slot_picker"] = slot_picker(request, mentor=profile.user)
    return render(request, "mentoring/mentor_detail.html", context)


# --------------------------------------------------------------------------- sessions
def sessions_list(request: HttpRequest) -> HttpResponse:
    form = SessionFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    sessions = sessions_upcoming(q=filters.get("q", ""), skill=filters["skill"].slug if filters.get("skill") else None)
    return render(request, "mentoring/sessions_list.html", {"form": form, "page_obj": _page(request, sessions)})


@domain_errors
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_public(session_id=session_id, user=request.user)
    now = timezone.now()
    viewer = session_viewer(session=session, user=request.user, now=now)
    context = {
        "session": session,
        "status": session_display_status(session, now),
        "is_live": session_is_live(session, now),
        "join_opens": join_window(session)[0],
        "is_mentor_of_session": viewer.is_mentor,
        "booking": viewer.booking,
        "waitlist_entry": viewer.waitlist_entry,
        "bookings": viewer.bookings,
        "feedback": viewer.feedback,
        "cancel_late": cancellation_is_late(
            starts_at=session.starts_at, now=now, made_at=viewer.booking.created_at if viewer.booking else None
        ),
        "late_cancel_words": late_cancellation_words(),
        "series": series_overview(session=session, user=request.user, now=now),
        **reschedule_context(
            session=session, user=request.user, is_mentor=viewer.is_mentor, booking=viewer.booking, now=now
        ),
    }
    return render(request, "mentoring/session_detail.html", context)


# The form field a service refusal belongs to (others show above the form).
SESSION_ERROR_FIELDS = {
    "past": "starts_at",
    "too_far": "starts_at",
    "overlap": "starts_at",
    "duration": "duration_minutes",
    "capacity": "capacity",
    "capacity_below_bookings": "capacity",
    "title_text": "title",
    "description_text": "description",
    "series_count": "occurrences",
    "series_until": "until",
    "series_frequency": "repeat",
}


@login_required
@once
@domain_errors
def session_new(request: HttpRequest) -> HttpResponse:
    _mentor_required(request)
    form = SessionCreateForm(request.POST or None, time_zone=request.user.time_zone)
    if request.method == "POST" and form.is_valid():
        with form_refusals(form, fields=SESSION_ERROR_FIELDS):
            if repeat := form.pop_repeat():  # a weekly or fortnightly series
                return series_published(request, series_create(mentor=request.user, **form.cleaned_data, **repeat))
            session = session_create(mentor=request.user, **form.cleaned_data)
            if session_of_listed_mentor(session):
                messages.success(request, "Your session is published. Learners can book it now.")
            else:
                messages.success(request, "Your session is saved. It is listed once staff approve your profile.")
            return redirect("session_detail", session.pk)
    return render(request, "mentoring/session_form.html", {"form": form, "creating": True})


@login_required
@domain_errors
def session_edit(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_mentor(session_id=session_id, user=request.user)
    # In a series with later dates, the form asks: this session only, or it and all future ones.
    later = series_future_count(session)
    form_class = partial(SeriesOccurrenceForm, later_count=later) if later > 1 else SessionForm
    if request.method == "POST":
        form = form_class(request.POST, time_zone=request.user.time_zone, current_course_id=session.course_id)
        if form.is_valid():
            with form_refusals(form, fields=SESSION_ERROR_FIELDS):
                if later > 1 and form.pop_scope() == "future":
                    return series_future_saved(request, session, form.cleaned_data)
                session_update(session_id=session.pk, mentor=request.user, **form.cleaned_data)
                messages.success(request, "Session updated. Booked learners were told about any change of time.")
                return redirect("session_detail", session.pk)
    else:
        form = form_class(
            initial=SessionForm.initial_from(session),
            time_zone=request.user.time_zone,
            current_course_id=session.course_id,
        )
    return render(request, "mentoring/session_form.html", {"form": form, "session": session, "creating": False})


SESSION_CANCELLED = "Session cancelled. Everyone who booked it has been told."


@login_required
@domain_errors(redirect_to="session_detail")
def session_cancel_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_mentor(session_id=session_id, user=request.user)
    if session.status == Session.Status.CANCELLED:
        if request.method == "POST":  # sent twice, or from another tab: the outcome stands
            messages.success(request, SESSION_CANCELLED)
        return redirect("session_detail", session.pk)
    if not _confirmed(request):
        late = cancellation_is_late(starts_at=session.starts_at, made_at=session.created_at)
        return _confirmation(
            request,
            question=f"Cancel “{session.title}” for everyone who booked it?",
            detail=f"{_when(session)}. {session.booked_count} booked and everyone waiting are told at once."
            + (f" This is a late cancellation ({late_cancellation_words()}): it shows in your stats." if late else ""),
            button="Cancel the session",
            back=reverse("session_detail", args=[session.pk]),
            reason=True,
        )
    session = session_cancel(session_id=session.pk, actor=request.user, reason=request.POST.get("reason", ""))
    if session.cancelled_late:
        messages.warning(
            request,
            f"{SESSION_CANCELLED} It was a late cancellation ({late_cancellation_words()}), noted in your stats.",
        )
    else:
        messages.success(request, SESSION_CANCELLED)
    return redirect("session_detail", session.pk)


def _session_page_or_list(request: HttpRequest, session_id: int) -> str:
    """Where a refused booking goes: the session's page, or the session list when the person may not
    see that page (a session of a mentor staff have not approved)."""
    try:
        session_get_public(session_id=session_id, user=request.user)
    except NotFound:
        return reverse("sessions")
    return reverse("session_detail", args=[session_id])


@login_required
@domain_errors(redirect_to=_session_page_or_list)
def session_book(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_public(session_id=session_id, user=request.user, include_unlisted=True)
    if request.method != "POST":  # a link followed after signing in: the session's page has the button
        return redirect("session_detail", session.pk)
    try:
        booking_create(session_id=session.pk, learner=request.user)
    except MentoringError as error:
        if error.code != "already_booked":  # booked already (a double click, another tab): the outcome stands
            raise
    messages.success(request, f"You are booked on “{session.title}”. See you there!")
    return redirect("session_detail", session.pk)


@login_required
@domain_errors(redirect_to=_session_page_or_list)
def session_waitlist(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_public(session_id=session_id, user=request.user, include_unlisted=True)
    if request.method != "POST":
        return redirect("session_detail", session.pk)
    outcome = WAITLIST_JOINED
    try:
        waitlist_join(session_id=session.pk, learner=request.user)
    except MentoringError as error:
        if error.code == "already_booked":  # a seat came first (promoted, or booked in another tab)
            outcome = f"You have a seat on “{session.title}”."
        elif error.code != "already_waiting":  # waiting already (sent twice): the outcome stands
            raise
    messages.success(request, outcome)
    return redirect("session_detail", session.pk)


WAITLIST_JOINED = "You are on the waitlist. If a seat frees up, we book it for you and let you know."


@domain_errors
def session_calendar(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_public(session_id=session_id, user=request.user)
    response = HttpResponse(session_ics(session), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="peerlearn-session-{session.pk}.ics"'
    return response


@login_required
@domain_errors
def session_room(request: HttpRequest, room_id) -> HttpResponse:
    session = session_get_for_participant(room_id=room_id, user=request.user)
    now = timezone.now()
    opens, closes = join_window(session)
    if session_is_live(session, now):
        return render(
            request, "mentoring/room.html", {"session": session, "report_people": _call_people(session, request.user)}
        )
    return render(
        request,
        "mentoring/room_waiting.html",
        {"session": session, "opens": opens, "closes": closes, "is_live": session_is_live(session, now), "now": now},
    )


@login_required
@require_POST
@once
@domain_errors
def session_room_report(request: HttpRequest, room_id) -> JsonResponse:
    """ "Report a problem" from inside the call: JSON in and out, the call's state attached. A refusal
    is a form error like the others: ``{"errors": {"__all__": [message]}}``."""
    session = session_get_for_participant(room_id=room_id, user=request.user)
    form = ReportForm(request.POST, people=_call_people(session, request.user))
    if form.is_valid():
        with form_refusals(form):
            _file_session_report(request, session, form, context=call_report_context(session=session))
            return JsonResponse(
                {"message": "Thank you. Our moderators will look at your report; the call's details are attached."},
                status=201,
            )
    return JsonResponse(
        {"errors": {field: [e["message"] for e in errors] for field, errors in form.errors.get_json_data().items()}},
        status=400,
    )


def _file_session_report(request: HttpRequest, session: Session, form: ReportForm, context: dict | None = None):
    return report_create(
        reporter=request.user,
        session_id=session.pk,
        reported_user_id=form.cleaned_data.get("reported_user"),
        reason=form.cleaned_data["reason"],
        text=form.cleaned_data["text"],
        context=context,
    )


def _call_people(session: Session, user) -> list:
    """The session's other participants: its mentor and learners with an active booking."""
    return [person for person in session_participants(session=session) if person.pk != user.pk]


@login_required
@domain_errors
def session_feedback(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_learner(session_id=session_id, user=request.user)
    existing = feedback_get_own(session=session, user=request.user)
    form = FeedbackForm(request.POST or None, initial=FeedbackForm.initial_from(existing))
    if request.method == "POST" and form.is_valid():
        with form_refusals(form):
            feedback_submit(session_id=session.pk, learner=request.user, **form.cleaned_data)
            messages.success(request, "Thank you! Your feedback is saved.")
            return redirect("dashboard")
    return render(request, "mentoring/feedback_form.html", {"form": form, "session": session, "existing": existing})


@login_required
@once
@domain_errors
def session_report(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_participant(session_id=session_id, user=request.user)
    form = ReportForm(request.POST or None, people=_call_people(session, request.user))
    if request.method == "POST" and form.is_valid():
        with form_refusals(form):
            _file_session_report(request, session, form)
            messages.success(request, "Thank you. Our moderators will look at your report.")
            return redirect("session_detail", session.pk)
    return render(request, "mentoring/report_form.html", {"form": form, "session": session})


@login_required
@once
@domain_errors
def mentor_report(request: HttpRequest, user_id: int) -> HttpResponse:
    profile = mentor_get_reportable(user_id=user_id, user=request.user)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with form_refusals(form):
            report_create(
                reporter=request.user,
                reported_user_id=profile.user_id,
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["text"],
            )
            messages.success(request, "Thank you. Our moderators will look at your report.")
            return redirect("mentor_detail", profile.user_id)
    return render(request, "mentoring/report_form.html", {"form": form, "mentor_profile": profile})


# --------------------------------------------------------------------------- bookings
def _booked_session_page(request: HttpRequest, booking_id: int) -> str:
    return reverse(
        "session_detail", args=[booking_get_for_learner(booking_id=booking_id, user=request.user).session_id]
    )


@login_required
@domain_errors(redirect_to=_booked_session_page)
def booking_cancel_view(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = booking_get_for_learner(booking_id=booking_id, user=request.user)
    session = booking.session
    if booking.status != Booking.Status.ACTIVE and request.method != "POST":
        messages.info(request, f"Your seat on “{session.title}” is cancelled already.")
        return redirect("session_detail", session.pk)
    if booking.status == Booking.Status.ACTIVE and not _confirmed(request):
        return _learner_confirmation(
            request,
            session,
            question=f"Give up your seat on “{session.title}”?",
            consequence="If people are waiting, the first of them gets your seat."
            + (
                f" This is a late cancellation ({late_cancellation_words()}): your mentor is told so."
                if cancellation_is_late(starts_at=session.starts_at, made_at=booking.created_at)
                else ""
            ),
            button="Cancel my booking",
        )
    booking = booking_cancel(booking_id=booking.pk, learner=request.user)
    if booking.cancelled_late:
        messages.warning(
            request,
            f"Your seat on “{session.title}” is cancelled. It was a late cancellation "
            f"({late_cancellation_words()}): your mentor is told so.",
        )
    else:
        messages.success(request, f"Your seat on “{session.title}” is cancelled.")
    return redirect("dashboard")


@login_required
@domain_errors
def waitlist_leave_view(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = waitlist_entry_get_for_learner(entry_id=entry_id, user=request.user)
    session = entry.session
    if entry.status == WaitlistEntry.Status.WAITING and not _confirmed(request):
        return _learner_confirmation(
            request,
            session,
            question=f"Leave the waitlist for “{session.title}”?",
            consequence="You lose your place in the line.",
            button="Leave the waitlist",
        )
    entry = waitlist_leave(entry_id=entry.pk, learner=request.user)
    if entry.status == WaitlistEntry.Status.PROMOTED:
        messages.info(
            request,
            f"A seat freed up and you were booked on “{session.title}” meanwhile. "
            "If you no longer want it, cancel the booking here.",
        )
        return redirect("session_detail", session.pk)
    messages.success(request, "You left the waitlist.")
    return redirect("dashboard")


# --------------------------------------------------------------------------- notifications
@login_required
def notifications_list(request: HttpRequest) -> HttpResponse:
    page_obj = _page(request, notifications_for(user=request.user), 20)
    return render(request, "mentoring/notifications.html", {"page_obj": page_obj})


@login_required
def notifications_read(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("notifications")
    notifications_mark_read(user=request.user)
    messages.success(request, "All notifications marked as read.")
    return redirect("notifications")


# --------------------------------------------------------------------------- calendar feed
@login_required
@once
def calendar_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and not _confirmed(request):
        return _confirmation(
            request,
            question="Replace your calendar link?",
            detail="Calendars subscribed to the old link stop updating; you subscribe again with the new one.",
            button="Make a new link",
            back=reverse("calendar_settings"),
        )
    if request.method == "POST":
        calendar_feed_regenerate(user=request.user)
        messages.success(request, "Your calendar link was replaced. The old link no longer works.")
        return redirect("calendar_settings")
    feed = calendar_feed_get(user=request.user)
    url = absolute_url(reverse("calendar_feed", args=[feed.token]))
    return render(request, "mentoring/calendar.html", {"feed_url": url})


@domain_errors
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = calendar_feed_get_by_token(token=token)
    sessions = sessions_in_calendar_of(user=feed.user)
    return HttpResponse(
        sessions_feed_ics(name="PeerLearn sessions", sessions=sessions), content_type="text/calendar; charset=utf-8"
    )
