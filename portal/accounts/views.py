from __future__ import annotations

from allauth.account import views as allauth_views
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from mentoring.forms import LearnerProfileForm, MentorProfileForm
from mentoring.services.profiles import learner_profile_update, mentor_profile_update, profile_ensure

from .forms import ProfileForm
from .services import user_update_profile


def _role_form(user, data=None):
    profile = profile_ensure(user=user)
    if user.is_mentor:
        initial = {
            "headline": profile.headline,
            "bio": profile.bio,
            "skills": list(profile.skills.all()),
            "languages": list(profile.languages.all()),
            "years_experience": profile.years_experience,
            "accepting_bookings": profile.accepting_bookings,
        }
        return MentorProfileForm(data, initial=initial, prefix="role"), mentor_profile_update
    initial = {"interests": list(profile.interests.all()), "goals": profile.goals}
    return LearnerProfileForm(data, initial=initial, prefix="role"), learner_profile_update


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    data = request.POST if request.method == "POST" else None
    form = ProfileForm(data, initial={"display_name": user.display_name, "time_zone": user.time_zone})
    role_form, save_role = _role_form(user, data)
    if data is not None and form.is_valid() and role_form.is_valid():
        with transaction.atomic():
            user_update_profile(user=user, **form.cleaned_data)
            saved = save_role(user=user, **role_form.cleaned_data)
        if getattr(saved, "review_status", None) == "pending":
            messages.success(request, "Your profile is saved. Staff review it before learners can see it.")
        else:
            messages.success(request, "Your profile is saved.")
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form, "role_form": role_form})


def login_elsewhere(request: HttpRequest, default_next: str = "/") -> HttpResponse:
    """Every login form is the site's own (allauth): the Wagtail admin's and Wagtail's front-end login
    URLs send the visitor there, so rate limits and two-factor authentication apply to all of them.
    A signed-in visitor sent here was refused by the admin: 403, not a loop back through the login."""
    if request.user.is_authenticated:
        raise PermissionDenied("You do not have access to the editors' admin.")
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = default_next
    return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")


def logout(request: HttpRequest) -> HttpResponse:
    """allauth's sign-out, and its repeat: Log out pressed twice (the first press already signed the
    browser out) says what is true instead of nothing."""
    if request.method == "POST" and not request.user.is_authenticated:
        messages.success(request, "You have signed out.")
        return redirect(settings.ACCOUNT_LOGOUT_REDIRECT_URL)
    return allauth_views.logout(request)
