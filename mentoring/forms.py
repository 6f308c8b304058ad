from __future__ import annotations

import re
from datetime import datetime

from django import forms
from django.utils import timezone

from portal.accounts.forms import TimeZoneField
from portal.dates import safe_localtime
from portal.validators import normalize_newlines, validate_multi_line, validate_one_line

from .models import Feedback, Language, Report, Session, SessionSeries, Skill
from .selectors import mentor_languages_in_use
from .services import MentoringError
from .services.sessions import SESSION_WINDOW_TEXT, session_start_check

DURATION_CHOICES = [
    (m, f"{m} minutes" if m < 60 else f"{m // 60} h {m % 60:02d} min".replace(" 00 min", ""))
    for m in (15, 30, 45, 60, 90, 120, 180, 240)
]
CAPACITY_CHOICES = [(1, "1 learner (one-to-one)")] + [
    (n, f"{n} learners (group)") for n in range(2, Session.MAX_CAPACITY + 1)
]


class SkillsField(forms.ModelMultipleChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Skill.objects.all())
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(**kwargs)


class OneLineField(forms.CharField):
    """A title, a name, a headline: one line of text, control characters refused."""

    default_validators = [validate_one_line]


class MultiLineField(forms.CharField):
    """A description, a bio: newlines (stored as LF) and tabs allowed, other control characters refused."""

    default_validators = [validate_multi_line]

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.Textarea)
        super().__init__(**kwargs)

    def to_python(self, value):
        return normalize_newlines(super().to_python(value))


