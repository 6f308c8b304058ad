"""One intent, one effect, one true message: a form sent twice is done once, and the repeat is
answered with the first one's outcome.

A state-changing form carries a one-time token (``{% once_field %}``, rendered afresh with each page),
and its view is wrapped by ``@once``. The first request with a token claims it (a row with a unique
key, committed at once), does the work (in the view's own transactions: a claim never holds the
database while an email is sent), and stores its outcome with the claim: where it redirected and the
messages it showed, or the JSON it answered. The same submission arriving again (the same token,
person, address and data: a double click, Enter twice, a retry on a slow link) finds the claim, waits
for the outcome and answers with it: nothing is done twice, and the second answer tells the same truth
as the first.

A submission refused with a form to correct (a page re-rendered, a 4xx) keeps no claim, so the
corrected form, sent with the same token, is a new attempt; so is the same form filled in differently.
Forms without a token (scripts, old pages) work as before; the services' own rules (one booking per
learner, no overlapping sessions) still hold for them.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage.fallback import FallbackStorage
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone

FIELD = "once"
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
KEEP = timedelta(days=1)
REDIRECTS = (301, 302, 303)
LOCATION_MAX = 2000
PATIENCE = 30.0  # seconds a repeat waits for the first submission's outcome
SIGN_IN_AGAIN_WITHIN = timedelta(minutes=2)


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
    owner = (
        f"user:{request.user.pk}" if request.user.is_authenticated else f"browser:{request.META.get('CSRF_COOKIE', '')}"
    )
    data = sorted(
        (name, value) for name, values in request.POST.lists() for value in values if name != "csrfmiddlewaretoken"
    )
    return hashlib.sha256(json.dumps([owner, request.path, token, data]).encode()).hexdigest()


def _finished(response: HttpResponse) -> bool:
    if response.status_code in REDIRECTS:
        return True
    return 200 <= response.status_code < 300 and response.get("Content-Type", "").startswith("application/json")


def _replay(request: HttpRequest, submission) -> HttpResponse:
    if submission.signed_in_user_id and not request.user.is_authenticated and not _sign_in_again(request, submission):
        # The first answer signed a browser in; this one may not: it says so instead of "signed in".
        messages.info(request, "This form was sent already. Sign in to continue.")
        return redirect_to_login(submission.location or "/")
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


def _sign_in_again(request: HttpRequest, submission) -> bool:
    """The first sign-up signed its browser in, but the browser dropped that answer for this one: this
    answer signs in too, once, within moments of the first, with the same password, and never for an
    account that has two-factor authentication (that takes allauth's own login)."""
    from allauth.mfa.models import Authenticator

    from .models import FormSubmission

    if timezone.now() - submission.created_at > SIGN_IN_AGAIN_WITHIN:
        return False
    # One browser, one repeat: claimed here so a third copy of the request signs in nothing.
    if not FormSubmission.objects.filter(pk=submission.pk, signed_in_again=False).update(signed_in_again=True):
        return False
    user = get_user_model().objects.filter(pk=submission.signed_in_user_id, is_active=True).first()
    password = request.POST.get("password1") or request.POST.get("password") or ""
    if (
        user is None
        or not password
        or Authenticator.objects.filter(user=user).exists()
        or not user.check_password(password)
    ):
        return False
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return True


def _claim(key: str):
    """Claim ``key`` for this request (returns ``(claim, None)``), or wait for the request that holds it
    to finish and return ``(None, its outcome)``. ``(None, None)``: the holder never finished in
    ``PATIENCE`` (its process died?), so this request does the work unclaimed."""
    from .models import FormSubmission

    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            with transaction.atomic():  # short: the view's own work runs outside, in its own transactions
                return FormSubmission.objects.create(key=key), None
        except IntegrityError:
            pass
        earlier = FormSubmission.objects.filter(key=key).first()
        if earlier is not None and earlier.status:
            return None, earlier
        if time.monotonic() > deadline:
            return None, None
        time.sleep(0.05)  # still being done (or refused and released: then the next try claims it)


def once(view):
    """Do a POST with a one-time token once; answer its repeats with the first outcome."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        token = request.POST.get(FIELD, "") if request.method == "POST" else ""
        if not TOKEN_RE.fullmatch(token):
            return view(request, *args, **kwargs)
        claim, earlier = _claim(_key(request, token))
        if earlier is not None:
            return _replay(request, earlier)
        if claim is None:
            return view(request, *args, **kwargs)
        was_signed_in = request.user.is_authenticated
        try:
            response = view(request, *args, **kwargs)
        except BaseException:
            claim.delete()
            raise
        location = response.get("Location", "")
        if not _finished(response) or len(location) > LOCATION_MAX:
            claim.delete()  # a form to correct: the corrected one, with the same token, is a new attempt
            return response
        claim.status = response.status_code
        claim.location = location
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
