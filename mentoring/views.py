from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.dates import safe_localtime
from portal.once import once
from portal.sites import absolute_url

from .forms import DirectoryFilterForm, FeedbackForm, ReportForm, SessionFilterForm, SessionForm
from .models import Booking, CalendarFeed, Feedback, Session, WaitlistEntry
from .recommendations import recommend_mentors, recommend_sessions, recommend_sessions_cached
from .selectors import (
    join_window,
    learner_dashboard,
    mentor_dashboard,
    mentor_get_public,
    mentors_directory,
    notifications_for,
    session_display_status,
    session_get_for_mentor,
    session_get_for_participant,
    session_get_public,
    session_is_live,
    sessions_open_for_booking,
    sessions_upcoming,
)
from .services import MentoringError
from .services.bookings import booking_cancel, booking_create, waitlist_join, waitlist_leave
from .services.calendar import session_ics, sessions_feed_ics
from .services.calls import call_report_context
from .services.feedback import feedback_submit, report_create
from .services.notifications import notifications_mark_read
from .services.profiles import calendar_feed_get, calendar_feed_regenerate
from .services.recommendations import recommendation_dismiss
from .services.sessions import session_cancel, session_create, session_update

PAGE_SIZE = 12


def _page(request: HttpRequest, items, size: int = PAGE_SIZE):
    return Paginator(items, size).get_page(request.GET.get("page"))


def _mentor_required(request: HttpRequest) -> None:
    if not request.user.is_mentor:
        raise Http404("Only mentors offer sessions.")


def _confirmed(request: HttpRequest) -> bool:
    """A destructive action goes ahead only when confirmed: by the page's dialog (site.js fills in
    ``confirmed``) or, without scripts, on the confirmation page that any other request gets."""
    return request.method == "POST" and request.POST.get("confirmed") == "yes"


def _confirmation(request: HttpRequest, *, question: str, detail: str, button: str, back: str, reason: bool = False) -> HttpResponse:
    """The page that asks before a destructive action: shown without scripts, and to a GET of the
    action's address (a link followed after signing in again), never a 405."""
    return render(
        request,
        "mentoring/confirm.html",
        {"question": question, "detail": detail, "button": button, "back": back, "action": request.path, "ask_reason": reason},
    )


def _learner_confirmation(request: HttpRequest, session: Session, *, question: str, consequence: str, button: str) -> HttpResponse:
    """A learner's confirmation page about one of their sessions: when, with whom, and what follows."""
    return _confirmation(
        request, question=question, detail=f"{_when(session)} with {session.mentor.display_name}. {consequence}",
        button=button, back=reverse("session_detail", args=[session.pk]),
    )


def _when(session: Session) -> str:
    start = safe_localtime(session.starts_at)
    return f"{start:%a %-d %b %Y, %H:%M} ({start.tzname()})"


# --------------------------------------------------------------------------- dashboard
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context: dict = {"now": now, "join_window_minutes": settings.JOIN_WINDOW_MINUTES}
    if request.user.is_mentor:
        context["mentor"] = mentor_dashboard(user=request.user, now=now)
    else:
        data = learner_dashboard(user=request.user, now=now)
        for booking in data.upcoming:
            booking.is_live = session_is_live(booking.session, now)
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
    }


@login_required
def recommendation_dismiss_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("dashboard")
    kind, raw_id = request.POST.get("kind", ""), request.POST.get("id", "")
    try:
        if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 18):
            raise MentoringError("Say which one you are not interested in.", code="id")
        recommendation_dismiss(user=request.user, kind=kind, object_id=int(raw_id))
    except MentoringError as error:
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"error": error.message}, status=400)
        messages.error(request, error.message)
    else:
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"ok": True})
        messages.success(request, "Got it: we will not suggest that again.")
    back = request.POST.get("next", "")
    return redirect(back if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) and back.startswith("/") else "dashboard")


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
        context["suggested"] = recommend_mentors(user=request.user, limit=3)
    return render(request, "mentoring/mentors_list.html", context)


