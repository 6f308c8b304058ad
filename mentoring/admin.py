"""Django admin for the mentoring domain: moderation and support.

State that services keep consistent (seat counts, bookings, statuses, notifications) is read-only
here; it changes through the actions, which call the services. User text is never marked safe.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.text import Truncator

from portal.accounts.models import SUSPENSION_REASON_MAX
from portal.dates import safe_localtime
from portal.validators import validate_multi_line

from .models import (
    Availability,
    Booking,
    CalendarFeed,
    CallAttendance,
    CallQuality,
    DateOverride,
    Feedback,
    Language,
    LearnerProfile,
    MentorProfile,
    ModerationAction,
    Notification,
    Report,
    RescheduleProposal,
    Session,
    SessionRequest,
    SessionSeries,
    Skill,
    WaitlistEntry,
    WeeklyHours,
)
from .services import MentoringError
from .services.availability import availability_rules_check
from .services.feedback import feedback_set_hidden
from .services.moderation import DECISIONS, RESOLUTION_NOTE_MAX, SUSPENSION_DAYS_MAX, reports_act
from .services.profiles import REVIEW_MESSAGE_MAX, mentor_profile_review
from .services.sessions import session_cancel


def _short(text: str, length: int = 60) -> str:
    return Truncator(text).chars(length)


class ReadOnlyAdminMixin:
    """Rows written only by the services: staff can look, not add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class NoSaveOnReadOnlyMixin:
    """A detail page where nothing can be edited shows no Save buttons (only Delete, and the actions),
    and is titled "View", not "Change"."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            "title": f"View {self.opts.verbose_name}",
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)


# --------------------------------------------------------------------------- catalogue
@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "session_count", "mentor_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    ordering = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Skill]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                session_count=Count("sessions", distinct=True),
                mentor_count=Count("mentors", distinct=True),
            )
        )

    @admin.display(description="sessions", ordering="session_count")
    def session_count(self, obj: Skill) -> int:
        return obj.session_count

    @admin.display(description="mentors", ordering="mentor_count")
    def mentor_count(self, obj: Skill) -> int:
        return obj.mentor_count


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    ordering = ["name"]


# --------------------------------------------------------------------------- profiles
def _waiting_first() -> Case:
    """Profiles waiting for review first, then those sent back for changes, then approved ones."""
    return Case(
        When(review_status=MentorProfile.Review.PENDING, then=Value(0)),
        When(review_status=MentorProfile.Review.CHANGES, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


class ReviewMessageForm(forms.Form):
    message = forms.CharField(
        label="What should the mentor change?",
        help_text="Sent to the mentor (notification and email) and shown on their dashboard until they edit the profile.",
        max_length=REVIEW_MESSAGE_MAX,
        validators=[validate_multi_line],
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        error_messages={"required": "Tell the mentor what to change: the message is required."},
    )


@admin.register(MentorProfile)
class MentorProfileAdmin(admin.ModelAdmin):
    """New mentors wait for review (pending first); staff approve them or ask for changes with the
    actions, which notify the mentor. The review fields change only through the actions."""

    list_display = ["user", "user_email", "headline", "review", "reviewed_at", "years_experience", "accepting_bookings"]
    list_filter = ["review_status", "accepting_bookings", "skills", "languages"]
    search_fields = ["user__email", "user__display_name", "headline"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["skills", "languages"]
    readonly_fields = ["review_status", "review_message", "reviewed_at", "reviewed_by"]
    actions = ["approve_profiles", "request_changes"]

    def get_ordering(self, request: HttpRequest) -> list:
        return [_waiting_first().asc(), "user__display_name", "pk"]

    @admin.display(description="email", ordering="user__email")
    def user_email(self, obj: MentorProfile) -> str:
        return obj.user.email

    @admin.display(description="review", ordering=_waiting_first())
    def review(self, obj: MentorProfile) -> str:
        return obj.get_review_status_display()

    REVIEW_LOG = {"approve": "approved", "changes": "changes requested"}

    def _review(self, request: HttpRequest, queryset: QuerySet[MentorProfile], *, decision: str, message: str) -> int:
        done = 0
        for profile in queryset.select_related("user").order_by("pk"):
            try:
                mentor_profile_review(profile_id=profile.pk, reviewer=request.user, decision=decision, message=message)
            except MentoringError as error:
                self.message_user(request, f"{profile.user.display_name}: {error.message}", messages.WARNING)
            else:
                done += 1
                # In the profile's History and the admin's recent actions, like any change made here.
                self.log_change(
                    request, profile, f"Review: {self.REVIEW_LOG[decision]}" + (f": {message}" if message else "")
                )
        return done

    @admin.action(description="Approve selected profiles (list them and notify the mentors)")
    def approve_profiles(self, request: HttpRequest, queryset: QuerySet[MentorProfile]) -> None:
        done = self._review(request, queryset, decision="approve", message="")
        if done:
            self.message_user(
                request,
                f"Approved {done} mentor profile{'' if done == 1 else 's'}; "
                f"{'the mentor was' if done == 1 else 'the mentors were'} notified.",
                messages.SUCCESS,
            )

    @admin.action(description="Request changes…")
    def request_changes(self, request: HttpRequest, queryset: QuerySet[MentorProfile]):
        """Asks for the message on an intermediate page, then sends it to each selected mentor."""
        form = ReviewMessageForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = self._review(request, queryset, decision="changes", message=form.cleaned_data["message"])
            if done:
                self.message_user(
                    request,
                    f"Asked {done} mentor{'' if done == 1 else 's'} for changes, with your message.",
                    messages.SUCCESS,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Request changes to mentor profiles",
            "opts": self.model._meta,
            "profiles": queryset.select_related("user").order_by("user__display_name", "pk"),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
            "media": self.media,
        }
        return TemplateResponse(request, "admin/mentoring/mentorprofile/request_changes.html", context)


@admin.register(LearnerProfile)
class LearnerProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "user_email", "short_goals"]
    list_filter = ["interests"]
    search_fields = ["user__email", "user__display_name", "goals"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["interests"]

    @admin.display(description="email", ordering="user__email")
    def user_email(self, obj: LearnerProfile) -> str:
        return obj.user.email

    @admin.display(description="goals")
    def short_goals(self, obj: LearnerProfile) -> str:
        return _short(obj.goals)


# --------------------------------------------------------------------------- sessions
class BookingInline(admin.TabularInline):
    model = Booking
    fields = ["learner", "status", "created_at", "cancelled_at", "cancelled_late", "promoted_from_waitlist"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Booking]:
        return super().get_queryset(request).select_related("learner")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CallAttendanceInline(_ReadOnlyInline):
    model = CallAttendance
    verbose_name_plural = "call attendance"
    fields = ["user", "joined_at", "left_at", "reconnects"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CallAttendance]:
        return super().get_queryset(request).select_related("user")


class CallQualityInline(_ReadOnlyInline):
    """Beside attendance: what each participant's browser measured (getStats summaries)."""

    model = CallQuality
    verbose_name_plural = "call quality (measured in the participants' browsers)"
    fields = [
        "user",
        "samples",
        "rtt",
        "loss",
        "bitrate",
        "candidate_types",
        "protocols",
        "ice_restarts",
        "reconnects",
        "last_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CallQuality]:
        return super().get_queryset(request).select_related("user")

    @admin.display(description="round trip (avg / max)")
    def rtt(self, obj: CallQuality) -> str:
        return _pair(obj.rtt_ms_avg, obj.rtt_ms_max, "ms")

    @admin.display(description="packet loss (avg / max)")
    def loss(self, obj: CallQuality) -> str:
        return _pair(obj.loss_pct_avg, obj.loss_pct_max, "%")

    @admin.display(description="bitrate in / out")
    def bitrate(self, obj: CallQuality) -> str:
        return _pair(obj.in_kbps_avg, obj.out_kbps_avg, "kbit/s")


def _pair(first: float | None, second: float | None, unit: str) -> str:
    if first is None and second is None:
        return "–"
    show = lambda v: "–" if v is None else f"{v:.1f}"  # noqa: E731
    return f"{show(first)} / {show(second)} {unit}"


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    """Staff may correct a session's wording; times, seats and status change through the services
    (mentors edit their sessions; staff cancel them with the action, which tells the learners)."""

    list_display = [
        "title",
        "mentor",
        "starts_at",
        "duration_minutes",
        "seats",
        "status",
        "cancelled_late",
        "skill_list",
    ]
    list_filter = ["status", "cancelled_late", "skills"]
    search_fields = ["title", "description", "mentor__email", "mentor__display_name"]
    list_select_related = ["mentor"]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at", "-id"]
    raw_id_fields = ["course"]
    filter_horizontal = ["skills"]
    readonly_fields = [
        "mentor",
        "starts_at",
        "duration_minutes",
        "ends_at",
        "capacity",
        "booked_count",
        "seats",
        "status",
        "room_id",
        "created_at",
        "updated_at",
        "cancelled_at",
        "cancelled_late",
    ]
    fieldsets = [
        (None, {"fields": ["title", "description", "skills", "course"]}),
        (
            "Schedule",
            {
                "fields": [
                    "mentor",
                    "starts_at",
                    "duration_minutes",
                    "ends_at",
                    "status",
                    "cancelled_at",
                    "cancelled_late",
                ]
            },
        ),
        ("Seats", {"fields": ["capacity", "booked_count", "seats"]}),
        ("Record", {"fields": ["room_id", "created_at", "updated_at"]}),
    ]
    inlines = [BookingInline, CallAttendanceInline, CallQualityInline]
    actions = ["cancel_sessions"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Session]:
        return super().get_queryset(request).prefetch_related("skills")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # mentors offer sessions through the site, where overlaps and times are checked

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # deleting would drop bookings silently; cancel instead

    @admin.display(description="booked / capacity", ordering="booked_count")
    def seats(self, obj: Session) -> str:
        return f"{obj.booked_count}/{obj.capacity}"

    @admin.display(description="skills")
    def skill_list(self, obj: Session) -> str:
        return ", ".join(skill.name for skill in obj.skills.all())

    @admin.action(description="Cancel selected sessions and notify learners")
    def cancel_sessions(self, request: HttpRequest, queryset: QuerySet[Session]) -> None:
        cancelled = 0
        for session in queryset.order_by("starts_at", "id"):
            if session.status == Session.Status.CANCELLED:
                self.message_user(request, f"“{session.title}” was cancelled already.", messages.INFO)
                continue
            try:
                session_cancel(session_id=session.pk, actor=request.user)
            except MentoringError as error:
                self.message_user(request, f"“{session.title}”: {error.message}", messages.WARNING)
            else:
                cancelled += 1
        if cancelled:
            self.message_user(
                request, f"Cancelled {cancelled} session(s); booked learners were notified.", messages.SUCCESS
            )


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "learner",
        "session",
        "session_starts_at",
        "status",
        "promoted_from_waitlist",
        "no_show",
        "cancelled_late",
        "created_at",
    ]
    list_filter = ["status", "cancelled_late", "promoted_from_waitlist", "no_show", "created_at"]
    search_fields = ["learner__email", "learner__display_name", "session__title"]
    list_select_related = ["learner", "session"]
    raw_id_fields = ["session"]
    autocomplete_fields = ["learner"]
    date_hierarchy = "created_at"

    @admin.display(description="session starts", ordering="session__starts_at")
    def session_starts_at(self, obj: Booking):
        return obj.session.starts_at