class LocalDateTimeField(forms.DateTimeField):
    """A datetime shown in the viewer's zone; a stored instant that cannot be shown there (near the
    years 1 or 9999) is shown in UTC instead of breaking the form."""

    def prepare_value(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return safe_localtime(value).replace(tzinfo=None)
        return super().prepare_value(value)


class SessionForm(forms.Form):
    title = OneLineField(
        max_length=120, widget=forms.TextInput(attrs={"placeholder": "Code review of your first Django app"})
    )
    description = MultiLineField(
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What will you cover, and what should learners prepare?",
    )
    skills = SkillsField()
    course = forms.ModelChoiceField(
        queryset=Session.course.field.related_model.objects.none(),
        required=False,
        empty_label="No course",
        help_text="The session is offered on that course's page, and its page links to the course.",
    )
    starts_at = LocalDateTimeField(
        label="Starts",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        error_messages={"invalid": "Enter a date and time, for example 2026-12-01 18:30."},
    )
    duration_minutes = forms.TypedChoiceField(label="Duration", choices=DURATION_CHOICES, coerce=int, initial=60)
    capacity = forms.TypedChoiceField(label="Seats", choices=CAPACITY_CHOICES, coerce=int, initial=1)

    def __init__(self, *args, time_zone: str = "UTC", current_course_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].help_text = f"In your time zone, {time_zone}; {SESSION_WINDOW_TEXT}."
        # Published public courses, plus the one the session already has (an editor may have
        # unpublished or restricted it since; the session page then stops showing the link).
        courses = Session.course.field.related_model.objects
        offered = courses.live().public()
        self.fields["course"].queryset = (
            offered | courses.filter(pk=current_course_id) if current_course_id else offered
        ).order_by("title")

    def clean_starts_at(self) -> datetime:
        starts_at = self.cleaned_data["starts_at"]
        try:
            session_start_check(starts_at=starts_at)
        except MentoringError as error:
            raise forms.ValidationError(error.message, code=error.code) from None
        return starts_at

    @staticmethod
    def initial_from(session: Session) -> dict:
        return {
            "title": session.title,
            "description": session.description,
            "skills": list(session.skills.all()),
            "course": session.course_id,
            "starts_at": session.starts_at,
            "duration_minutes": session.duration_minutes,
            "capacity": session.capacity,
        }


class SessionCreateForm(SessionForm):
    """The session form with "Repeat": one session, or a weekly or fortnightly series of them."""

    repeat = forms.ChoiceField(
        label="Repeat", choices=[("", "Does not repeat"), *SessionSeries.Frequency.choices], required=False
    )
    occurrences = forms.IntegerField(
        label="Number of dates",
        required=False,
        min_value=2,
        max_value=SessionSeries.MAX_OCCURRENCES,
        help_text=f"For a series: how many dates, 2 to {SessionSeries.MAX_OCCURRENCES}; or give an end date instead.",
        error_messages={
            "invalid": "Enter a whole number of dates, for example 6.",
            "min_value": "A series has at least 2 dates.",
            "max_value": f"A series has at most {SessionSeries.MAX_OCCURRENCES} dates.",
        },
    )
    until = forms.DateField(
        label="Until",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        help_text="For a series: the last day it may fall on, in your time zone.",
        error_messages={"invalid": "Enter a date, for example 2026-12-01."},
    )

    def clean(self):
        data = super().clean()
        occurrences, until = data.get("occurrences"), data.get("until")
        if self.has_error("occurrences") or self.has_error("until"):
            return data
        if data.get("repeat"):
            if occurrences is None and until is None:
                self.add_error("occurrences", "Say how many dates, or give an end date.")
            elif occurrences is not None and until is not None:
                self.add_error("until", "Give the number of dates or an end date, not both.")
        elif occurrences is not None or until is not None:
            self.add_error(
                "repeat", "Choose how often the session repeats, or leave the number of dates and the end date empty."
            )
        return data

    def pop_repeat(self) -> dict | None:
        """Take the repeat fields out of ``cleaned_data`` (leaving the session's own fields): the series
        asked for, as ``series_create`` arguments, or None for a single session."""
        data = self.cleaned_data
        frequency = data.pop("repeat", "")
        occurrences, until = data.pop("occurrences", None), data.pop("until", None)
        return {"frequency": frequency, "occurrences": occurrences, "until": until} if frequency else None


class SeriesOccurrenceForm(SessionForm):
    """The edit form of a session in a series: the changes apply to this date, or to it and every later one."""

    scope = forms.ChoiceField(
        label="Apply the changes to",
        widget=forms.RadioSelect,
        initial="this",
        choices=(),
        help_text="For all future sessions, a new start time or length moves each date the same way, in your time zone.",
    )

    def __init__(self, *args, later_count: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = [
            ("this", "This session only"),
            ("future", f"This and all future sessions of the series ({later_count} dates)"),
        ]

    def pop_scope(self) -> str:
        """Take the scope out of ``cleaned_data``: "this" or "future"."""
        return self.cleaned_data.pop("scope", "this")


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[(n, "★" * n) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a rating from 1 to 5.", "invalid_choice": "Choose a rating from 1 to 5."},
    )
    comment = MultiLineField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 4}))

    @staticmethod
    def initial_from(feedback: Feedback | None) -> dict:
        return {"rating": feedback.rating, "comment": feedback.comment} if feedback else {}


class ReportForm(forms.Form):
    reason = forms.ChoiceField(choices=Report.Reason.choices)
    reported_user = forms.TypedChoiceField(
        label="About a person (optional)", required=False, coerce=int, empty_value=None
    )
    text = MultiLineField(label="What happened?", max_length=4000, widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, people: list | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if people:
            self.fields["reported_user"].choices = [("", "The session in general")] + [
                (p.pk, p.display_name) for p in people
            ]
        else:
            del self.fields["reported_user"]


class MentorProfileForm(forms.Form):
    headline = OneLineField(
        max_length=120, required=False, help_text="One line, e.g. “Senior backend engineer, Django since 2012”."
    )
    bio = MultiLineField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 6}))
    skills = SkillsField()
    languages = forms.ModelMultipleChoiceField(
        queryset=Language.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    years_experience = forms.IntegerField(label="Years of experience", min_value=0, max_value=70, initial=0)
    accepting_bookings = forms.BooleanField(label="I am accepting new bookings", required=False, initial=True)


class LearnerProfileForm(forms.Form):
    interests = SkillsField(help_text="We use these to suggest sessions.")
    goals = MultiLineField(
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What do you want to get better at?",
    )


class LanguageCountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Language) -> str:
        count = getattr(obj, "mentor_count", None)
        return str(obj) if count is None else f"{obj} ({count})"


