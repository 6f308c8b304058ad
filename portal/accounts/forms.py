from __future__ import annotations

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms

from portal.validators import validate_one_line

from .models import User
from .timezones import timezone_choices


class TimeZoneField(forms.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("choices", timezone_choices)
        kwargs.setdefault("label", "Time zone")
        kwargs.setdefault("help_text", "Session times are shown in this zone.")
        kwargs.setdefault(
            "error_messages", {"invalid_choice": "Choose a time zone from the list, for example Europe/Berlin."}
        )
        super().__init__(**kwargs)


class SignupForm(AllauthSignupForm):
    """allauth's sign-up plus the fields PeerLearn needs; the adapter saves them through a service."""

    display_name = forms.CharField(
        label="Your name",
        max_length=80,
        validators=[validate_one_line],
        widget=forms.TextInput(attrs={"autocomplete": "name", "placeholder": "Ada Lovelace"}),
        error_messages={"required": "Tell us your name; mentors and learners see it."},
    )
    role = forms.ChoiceField(
        label="I want to",
        choices=[(User.Role.LEARNER, "Learn from mentors"), (User.Role.MENTOR, "Mentor learners")],
        initial=User.Role.LEARNER,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether you are joining to learn or to mentor."},
    )
    time_zone = TimeZoneField(initial="UTC", widget=forms.Select(attrs={"data-browser-timezone": "true"}))

    field_order = ["display_name", "email", "password1", "password2", "role", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "Email"
        self.fields["password1"].label = "Password"
        self.fields["password1"].help_text = "At least 10 characters, not a common password."
        if "password2" in self.fields:
            self.fields["password2"].label = "Repeat password"
        for name in ("email", "password1", "password2"):
            if name in self.fields:
                self.fields[name].widget.attrs.pop("placeholder", None)
        self.order_fields(self.field_order)

    def clean_display_name(self) -> str:
        name = self.cleaned_data["display_name"].strip()
        if not name:
            raise forms.ValidationError("Tell us your name; mentors and learners see it.")
        return name


class ProfileForm(forms.Form):
    display_name = forms.CharField(label="Your name", max_length=80, validators=[validate_one_line])
    time_zone = TimeZoneField()

    def clean_display_name(self) -> str:
        name = self.cleaned_data["display_name"].strip()
        if not name:
            raise forms.ValidationError("Your name cannot be empty.")
        return name
