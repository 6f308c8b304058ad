from __future__ import annotations

from datetime import UTC

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.shortcuts import render

from portal.dates import safe_localtime
from portal.sites import absolute_url
from signaling.events import login_id_of

from .services import signup_without_account, user_password_changed, user_register


class AccountAdapter(DefaultAccountAdapter):
    """The one place sign-up turns a form into an account: it hands the role-aware part to a service."""

    def set_password(self, user, password) -> None:
        # Password change and set (signed in: that login stays) and reset by emailed link (every
        # login of the user is void, the one in this browser too) all come here.
        super().set_password(user, password)
        from allauth.core import context

        request = context.request
        changed_here = (
            request is not None
            and request.user.is_authenticated
            and request.user.pk == user.pk
            and request.resolver_match is not None
            and request.resolver_match.url_name in ("account_change_password", "account_set_password")
        )
        user_password_changed(user=user, keep_login=login_id_of(request.session) if changed_here else None)

    def pre_login(self, request, user, **kwargs):
        # Every login comes here once the password (or the emailed link) is checked, and before the
        # second factor is asked: a suspended person is told why and until when, and stays logged out.
        if user.is_active and user.is_suspended():
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            return suspended_response(request, user)
        return super().pre_login(request, user, **kwargs)

    def login(self, request, user):
        # Checked again as the login happens: a login that asked for a second factor resumes here
        # without ``pre_login``, and the suspension may have begun in between.
        if user.is_active and user.is_suspended():
            from allauth.account.internal.stagekit import clear_login
            from allauth.core.exceptions import ImmediateHttpResponse

            clear_login(request)
            raise ImmediateHttpResponse(suspended_response(request, user))
        return super().login(request, user)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        data = form.cleaned_data
        user = user_register(
            user=user,
            display_name=data["display_name"],
            role=data["role"],
            time_zone=data["time_zone"],
        )
        # A new mentor's profile waits for staff review; staff are told (seed_demo's mentors are not new).
        from mentoring.services.profiles import mentor_signup_submit

        mentor_signup_submit(user=user)
        return user

    def clean_email(self, email: str) -> str:
        # Django's EmailValidator accepts a domain that mail cannot be sent to (U+FFFD from bytes
        # that were not UTF-8, other characters IDNA refuses): refuse it here, on every allauth form
        # (sign-up, adding an address, password reset), instead of failing when the email is sent.
        _, _, domain = email.rpartition("@")
        try:
            domain.encode("idna")
        except UnicodeError:
            raise forms.ValidationError("Enter a valid email address.", code="invalid") from None
        return super().clean_email(email)

    def respond_email_verification_sent(self, request, user):
        # With no user, allauth is answering a sign-up for an address that already has an account
        # (enumeration prevention): nothing is created, and the owner is emailed instead. The answer
        # must not come sooner than a real sign-up's, which hashes a password.
        if user is None:
            signup_without_account(password=request.POST.get("password1", ""))
        return super().respond_email_verification_sent(request, user)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # allauth builds its links (verification, password reset, sign-up) from the request's host;
        # every link in an account email goes to SITE_URL instead, as all the site's other links do.
        links = {
            key: absolute_url(value)
            for key, value in context.items()
            if key.endswith("_url") and isinstance(value, str)
        }
        super().send_mail(template_prefix, email, {**context, **links})


def suspended_response(request, user):
    """The page a suspended person gets instead of a login: the reason and the end, in their zone."""
    until = safe_localtime(user.suspended_until, user.time_zone)
    zone = "UTC" if until.tzinfo is UTC else user.time_zone
    context = {
        "reason": user.suspension_reason,
        "until": f"{until:%A} {until.day} {until:%B %Y, %H:%M} ({zone})",
    }
    return render(request, "accounts/suspended.html", context, status=403)