class DirectoryFilterForm(forms.Form):
    """The mentor directory's filters. The language list offers only languages that listed mentors
    speak, with how many of them do."""

    label_suffix = ""
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": "Name, skill or topic"}),
    )
    skill = forms.ModelChoiceField(
        queryset=Skill.objects.all(), required=False, to_field_name="slug", empty_label="Any skill"
    )
    language = LanguageCountChoiceField(
        queryset=Language.objects.none(), required=False, to_field_name="code", empty_label="Any language"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].queryset = mentor_languages_in_use()


class SessionFilterForm(forms.Form):
    label_suffix = ""
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": "Title, topic or mentor"}),
    )
    skill = forms.ModelChoiceField(
        queryset=Skill.objects.all(), required=False, to_field_name="slug", empty_label="Any skill"
    )


# --------------------------------------------------------------------------- availability (1:1 requests)
AVAILABILITY_LENGTHS = (15, 30, 45, 60, 90, 120)
WEEKDAY_FIELDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2})")
_INTERVAL_RE = re.compile(r"(\S+?)\s*(?:-|–|—|\bto\b)\s*(\S+)")
HOURS_HELP = "Like 09:00-12:00, 13:00-17:30 (24-hour clock). Empty: not available."


def _clock_minute(text: str, *, label: str, end: bool) -> int:
    shown = text[:12]
    match = _CLOCK_RE.fullmatch(text)
    if not match:
        raise forms.ValidationError(f"{label}: “{shown}” is not a time. Write times like 09:00 or 17:30.")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise forms.ValidationError(f"{label}: “{shown}” is not a time of day (00:00 to 24:00).")
    return hours * 60 + minutes


def parse_hours(text: str, *, label: str) -> list[tuple[int, int]]:
    """ "09:00-12:00, 13:00-17:30" as minutes after midnight, sorted; empty text is no hours. ``label``
    (a weekday, a date) starts each message."""
    parts = [part.strip() for part in re.split(r"[,;]", text or "") if part.strip()]
    if len(parts) > 24:
        raise forms.ValidationError(f"{label}: at most 24 intervals a day.")
    intervals = []
    for part in parts:
        match = _INTERVAL_RE.fullmatch(part)
        if not match:
            raise forms.ValidationError(f"{label}: write each interval like 09:00-12:00 (not “{part[:25]}”).")
        start = _clock_minute(match[1], label=label, end=False)
        end = _clock_minute(match[2], label=label, end=True)
        if start >= end:
            raise forms.ValidationError(f"{label}: {match[1]}-{match[2]} ends before it starts.")
        intervals.append((start, end))
    intervals.sort()
    for (a_start, a_end), (b_start, b_end) in zip(intervals, intervals[1:], strict=False):
        if b_start < a_end:
            raise forms.ValidationError(
                f"{label}: {a_start // 60:02d}:{a_start % 60:02d}-{a_end // 60:02d}:{a_end % 60:02d} overlaps "
                f"{b_start // 60:02d}:{b_start % 60:02d}-{b_end // 60:02d}:{b_end % 60:02d}."
            )
    return intervals


def format_hours(intervals) -> str:
    return ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in intervals)


class HoursField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("help_text", "")
        kwargs.setdefault("validators", [validate_one_line])
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "09:00-12:00, 13:00-17:00"}))
        super().__init__(**kwargs)

    def clean(self, value):
        return parse_hours(super().clean(value), label=str(self.label))


