from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Func, Q

from .db import PortableExclusionConstraint


class Skill(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Language(models.Model):
    code = models.CharField(max_length=8, unique=True, help_text="ISO 639-1 code, e.g. en")
    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MentorProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentor_profile")
    headline = models.CharField(max_length=120, blank=True)
    bio = models.TextField(max_length=4000, blank=True)
    skills = models.ManyToManyField(Skill, blank=True, related_name="mentors")
    languages = models.ManyToManyField(Language, blank=True, related_name="mentors")
    years_experience = models.PositiveSmallIntegerField(default=0)
    accepting_bookings = models.BooleanField("accepting bookings", default=True)

    class Review(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved"
        CHANGES = "changes", "Changes requested"

    review_status = models.CharField(
        max_length=10,
        choices=Review.choices,
        default=Review.PENDING,
        db_index=True,
        help_text="Staff review a new mentor's profile before it is listed or bookable.",
    )
    review_message = models.TextField(
        max_length=2000, blank=True, help_text="What staff told the mentor with the last review."
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(years_experience__lte=70), name="mentor_years_experience_sane"),
        ]

    def __str__(self) -> str:
        return f"Mentor profile of {self.user}"


class LearnerProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learner_profile")
    interests = models.ManyToManyField(Skill, blank=True, related_name="interested_learners")
    goals = models.TextField(max_length=1000, blank=True)

    def __str__(self) -> str:
        return f"Learner profile of {self.user}"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()


class Session(models.Model):
    """A mentoring session a mentor offers; learners book its seats."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"

    MIN_DURATION, MAX_DURATION = 15, 240
    MAX_CAPACITY = 6

    mentor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentored_sessions")
    title = models.CharField(max_length=120)
    description = models.TextField(max_length=4000, blank=True)
    skills = models.ManyToManyField(Skill, blank=True, related_name="sessions")
    course = models.ForeignKey(
        "cms_pages.CoursePage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions",
        help_text="Optional course page this session belongs to.",
    )
    starts_at = models.DateTimeField(db_index=True)
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    ends_at = models.DateTimeField(editable=False)
    capacity = models.PositiveSmallIntegerField(default=1)
    private = models.BooleanField(
        default=False,
        help_text="A one-to-one session made from a learner's request: not listed, not bookable by others.",
    )
    series = models.ForeignKey(
        "SessionSeries", null=True, blank=True, on_delete=models.SET_NULL, related_name="occurrences"
    )
    ics_sequence = models.PositiveIntegerField(
        default=0, editable=False, help_text="iCalendar SEQUENCE: raised by every change a calendar must follow."
    )
    booked_count = models.PositiveSmallIntegerField(default=0, editable=False)
    room_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_late = models.BooleanField(
        default=False, help_text="Cancelled by the mentor within the late-cancellation notice."
    )

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=15, duration_minutes__lte=240), name="session_duration_15_240"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1, capacity__lte=6), name="session_capacity_1_6"),
            models.CheckConstraint(condition=Q(booked_count__lte=F("capacity")), name="session_not_overbooked"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"),
            PortableExclusionConstraint(
                name="session_mentor_no_overlap",
                expressions=[
                    ("mentor", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status="scheduled"),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.booked_count, 0)

    @property
    def is_full(self) -> bool:
        return self.booked_count >= self.capacity


class Booking(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Booked"
        CANCELLED = "cancelled", "Cancelled"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="bookings")
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookings")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    promoted_from_waitlist = models.BooleanField(default=False)
    cancelled_late = models.BooleanField(
        default=False, help_text="Cancelled by the learner within the late-cancellation notice."
    )
    reminded_24h_at = models.DateTimeField(null=True, blank=True)
    reminded_15m_at = models.DateTimeField(null=True, blank=True)
    no_show = models.BooleanField(
        default=False, help_text="Set after the session if the learner never joined the call."
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "learner"], condition=Q(status="active"), name="booking_one_active_per_learner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} → {self.session}"


class WaitlistEntry(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        PROMOTED = "promoted", "Booked from the waitlist"
        LEFT = "left", "Left the waitlist"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="waitlist")
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "learner"], condition=Q(status="waiting"), name="waitlist_one_waiting_per_learner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} waiting for {self.session}"


class Feedback(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="feedback")
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feedback_given")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(max_length=2000, blank=True)
    hidden = models.BooleanField(default=False, help_text="Hidden by a moderator")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "feedback"
        constraints = [
            models.UniqueConstraint(fields=["session", "learner"], name="feedback_once_per_learner"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.session}"


class Report(models.Model):
    class Reason(models.TextChoices):
        NO_SHOW = "no_show", "Did not show up"
        BEHAVIOUR = "behaviour", "Inappropriate behaviour"
        SPAM = "spam", "Spam or advertising"
        TECHNICAL = "technical", "Technical problem"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    reported_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports_received"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    text = models.TextField(max_length=4000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    context = models.JSONField(
        default=dict, blank=True, help_text="What was attached, e.g. the call's participants at the time."
    )
    resolution_note = models.TextField(
        "note to the reporter", max_length=1000, blank=True, help_text="Sent to the reporter when it was resolved."
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.get_status_display()})"


class Notification(models.Model):
    class Kind(models.TextChoices):
        BOOKING_MADE = "booking_made", "New booking"
        BOOKING_CANCELLED = "booking_cancelled", "Booking cancelled"
        SESSION_CHANGED = "session_changed", "Session changed"
        SESSION_CANCELLED = "session_cancelled", "Session cancelled"
        WAITLIST_PROMOTED = "waitlist_promoted", "Booked from the waitlist"
        REMINDER = "reminder", "Reminder"
        BOOKING_CONFIRMED = "booking_confirmed", "Booking confirmed"
        REQUEST_RECEIVED = "request_received", "New session request"
        REQUEST_SENT = "request_sent", "Request sent"
        REQUEST_ACCEPTED = "request_accepted", "Request accepted"
        REQUEST_DECLINED = "request_declined", "Request declined"
        REQUEST_EXPIRED = "request_expired", "Request expired"
        REQUEST_WITHDRAWN = "request_withdrawn", "Request withdrawn"
        RESCHEDULE_PROPOSED = "reschedule_proposed", "New time proposed"
        RESCHEDULE_ACCEPTED = "reschedule_accepted", "New time accepted"
        RESCHEDULE_DECLINED = "reschedule_declined", "New time declined"
        RESCHEDULE_WITHDRAWN = "reschedule_withdrawn", "New time withdrawn"
        PROFILE_REVIEWED = "profile_reviewed", "Profile reviewed"
        PROFILE_SUBMITTED = "profile_submitted", "Mentor profile to review"
        REPORT_FILED = "report_filed", "New report to moderate"
        REPORT_RESOLVED = "report_resolved", "Your report was handled"
        MODERATION = "moderation", "From the moderators"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    text = models.CharField(max_length=300)
    link = models.CharField(max_length=300, blank=True)
    is_read = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "is_read"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.text


class ModerationAction(models.Model):
    """The audit trail of moderation: who did what to whom, why, and from which report. Written by
    ``mentoring.services.moderation`` only; kept when the people or the report are gone."""

    class Kind(models.TextChoices):
        RESOLVE = "resolve", "Resolved the report"
        HIDE_FEEDBACK = "hide_feedback", "Hid feedback"
        WARN = "warn", "Warned"
        SUSPEND = "suspend", "Suspended"
        LIFT = "lift", "Lifted a suspension"
        DEACTIVATE = "deactivate", "Deactivated"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="moderation_actions_taken"
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderation_actions_received",
    )
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    reason = models.TextField(max_length=1000, blank=True, help_text="What the person was told, if anything.")
    until = models.DateTimeField(null=True, blank=True, help_text="The end of a suspension.")
    detail = models.CharField(max_length=300, blank=True, help_text="What else it changed.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})" if self.created_at else self.kind


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


class CalendarFeed(models.Model):
    """The secret token behind a user's subscribable iCal feed."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True, default=new_calendar_token)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"


class CallAttendance(models.Model):
    """One presence of a participant in a session's call room: joined, and (once gone) left.

    A page that reconnects (server restart, network change) keeps its ``peer_id`` and resumes the
    open row instead of adding a second one; ``connection`` names the socket that holds it now.
    ``last_seen`` moves while the participant's socket is alive, so a presence whose server died
    is ended by the others after the presence timeout.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="call_attendance")
    peer_id = models.CharField(max_length=16)
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    connection = models.CharField(
        max_length=120, blank=True, help_text="Channel name of the socket holding this presence."
    )
    reconnects = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["joined_at", "id"]
        verbose_name_plural = "call attendance"
        indexes = [models.Index(fields=["session", "left_at"], name="attendance_session_present")]
        constraints = [
            models.UniqueConstraint(
                fields=["peer_id"], condition=Q(left_at__isnull=True), name="one_open_presence_per_peer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.session}"


class CallQuality(models.Model):
    """What a participant's browser measured during one session's call, summed over its reports."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="call_quality")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="call_quality")
    samples = models.PositiveIntegerField(default=0)
    rtt_samples = models.PositiveIntegerField(default=0)
    rtt_ms_total = models.FloatField(default=0)
    rtt_ms_max = models.FloatField(null=True, blank=True)
    loss_samples = models.PositiveIntegerField(default=0)
    loss_pct_total = models.FloatField(default=0)
    loss_pct_max = models.FloatField(null=True, blank=True)
    in_kbps_total = models.FloatField(default=0)
    out_kbps_total = models.FloatField(default=0)
    candidate_types = models.CharField(
        max_length=60, blank=True, help_text="Local/remote candidate types seen, e.g. host/host, relay/srflx."
    )
    protocols = models.CharField(max_length=20, blank=True)
    ice_restarts = models.PositiveIntegerField(default=0)
    reconnects = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        ordering = ["session", "user"]
        verbose_name_plural = "call quality"
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="one_quality_record_per_participant")]

    def __str__(self) -> str:
        return f"{self.user} in {self.session}"

    @property
    def rtt_ms_avg(self) -> float | None:
        return self.rtt_ms_total / self.rtt_samples if self.rtt_samples else None

    @property
    def loss_pct_avg(self) -> float | None:
        return self.loss_pct_total / self.loss_samples if self.loss_samples else None

    @property
    def in_kbps_avg(self) -> float | None:
        return self.in_kbps_total / self.samples if self.samples else None

    @property
    def out_kbps_avg(self) -> float | None:
        return self.out_kbps_total / self.samples if self.samples else None