@admin.register(CallAttendance)
class CallAttendanceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who was in each call and when: recorded by the signaling server, never edited by hand."""

    list_display = ["session", "user", "joined_at", "left_at", "minutes", "reconnects"]
    list_filter = ["joined_at"]
    search_fields = ["user__email", "user__display_name", "session__title"]
    list_select_related = ["session", "user"]
    date_hierarchy = "joined_at"

    @admin.display(description="minutes")
    def minutes(self, obj: CallAttendance):
        if not obj.left_at:
            return "in the call"
        return round((obj.left_at - obj.joined_at).total_seconds() / 60, 1)


@admin.register(CallQuality)
class CallQualityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Call quality per participant and session, as their browsers measured it."""

    list_display = [
        "session",
        "user",
        "samples",
        "rtt",
        "loss",
        "candidate_types",
        "ice_restarts",
        "reconnects",
        "last_at",
    ]
    list_filter = ["last_at"]
    search_fields = ["user__email", "user__display_name", "session__title"]
    list_select_related = ["session", "user"]
    rtt = CallQualityInline.rtt
    loss = CallQualityInline.loss


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["learner", "session", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["learner__email", "learner__display_name", "session__title"]
    list_select_related = ["learner", "session"]
    raw_id_fields = ["session"]
    autocomplete_fields = ["learner"]


@admin.register(RescheduleProposal)
class RescheduleProposalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """New times proposed for one-to-one sessions and their answers: written by the services only."""

    list_display = ["session", "proposed_by", "starts_at", "status", "created_at", "responded_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["session__title", "proposed_by__email", "proposed_by__display_name"]
    list_select_related = ["session", "proposed_by"]
    raw_id_fields = ["session"]
    date_hierarchy = "created_at"


@admin.register(SessionRequest)
class SessionRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Learners' 1:1 requests and the mentors' answers: written by the services only (support reads
    them: who asked whom for when, and what became of it)."""

    list_display = ["learner", "mentor", "starts_at", "duration_minutes", "status", "created_at", "responded_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["learner__email", "learner__display_name", "mentor__email", "mentor__display_name"]
    list_select_related = ["learner", "mentor"]
    raw_id_fields = ["session"]
    date_hierarchy = "created_at"


# --------------------------------------------------------------------------- moderation
@admin.register(Feedback)
class FeedbackAdmin(NoSaveOnReadOnlyMixin, admin.ModelAdmin):
    list_display = ["session", "learner", "rating", "short_comment", "hidden", "created_at"]
    list_filter = ["hidden", "rating", "created_at"]
    search_fields = ["comment", "session__title", "learner__email", "learner__display_name"]
    list_select_related = ["session", "learner"]
    raw_id_fields = ["session"]
    autocomplete_fields = ["learner"]
    readonly_fields = ["session", "learner", "rating", "comment", "hidden", "created_at", "updated_at"]
    actions = ["hide_feedback", "show_feedback"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="comment")
    def short_comment(self, obj: Feedback) -> str:
        return _short(obj.comment)

    @admin.action(description="Hide selected feedback")
    def hide_feedback(self, request: HttpRequest, queryset: QuerySet[Feedback]) -> None:
        count = feedback_set_hidden(feedback_ids=list(queryset.values_list("pk", flat=True)), hidden=True)
        self.message_user(request, f"Hid {count} feedback item(s).", messages.SUCCESS)

    @admin.action(description="Show selected feedback")
    def show_feedback(self, request: HttpRequest, queryset: QuerySet[Feedback]) -> None:
        count = feedback_set_hidden(feedback_ids=list(queryset.values_list("pk", flat=True)), hidden=False)
        self.message_user(request, f"Showed {count} feedback item(s).", messages.SUCCESS)


class ReportAgeFilter(admin.SimpleListFilter):
    """The queue by age: what waits longest is what staff look at first."""

    title = "age"
    parameter_name = "age"
    AGES = {"day": (None, 1), "week": (1, 7), "older": (7, None)}

    def lookups(self, request, model_admin):
        return [("day", "Less than a day"), ("week", "1 to 7 days"), ("older", "More than a week")]

    def queryset(self, request, queryset):
        ages = self.AGES.get(self.value() or "")
        if ages is None:
            return queryset
        now = timezone.now()
        newest, oldest = ages
        if newest is not None:
            queryset = queryset.filter(created_at__lte=now - timedelta(days=newest))
        if oldest is not None:
            queryset = queryset.filter(created_at__gt=now - timedelta(days=oldest))
        return queryset


class ReportActionForm(forms.Form):
    decision = forms.ChoiceField(
        label="What to do", choices=list(DECISIONS.items()), widget=forms.RadioSelect, initial="resolve"
    )
    days = forms.IntegerField(
        label="Suspend for (days)",
        required=False,
        min_value=1,
        max_value=SUSPENSION_DAYS_MAX,
        help_text=f"For a suspension: 1 to {SUSPENSION_DAYS_MAX} days. It lifts itself afterwards.",
    )
    reason = forms.CharField(
        label="Reason (shown to the reported person)",
        required=False,
        max_length=SUSPENSION_REASON_MAX,
        validators=[validate_multi_line],
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Required to warn or suspend: sent to them, and shown when a suspended person tries to log in. "
        "Kept and sent with a deactivation or hidden feedback too, if given.",
    )
    note = forms.CharField(
        label="Note to the reporter",
        required=False,
        max_length=RESOLUTION_NOTE_MAX,
        validators=[validate_multi_line],
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Optional. The reporter is told their report was handled, with this note.",
    )

    def clean(self):
        cleaned = super().clean()
        decision = cleaned.get("decision")
        if decision == "suspend" and cleaned.get("days") is None and "days" not in self.errors:
            self.add_error("days", "Say how many days the suspension lasts.")
        if (
            decision in ("warn", "suspend")
            and not (cleaned.get("reason") or "").strip()
            and "reason" not in self.errors
        ):
            self.add_error("reason", "Give the reason: the person is shown it.")
        return cleaned


@admin.register(Report)
class ReportAdmin(NoSaveOnReadOnlyMixin, admin.ModelAdmin):
    """The moderation queue, open reports first. Staff act on a report (resolve with a note to the
    reporter, hide the reported feedback, warn, suspend, deactivate) with the actions; each step is
    kept in the moderation actions and in the admin's history."""

    list_display = [
        "reason",
        "status",
        "reported_user",
        "short_text",
        "filed",
    ]  # who reported, the session and who resolved are on the report's page: the list fits a laptop
    list_filter = ["status", "reason", ReportAgeFilter, "created_at"]
    search_fields = [
        "text",
        "reporter__email",
        "reporter__display_name",
        "reported_user__email",
        "reported_user__display_name",
        "session__title",
    ]
    list_select_related = ["reporter", "reported_user", "session", "resolved_by"]
    raw_id_fields = ["session"]
    autocomplete_fields = ["reporter", "reported_user", "resolved_by"]
    readonly_fields = [
        "reporter",
        "session",
        "reported_user",
        "reason",
        "text",
        "status",
        "created_at",
        "resolved_at",
        "resolved_by",
        "resolution_note",
        "attached",
        "moderation_history",
    ]
    exclude = ["context"]
    date_hierarchy = "created_at"
    actions = ["act_on_reports", "resolve_reports"]

    def get_ordering(self, request: HttpRequest) -> list:
        open_first = Case(When(status=Report.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
        return [open_first.asc(), "created_at", "pk"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # A report is part of the moderation record: resolved, never deleted on its own (no Delete on its
    # page or in the list). The delete permission itself stays, so deleting the person who filed it
    # (their data erased) still takes their reports with them instead of being refused.
    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, {"show_delete": False, **(extra_context or {})})

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Reports to moderate", **(extra_context or {})})

    @admin.display(description="attached")
    def attached(self, obj: Report) -> str:
        """What a report from the call room carries: who was in the call, and when."""
        context = obj.context or {}
        if not context:
            return "–"
        people = "; ".join(
            f"{p.get('name')} ({p.get('role')}, joined {p.get('joined_at', '')[11:16]}, reconnects {p.get('reconnects', 0)})"
            for p in context.get("in_call", [])
        )
        return f"From the {context.get('source', 'site')} at {context.get('reported_at', '')}. In the call: {people or 'nobody'}."

    @admin.display(description="what moderators did")
    def moderation_history(self, obj: Report) -> str:
        actions = obj.actions.select_related("actor", "target").order_by("created_at", "pk")
        return "; ".join(_action_words(action) for action in actions) or "–"

    @admin.display(description="text")
    def short_text(self, obj: Report) -> str:
        return _short(obj.text)

    @admin.display(description="filed", ordering="created_at")
    def filed(self, obj: Report) -> str:
        filed = safe_localtime(obj.created_at)
        return f"{filed:%-d %b, %H:%M}" if filed.year == timezone.localdate().year else f"{filed:%-d %b %Y}"

    def _act(self, request: HttpRequest, queryset: QuerySet[Report], **decision) -> int:
        done, refused = reports_act(
            report_ids=list(queryset.values_list("pk", flat=True)), staff=request.user, **decision
        )
        for words in refused:
            self.message_user(request, words, messages.WARNING)
        said = DECISIONS[decision["decision"]]
        for report in done:
            if getattr(report, "repeated", False):
                continue  # sent twice: logged the first time
            # In the report's History and the admin's recent actions, beside the moderation actions.
            self.log_change(
                request,
                report,
                f"Moderation: {said}" + (f" ({report.reported_user})" if report.reported_user else ""),
            )
        return len(done)

    def get_urls(self):
        act = path("<int:report_id>/act/", self.admin_site.admin_view(self.act_view), name="mentoring_report_act")
        return [act, *super().get_urls()]

    def act_view(self, request: HttpRequest, report_id: int):
        """The report page's *Act on this report…*: the action's form for this one report."""
        if request.method != "GET" or not self.has_change_permission(request):
            raise PermissionDenied
        report = get_object_or_404(Report, pk=report_id)
        return self.act_on_reports(request, Report.objects.filter(pk=report.pk))

    @admin.action(
        description="Act on selected reports (warn, suspend, deactivate, hide feedback, resolve)…",
        permissions=["change"],
    )
    def act_on_reports(self, request: HttpRequest, queryset: QuerySet[Report]):
        """Asks what to do on an intermediate page, then does it for each selected report and resolves it.
        Acting on every report the list's filter matches ("select all") only resolves them: anything
        done to people is done to reports picked one by one."""
        form = ReportActionForm(request.POST if "apply" in request.POST else None)
        select_across = request.POST.get("select_across", "0") == "1"
        if form.is_bound and form.is_valid() and select_across and form.cleaned_data["decision"] != "resolve":
            form.add_error(
                None,
                "Only “Resolve only” applies to every report the list matches: tick the reports to act on one by one.",
            )
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            done = self._act(
                request,
                queryset,
                decision=data["decision"],
                days=data["days"],
                reason=data["reason"],
                note=data["note"],
            )
            if done:
                self.message_user(
                    request,
                    f"{DECISIONS[data['decision']]}: done for {done} report(s), now resolved.",
                    messages.SUCCESS,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Act on reports",
            "opts": self.model._meta,
            "reports": queryset.select_related("reporter", "reported_user", "session").order_by("created_at", "pk"),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
            "media": self.media,
        }
        return TemplateResponse(request, "admin/mentoring/report/act.html", context)

    @admin.action(description="Mark selected reports resolved (the reporters are told)", permissions=["change"])
    def resolve_reports(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        count = self._act(request, queryset, decision="resolve")
        self.message_user(request, f"Resolved {count} report(s).", messages.SUCCESS)


def _action_words(action: ModerationAction) -> str:
    who = action.actor.display_name if action.actor else "someone"
    # In the staff member's zone, as the admin shows every other time.
    words = f"{safe_localtime(action.created_at):%Y-%m-%d %H:%M} {who}: {action.get_kind_display().lower()}"
    if action.target and action.kind != ModerationAction.Kind.RESOLVE:
        words += f" {action.target.display_name}"
    if action.until:
        words += f" until {safe_localtime(action.until):%Y-%m-%d %H:%M %Z}"
    if action.detail:
        words += f" ({action.detail})"
    return words


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail: every moderation step, who took it, on whom, from which report."""

    list_display = ["created_at", "what", "target", "actor", "short_reason"]
    list_filter = ["kind", "created_at"]
    search_fields = ["reason", "detail", "actor__email", "actor__display_name", "target__email", "target__display_name"]
    list_select_related = ["actor", "target", "report"]
    date_hierarchy = "created_at"

    @admin.display(description="action", ordering="kind")
    def what(self, obj: ModerationAction) -> str:
        until = f" until {safe_localtime(obj.until):%Y-%m-%d %H:%M}" if obj.until else ""
        return f"{obj.get_kind_display()}{until}"

    @admin.display(description="reason")
    def short_reason(self, obj: ModerationAction) -> str:
        return _short(obj.reason, 40)


class SeriesOccurrenceInline(_ReadOnlyInline):
    model = Session
    fields = ["title", "starts_at", "duration_minutes", "booked_count", "capacity", "status"]
    readonly_fields = fields
    ordering = ["starts_at", "id"]
    show_change_link = True


@admin.register(SessionSeries)
class SessionSeriesAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A series is its occurrences: staff look here, and cancel dates from the sessions' own action."""

    list_display = ["__str__", "mentor", "frequency", "occurrence_count", "created_at"]
    list_filter = ["frequency"]
    search_fields = ["mentor__email", "mentor__display_name", "occurrences__title"]
    list_select_related = ["mentor"]
    date_hierarchy = "created_at"
    fields = ["mentor", "frequency", "created_at"]
    readonly_fields = fields
    inlines = [SeriesOccurrenceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SessionSeries]:
        return super().get_queryset(request).annotate(occurrence_count=Count("occurrences", distinct=True))

    @admin.display(description="dates", ordering="occurrence_count")
    def occurrence_count(self, obj: SessionSeries) -> int:
        return obj.occurrence_count


# --------------------------------------------------------------------------- plumbing
@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "kind", "short_text", "is_read", "created_at"]
    list_filter = ["kind", "is_read", "created_at"]
    search_fields = ["text", "user__email", "user__display_name"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    date_hierarchy = "created_at"

    @admin.display(description="text")
    def short_text(self, obj: Notification) -> str:
        return _short(obj.text, 80)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """The token is a secret; staff can revoke a feed (delete it) but not read the token."""

    list_display = ["user", "created_at"]
    search_fields = ["user__email", "user__display_name"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    fields = ["user", "created_at"]
    readonly_fields = ["user", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class WeeklyHoursInline(admin.TabularInline):
    model = WeeklyHours
    extra = 0
    fields = ["weekday", "start_minute", "end_minute"]


class DateOverrideInline(admin.TabularInline):
    model = DateOverride
    extra = 0
    fields = ["date", "start_minute", "end_minute"]


class AvailabilityAdminForm(forms.ModelForm):
    class Meta:
        model = Availability
        fields = [
            "mentor",
            "time_zone",
            "session_lengths",
            "buffer_before",
            "buffer_after",
            "min_notice",
            "max_days_ahead",
            "daily_cap",
            "weekly_cap",
            "auto_accept",
        ]

    def clean(self):
        cleaned = super().clean()
        try:
            availability_rules_check(
                time_zone=cleaned.get("time_zone"),
                session_lengths=cleaned.get("session_lengths"),
                daily_cap=cleaned.get("daily_cap"),
                weekly_cap=cleaned.get("weekly_cap"),
            )
        except MentoringError as error:
            raise forms.ValidationError(error.message) from None
        return cleaned


@admin.register(Availability)
class AvailabilityAdmin(admin.ModelAdmin):
    """A mentor's 1:1 rules (hours in minutes after local midnight: 540 is 09:00). Support can fix them;
    mentors edit theirs on their availability page."""

    form = AvailabilityAdminForm
    list_display = ["mentor", "time_zone", "session_lengths", "auto_accept", "updated_at"]
    list_filter = ["auto_accept"]
    search_fields = ["mentor__email", "mentor__display_name"]
    list_select_related = ["mentor"]
    autocomplete_fields = ["mentor"]
    readonly_fields = ["updated_at"]
    inlines = [WeeklyHoursInline, DateOverrideInline]