def mentor_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    profile = mentor_get_public(user_id=user_id)
    upcoming = sessions_open_for_booking().filter(mentor_id=user_id)[:20]
    feedback = (
        Feedback.objects.filter(session__mentor_id=user_id, hidden=False)
        .exclude(comment="")
        .select_related("learner", "session")[:6]
    )
    return render(request, "mentoring/mentor_detail.html", {"profile": profile, "upcoming": upcoming, "feedback": feedback})


# --------------------------------------------------------------------------- sessions
def sessions_list(request: HttpRequest) -> HttpResponse:
    form = SessionFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    sessions = sessions_upcoming(q=filters.get("q", ""), skill=filters["skill"].slug if filters.get("skill") else None)
    return render(request, "mentoring/sessions_list.html", {"form": form, "page_obj": _page(request, sessions)})


def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_public(session_id=session_id)
    user = request.user
    now = timezone.now()
    context = {
        "session": session,
        "status": session_display_status(session, now),
        "is_live": session_is_live(session, now),
        "join_opens": join_window(session)[0],
    }
    if user.is_authenticated:
        context["is_mentor_of_session"] = session.mentor_id == user.pk
        context["booking"] = Booking.objects.filter(session=session, learner=user, status=Booking.Status.ACTIVE).first()
        context["waitlist_entry"] = WaitlistEntry.objects.filter(
            session=session, learner=user, status=WaitlistEntry.Status.WAITING
        ).first()
        if context["is_mentor_of_session"]:
            context["bookings"] = session.bookings.filter(status=Booking.Status.ACTIVE).select_related("learner")
        if context["booking"] and session.ends_at <= now:
            context["feedback"] = Feedback.objects.filter(session=session, learner=user).first()
    return render(request, "mentoring/session_detail.html", context)


# The form field a service refusal belongs to (others show above the form).
SESSION_ERROR_FIELDS = {
    "past": "starts_at", "too_far": "starts_at", "overlap": "starts_at", "duration": "duration_minutes",
    "capacity": "capacity", "capacity_below_bookings": "capacity", "title_text": "title", "description_text": "description",
}


@login_required
@once
def session_new(request: HttpRequest) -> HttpResponse:
    _mentor_required(request)
    form = SessionForm(request.POST or None, time_zone=request.user.time_zone)
    if request.method == "POST" and form.is_valid():
        try:
            session = session_create(mentor=request.user, **form.cleaned_data)
        except MentoringError as error:
            form.add_error(SESSION_ERROR_FIELDS.get(error.code), error.message)
        else:
            messages.success(request, "Your session is published. Learners can book it now.")
            return redirect("session_detail", session.pk)
    return render(request, "mentoring/session_form.html", {"form": form, "creating": True})


@login_required
def session_edit(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_mentor(session_id=session_id, user=request.user)
    if request.method == "POST":
        form = SessionForm(request.POST, time_zone=request.user.time_zone, current_course_id=session.course_id)
        if form.is_valid():
            try:
                session_update(session_id=session.pk, mentor=request.user, **form.cleaned_data)
            except MentoringError as error:
                form.add_error(SESSION_ERROR_FIELDS.get(error.code), error.message)
            else:
                messages.success(request, "Session updated. Booked learners were told about any change of time.")
                return redirect("session_detail", session.pk)
    else:
        form = SessionForm(
            initial=SessionForm.initial_from(session), time_zone=request.user.time_zone, current_course_id=session.course_id
        )
    return render(request, "mentoring/session_form.html", {"form": form, "session": session, "creating": False})


SESSION_CANCELLED = "Session cancelled. Everyone who booked it has been told."


@login_required
def session_cancel_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_mentor(session_id=session_id, user=request.user)
    if session.status == Session.Status.CANCELLED:
        if request.method == "POST":  # sent twice, or from another tab: the outcome stands
            messages.success(request, SESSION_CANCELLED)
        return redirect("session_detail", session.pk)
    if not _confirmed(request):
        return _confirmation(
            request,
            question=f"Cancel “{session.title}” for everyone who booked it?",
            detail=f"{_when(session)}. {session.booked_count} booked and everyone waiting are told at once.",
            button="Cancel the session",
            back=reverse("session_detail", args=[session.pk]),
            reason=True,
        )
    try:
        session_cancel(session_id=session.pk, actor=request.user, reason=request.POST.get("reason", ""))
    except MentoringError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, SESSION_CANCELLED)
    return redirect("session_detail", session.pk)