class AvailabilityForm(forms.Form):
    """The mentor's rules for 1:1 requests; ``rules()`` gives ``availability_update``'s arguments."""

    time_zone = TimeZoneField(label="Time zone of these hours", help_text="Your hours are in this zone.")
    monday = HoursField(label="Monday", help_text=HOURS_HELP)
    tuesday = HoursField(label="Tuesday")
    wednesday = HoursField(label="Wednesday")
    thursday = HoursField(label="Thursday")
    friday = HoursField(label="Friday")
    saturday = HoursField(label="Saturday")
    sunday = HoursField(label="Sunday")
    session_lengths = forms.TypedMultipleChoiceField(
        label="Session lengths offered",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None: learners cannot request a 1:1 session.",
        error_messages={"invalid_choice": "Choose session lengths from the list."},
    )
    buffer_before = forms.IntegerField(
        label="Free minutes before each session", min_value=0, max_value=120, initial=0, help_text="0 to 120."
    )
    buffer_after = forms.IntegerField(
        label="Free minutes after each session", min_value=0, max_value=120, initial=0, help_text="0 to 120."
    )
    min_notice_hours = forms.IntegerField(
        label="Minimum notice (hours)",
        min_value=0,
        max_value=14 * 24,
        initial=4,
        help_text="No request can start sooner than this. Up to 336 hours (14 days).",
    )
    max_days_ahead = forms.IntegerField(
        label="How far ahead (days)", min_value=1, max_value=365, initial=60, help_text="1 to 365 days."
    )
    daily_cap = forms.IntegerField(
        label="At most this many sessions a day",
        min_value=1,
        max_value=50,
        required=False,
        help_text="Empty: no limit.",
    )
    weekly_cap = forms.IntegerField(
        label="At most this many sessions a week",
        min_value=1,
        max_value=50,
        required=False,
        help_text="Monday to Sunday. Empty: no limit.",
    )
    auto_accept = forms.BooleanField(label="Accept requests for free slots automatically", required=False, help_text="")

    def __init__(self, *args, extra_lengths=(), **kwargs):
        super().__init__(*args, **kwargs)
        lengths = sorted({*AVAILABILITY_LENGTHS, *(x for x in extra_lengths if isinstance(x, int))})
        self.fields["session_lengths"].choices = [(m, f"{m} min") for m in lengths]

    def clean(self):
        cleaned = super().clean()
        daily, weekly = cleaned.get("daily_cap"), cleaned.get("weekly_cap")
        if daily and weekly and weekly < daily:
            self.add_error("weekly_cap", "The weekly limit cannot be lower than the daily limit.")
        return cleaned

    @classmethod
    def initial_from(cls, availability, *, time_zone: str) -> dict:
        if availability is None:
            return {"time_zone": time_zone, "session_lengths": [30, 60], "buffer_before": 10, "buffer_after": 10}
        hours: dict[int, list] = {}
        for row in availability.weekly_hours.all():
            hours.setdefault(row.weekday, []).append((row.start_minute, row.end_minute))
        return {
            "time_zone": availability.time_zone,
            **{name: format_hours(sorted(hours.get(day, []))) for day, name in enumerate(WEEKDAY_FIELDS)},
            "session_lengths": availability.session_lengths,
            "buffer_before": availability.buffer_before,
            "buffer_after": availability.buffer_after,
            "min_notice_hours": availability.min_notice // 60,
            "max_days_ahead": availability.max_days_ahead,
            "daily_cap": availability.daily_cap,
            "weekly_cap": availability.weekly_cap,
            "auto_accept": availability.auto_accept,
        }

    def rules(self) -> dict:
        data = self.cleaned_data
        return {
            "time_zone": data["time_zone"],
            "session_lengths": data["session_lengths"],
            "buffer_before": data["buffer_before"],
            "buffer_after": data["buffer_after"],
            "min_notice": data["min_notice_hours"] * 60,
            "max_days_ahead": data["max_days_ahead"],
            "daily_cap": data["daily_cap"],
            "weekly_cap": data["weekly_cap"],
            "auto_accept": data["auto_accept"],
            "weekly_hours": {day: data[name] for day, name in enumerate(WEEKDAY_FIELDS)},
        }


class DateOverrideForm(forms.Form):
    date = forms.DateField(
        label="Date",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date like 2027-01-31."},
    )
    hours = HoursField(label="Hours that day", help_text="Like 10:00-12:00. Empty: a day off.")


class DateOverrideRemoveForm(forms.Form):
    date = forms.DateField()
