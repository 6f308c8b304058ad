from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils import timezone

from portal.dates import safe_localtime
from portal.validators import normalize_newlines, validate_multi_line, validate_one_line

from .models import Feedback, Language, Report, Session, Skill
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