@login_required
def session_book(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_public(session_id=session_id)
    if request.method != "POST":  # a link followed after signing in: the session's page has the button
        return redirect("session_detail", session.pk)
    try:
        booking_create(session_id=session.pk, learner=request.user)
    except MentoringError as error:
        if error.code != "already_booked":
            messages.error(request, error.message)
            return redirect("session_detail", session.pk)
    messages.success(request, f"You are booked on “{session.title}”. See you there!")
    return redirect("session_detail", session.pk)


@login_required
def session_waitlist(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_public(session_id=session_id)
    if request.method != "POST":
        return redirect("session_detail", session.pk)
    try:
        waitlist_join(session_id=session.pk, learner=request.user)
    except MentoringError as error:
        if error.code == "already_booked":  # a seat came first (promoted, or booked in another tab)
            messages.success(request, f"You have a seat on “{session.title}”.")
        elif error.code == "already_waiting":
            messages.success(request, WAITLIST_JOINED)
        else:
            messages.error(request, error.message)
    else:
        messages.success(request, WAITLIST_JOINED)
    return redirect("session_detail", session.pk)


WAITLIST_JOINED = "You are on the waitlist. If a seat frees up, we book it for you and let you know."


def session_calendar(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_public(session_id=session_id)
    response = HttpResponse(session_ics(session), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="peerlearn-session-{session.pk}.ics"'
    return response


@login_required
def session_room(request: HttpRequest, room_id) -> HttpResponse:
    session = session_get_for_participant(room_id=room_id, user=request.user)
    now = timezone.now()
    opens, closes = join_window(session)
    if session_is_live(session, now):
        return render(request, "mentoring/room.html", {"session": session, "report_people": _call_people(session, request.user)})
    return render(
        request,
        "mentoring/room_waiting.html",
        {"session": session, "opens": opens, "closes": closes, "is_live": session_is_live(session, now), "now": now},
    )


@login_required
@require_POST
@once
def session_room_report(request: HttpRequest, room_id) -> JsonResponse:
    """"Report a problem" from inside the call: JSON in and out, the call's state attached."""
    session = session_get_for_participant(room_id=room_id, user=request.user)
    form = ReportForm(request.POST, people=_call_people(session, request.user))
    if not form.is_valid():
        return JsonResponse({"errors": {field: [e["message"] for e in errors] for field, errors in form.errors.get_json_data().items()}}, status=400)
    try:
        _file_session_report(request, session, form, context=call_report_context(session=session))
    except MentoringError as error:
        return JsonResponse({"errors": {"__all__": [error.message]}}, status=400)
    return JsonResponse({"message": "Thank you. Our moderators will look at your report; the call's details are attached."}, status=201)


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
    learners = [b.learner for b in session.bookings.filter(status=Booking.Status.ACTIVE).select_related("learner")]
    return [p for p in [session.mentor, *learners] if p.pk != user.pk]


@login_required
def session_feedback(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_public(session_id=session_id)
    if not Booking.objects.filter(session=session, learner=request.user, status=Booking.Status.ACTIVE).exists():
        raise Http404("No such session.")
    existing = Feedback.objects.filter(session=session, learner=request.user).first()
    form = FeedbackForm(request.POST or None, initial=FeedbackForm.initial_from(existing))
    if request.method == "POST" and form.is_valid():
        try:
            feedback_submit(session_id=session.pk, learner=request.user, **form.cleaned_data)
        except MentoringError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Thank you! Your feedback is saved.")
            return redirect("dashboard")
    return render(request, "mentoring/feedback_form.html", {"form": form, "session": session, "existing": existing})


@login_required
@once
def session_report(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_public(session_id=session_id)
    people = _call_people(session, request.user)
    if request.user.pk != session.mentor_id and not session.bookings.filter(learner=request.user, status=Booking.Status.ACTIVE).exists():
        raise Http404("No such session.")
    form = ReportForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        try:
            _file_session_report(request, session, form)
        except MentoringError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Thank you. Our moderators will look at your report.")
            return redirect("session_detail", session.pk)
    return render(request, "mentoring/report_form.html", {"form": form, "session": session})


@login_required
@once
def mentor_report(request: HttpRequest, user_id: int) -> HttpResponse:
    profile = mentor_get_public(user_id=user_id)
    if profile.user_id == request.user.pk:
        raise Http404("No such mentor.")
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            report_create(
                reporter=request.user, reported_user_id=profile.user_id,
                reason=form.cleaned_data["reason"], text=form.cleaned_data["text"],
            )
        except MentoringError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Thank you. Our moderators will look at your report.")
            return redirect("mentor_detail", profile.user_id)
    return render(request, "mentoring/report_form.html", {"form": form, "mentor_profile": profile})


# --------------------------------------------------------------------------- bookings
@login_required
def booking_cancel_view(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = Booking.objects.select_related("session__mentor").filter(pk=booking_id, learner=request.user).first()
    if booking is None:
        raise Http404("No such booking.")
    session = booking.session
    if booking.status != Booking.Status.ACTIVE and request.method != "POST":
        messages.info(request, f"Your seat on “{session.title}” is cancelled already.")
        return redirect("session_detail", session.pk)
    if booking.status == Booking.Status.ACTIVE and not _confirmed(request):
        return _learner_confirmation(
            request, session, question=f"Give up your seat on “{session.title}”?",
            consequence="If people are waiting, the first of them gets your seat.", button="Cancel my booking",
        )
    try:
        booking_cancel(booking_id=booking.pk, learner=request.user)
    except MentoringError as error:
        messages.error(request, error.message)
        return redirect("session_detail", session.pk)
    messages.success(request, f"Your seat on “{session.title}” is cancelled.")
    return redirect("dashboard")


@login_required
def waitlist_leave_view(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = WaitlistEntry.objects.select_related("session__mentor").filter(pk=entry_id, learner=request.user).first()
    if entry is None:
        raise Http404("You are not on this waitlist.")
    session = entry.session
    if entry.status == WaitlistEntry.Status.WAITING and not _confirmed(request):
        return _learner_confirmation(
            request, session, question=f"Leave the waitlist for “{session.title}”?",
            consequence="You lose your place in the line.", button="Leave the waitlist",
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


CALENDAR_FEED_LIMIT = 500


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = CalendarFeed.objects.select_related("user").filter(token=token, user__is_active=True).first()
    if feed is None:
        raise Http404("No such calendar.")
    user = feed.user
    if user.is_mentor:
        sessions = Session.objects.filter(mentor=user)
    else:
        sessions = Session.objects.filter(bookings__learner=user, bookings__status=Booking.Status.ACTIVE)
    # What is ahead, soonest first, then the past, newest first, up to the limit: a long history
    # never pushes upcoming sessions out of the feed.
    now = timezone.now()
    sessions = sessions.select_related("mentor")
    ahead = list(sessions.filter(ends_at__gt=now).order_by("starts_at")[:CALENDAR_FEED_LIMIT])
    past = list(sessions.filter(ends_at__lte=now).order_by("-starts_at")[: CALENDAR_FEED_LIMIT - len(ahead)])
    sessions = ahead + past
    return HttpResponse(sessions_feed_ics(name="PeerLearn sessions", sessions=sessions), content_type="text/calendar; charset=utf-8")