class NotInterested(models.Model):
    """A learner's "Not interested" on a recommended session or mentor: hidden from their
    recommendations, and a negative signal for the next training."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="not_interested")
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "not interested"
        constraints = [
            models.CheckConstraint(
                condition=Q(session__isnull=False, mentor__isnull=True) | Q(session__isnull=True, mentor__isnull=False),
                name="not_interested_in_one_thing",
            ),
            models.UniqueConstraint(
                fields=["user", "session"], condition=Q(session__isnull=False), name="not_interested_once_per_session"
            ),
            models.UniqueConstraint(
                fields=["user", "mentor"], condition=Q(mentor__isnull=False), name="not_interested_once_per_mentor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} not interested in {self.session or self.mentor}"


class Availability(models.Model):
    """A mentor's booking rules for one-to-one sessions, in the mentor's own time zone. Stored as
    rules (:class:`WeeklyHours`, :class:`DateOverride`); free slots are computed on read
    (:mod:`mentoring.services.availability`)."""

    MAX_BUFFER = 120  # minutes
    MAX_NOTICE = 14 * 24 * 60  # minutes
    MAX_AHEAD_DAYS = 365

    mentor = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA zone the hours are in.")
    session_lengths = models.JSONField(
        default=list, blank=True, help_text="Lengths offered, in minutes, e.g. [30, 60]. Empty: no 1:1 requests."
    )
    buffer_before = models.PositiveSmallIntegerField(default=0, help_text="Minutes kept free before a session.")
    buffer_after = models.PositiveSmallIntegerField(default=0, help_text="Minutes kept free after a session.")
    min_notice = models.PositiveIntegerField(default=240, help_text="Minutes: no slot starts sooner than this.")
    max_days_ahead = models.PositiveSmallIntegerField(default=60, help_text="Days: no slot further ahead.")
    daily_cap = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="At most this many sessions a day (mentor's zone); empty: no cap."
    )
    weekly_cap = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="At most this many sessions a week (Monday to Sunday); empty: no cap."
    )
    auto_accept = models.BooleanField(
        default=False, help_text="Accept requests for free slots at once, without a confirmation."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "availability"
        constraints = [
            models.CheckConstraint(
                condition=Q(buffer_before__lte=120, buffer_after__lte=120), name="availability_buffers_sane"
            ),
            models.CheckConstraint(condition=Q(min_notice__lte=14 * 24 * 60), name="availability_notice_sane"),
            models.CheckConstraint(
                condition=Q(max_days_ahead__gte=1, max_days_ahead__lte=365), name="availability_ahead_sane"
            ),
        ]

    def __str__(self) -> str:
        return f"Availability of {self.mentor}"


class WeeklyHours(models.Model):
    """One interval of a weekday's bookable hours, in minutes after local midnight."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    availability = models.ForeignKey(Availability, on_delete=models.CASCADE, related_name="weekly_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_minute = models.PositiveSmallIntegerField()
    end_minute = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["weekday", "start_minute"]
        verbose_name_plural = "weekly hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="weekly_hours_weekday_valid"),
            models.CheckConstraint(
                condition=Q(start_minute__lt=F("end_minute"), end_minute__lte=1440), name="weekly_hours_interval_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_minute // 60:02d}:{self.start_minute % 60:02d}"


class DateOverride(models.Model):
    """Hours for one date that replace the weekday's: rows with no minutes make a day off; rows with
    minutes give that date's hours (extra hours on a day otherwise off, or different ones)."""

    availability = models.ForeignKey(Availability, on_delete=models.CASCADE, related_name="date_overrides")
    date = models.DateField()
    start_minute = models.PositiveSmallIntegerField(null=True, blank=True)
    end_minute = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["date", "start_minute"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_minute__isnull=True, end_minute__isnull=True)
                | Q(start_minute__lt=F("end_minute"), end_minute__lte=1440),
                name="date_override_interval_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} override"


class SessionRequest(models.Model):
    """A learner asks a mentor for a one-to-one session in a free slot. While pending it holds the
    slot (PostgreSQL's exclusion constraint makes that exact); accepted, it becomes a private session."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the mentor"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"

    mentor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="requests_received")
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="requests_made")
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField()
    ends_at = models.DateTimeField()
    agenda = models.TextField(max_length=1000, help_text="What the learner wants to work on.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    response = models.TextField(max_length=1000, blank=True, help_text="The mentor's message with a decline.")
    session = models.OneToOneField(Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="request")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="request_ends_after_start"),
            models.UniqueConstraint(
                fields=["mentor", "learner"], condition=Q(status="pending"), name="request_one_pending_per_pair"
            ),
            PortableExclusionConstraint(
                name="request_pending_no_overlap",
                expressions=[
                    ("mentor", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} asks {self.mentor} ({self.get_status_display()})"


class RescheduleProposal(models.Model):
    """One side of a one-to-one session proposes a new time; the other accepts or declines."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an answer"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="reschedule_proposals")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    message = models.TextField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="reschedule_ends_after_start"),
            models.UniqueConstraint(
                fields=["session"], condition=Q(status="pending"), name="reschedule_one_pending_per_session"
            ),
        ]

    def __str__(self) -> str:
        return f"New time for {self.session} ({self.get_status_display()})"


class SessionSeries(models.Model):
    """A recurring group session: weekly or fortnightly occurrences, each an ordinary :class:`Session`."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Every week"
        FORTNIGHTLY = "fortnightly", "Every two weeks"

    MAX_OCCURRENCES = 52

    mentor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_series")
    frequency = models.CharField(max_length=12, choices=Frequency.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "session series"

    def __str__(self) -> str:
        return f"{self.get_frequency_display()} series of {self.mentor}"
