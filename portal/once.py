"""One intent, one effect, one true message: a form sent twice is done once, and the repeat is
answered with the first one's outcome.

A state-changing form carries a one-time token (``{% once_field %}``, rendered afresh with each page),
and its view is wrapped by ``@once``. The first request with a token claims it (a row with a unique
key, in the same transaction as the view's work), does the work, and stores its outcome with the claim:
where it redirected and the messages it showed, or the JSON it answered. The same submission arriving
again (the same token, person, address and data: a double click, Enter twice, a retry on a slow link)
waits for the first to finish (the unique index on PostgreSQL, IMMEDIATE transactions on SQLite) and
gets that outcome: nothing is done twice, and the second answer tells the same truth as the first.

A submission refused with a form to correct (a page re-rendered, a 4xx) keeps no claim, so the
corrected form, sent with the same token, is a new attempt; so is the same form filled in differently.
Forms without a token (scripts, old pages) work as before; the services' own rules (one booking per
learner, no overlapping sessions) still hold for them.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.messages.storage.fallback import FallbackStorage
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone

FIELD = "once"
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
KEEP = timedelta(days=1)
REDIRECTS = (301, 302, 303)


class MessageStorage(FallbackStorage):
    """Django's default message storage, also remembering what this request added (``@once`` stores
    it with the outcome)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.added: list[list] = []

    def add(self, level, message, extra_tags="") -> None:
        super().add(level, message, extra_tags)
        if message and level >= self.level:
            self.added.append([level, str(message), extra_tags or ""])


def _key(request: HttpRequest, token: str) -> str:
    # Anonymous forms (sign-up, password reset) belong to the browser that got the page: its CSRF secret.
    owner = f"user:{request.user.pk}" if request.user.is_authenticated else f"browser:{request.META.get('CSRF_COOKIE', '')}"
    data = sorted((name, value) for name, values in request.POST.lists() for value in values if name != "csrfmiddlewaretoken")
    return hashlib.sha256(json.dumps([owner, request.path, token, data]).encode()).hexdigest()


def _finished(response: HttpResponse) -> bool:
    if response.status_code in REDIRECTS:
        return True
    return 200 <= response.status_code < 300 and response.get("Content-Type", "").startswith("application/json")


def _replay(request: HttpRequest, submission) -> HttpResponse:
    if submission.signed_in_user_id and not request.user.is_authenticated:
        _sign_in_again(request, submission.signed_in_user_id)
    # The first answer's messages, unless the browser kept that answer too and shows them already.
    storage = messages.get_messages(request)
    pending = {(message.level, message.message) for message in storage}
    storage.used = False  # looking is not showing: they stay for the next page
    for level, text, extra_tags in submission.messages:
        if (level, text) not in pending:
            messages.add_message(request, level, text, extra_tags=extra_tags)
    if submission.status in REDIRECTS:
        response = HttpResponseRedirect(submission.location)
        response.status_code = submission.status
        return response
    return HttpResponse(submission.body, status=submission.status, content_type="application/json")


def _sign_in_again(request: HttpRequest, user_id: int) -> None:
    """The first sign-up signed its browser in, but the browser dropped that answer for this one: this
    answer signs in too, when it carries the same password (it comes from the same page)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    password = request.POST.get("password1") or request.POST.get("password") or ""
    if user is not None and password and user.check_password(password):
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")


def once(view):
    """Do a POST with a one-time token once; answer its repeats with the first outcome."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        token = request.POST.get(FIELD, "") if request.method == "POST" else ""
        if not TOKEN_RE.fullmatch(token):
            return view(request, *args, **kwargs)
        from .models import FormSubmission

        key = _key(request, token)
        with transaction.atomic():
            earlier = FormSubmission.objects.filter(key=key).first()
            if earlier is not None:
                return _replay(request, earlier)
            try:
                with transaction.atomic():
                    claim = FormSubmission.objects.create(key=key)
            except IntegrityError:  # the same submission finished meanwhile (PostgreSQL waited for it)
                return _replay(request, FormSubmission.objects.get(key=key))
            was_signed_in = request.user.is_authenticated
            response = view(request, *args, **kwargs)
            if not _finished(response):
                claim.delete()
                return response
            claim.status = response.status_code
            claim.location = response.get("Location", "")[:2000]
            claim.body = "" if response.status_code in REDIRECTS else response.content.decode()
            storage = getattr(request, "_messages", None)
            claim.messages = list(getattr(storage, "added", []))
            if not was_signed_in and request.user.is_authenticated:
                claim.signed_in_user_id = request.user.pk
            claim.save()
        return response

    return wrapper


def form_submissions_forget(now=None) -> int:
    """Forget outcomes older than a day (the periodic job): no repeat comes that late."""
    from .models import FormSubmission

    deleted, _ = FormSubmission.objects.filter(created_at__lt=(now or timezone.now()) - KEEP).delete()
    return deleted
