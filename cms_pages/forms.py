"""The form pages' forms: the fields editors choose, plus spam checks that need no third party.

- a honeypot: a field people never see (hidden by CSS and from screen readers) that bots fill in;
- a minimum fill time: the form carries a signed "started at" time; a send within seconds is a bot's;
- a rate limit per client address (``REMOTE_ADDR``, the real client behind a trusted proxy).
The signed time also makes each shown form sendable once: a second send of it is thanked, not stored.
Long text is capped, so a huge field is a form error instead of a huge stored submission.
"""

from __future__ import annotations

import hashlib
import time

from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from wagtail.contrib.forms.forms import BaseForm, FormBuilder

HONEYPOT = "hp_website_url"
STARTED = "form_started"
_SALT = "cms_pages.forms.started"
MULTILINE_MAX = 5000


def form_started_token(at: float | None = None) -> str:
    """A signed "the form was shown at" time (seconds since the epoch)."""
    return signing.dumps(time.time() if at is None else at, salt=_SALT)


class SpamCheckedForm(BaseForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[HONEYPOT] = forms.CharField(
            required=False,
            label="Leave this field empty",
            widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
        )
        self.fields[STARTED] = forms.CharField(required=False, widget=forms.HiddenInput, initial=form_started_token)

    def clean(self):
        cleaned = super().clean()
        if cleaned.pop(HONEYPOT, ""):
            raise forms.ValidationError("Your message could not be sent.", code="honeypot")
        self.started_token = cleaned.pop(STARTED, "") or ""
        try:
            started = float(signing.loads(self.started_token, salt=_SALT, max_age=24 * 3600))
        except (signing.BadSignature, TypeError, ValueError):
            raise forms.ValidationError(
                "This form has expired. Please reload the page and send it again.", code="expired"
            ) from None
        if time.time() - started < settings.FORM_MIN_FILL_SECONDS:
            raise forms.ValidationError(
                "That was sent faster than anyone can type. Please check your message and send it again.",
                code="too_fast",
            )
        return cleaned


class SpamCheckedFormBuilder(FormBuilder):
    def create_multiline_field(self, field, options):
        options["max_length"] = MULTILINE_MAX
        return super().create_multiline_field(field, options)

    def get_form_class(self):
        return type("WagtailForm", (SpamCheckedForm,), self.formfields)


def _throttle_key(request, page) -> str:
    return f"formpage:{page.pk}:{request.META.get('REMOTE_ADDR', '')}"


def form_submission_refused(*, request, page) -> str | None:
    """Why this client may not send this form now (too many sends in the last hour), or ``None``."""
    if cache.get(_throttle_key(request, page), 0) >= settings.FORM_SUBMISSIONS_PER_HOUR:
        return "You have sent this form several times in the last hour. Please try again later."
    return None


def form_submission_claim(*, page, form) -> str | None:
    """Claim this shown form's one send: the cache key that holds the claim, or ``None`` when the same
    form (its signed "started at" token) was sent already: a double click, Enter twice, a resend after
    a slow answer. That send is answered with the thanks again and stored and mailed once."""
    digest = hashlib.sha256(form.started_token.encode()).hexdigest()[:32]
    key = f"formpage:{page.pk}:sent:{digest}"
    return key if cache.add(key, 1, 24 * 3600) else None


def form_submission_count(*, request, page) -> None:
    key = _throttle_key(request, page)
    if not cache.add(key, 1, 3600):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, 3600)
