"""Wagtail's user admin (``/cms/users/``): unticking *active* there is a deactivation like the Django
admin's, through the same moderation service (bookings cancelled, the others told, sockets closed,
recorded). Refused (yourself; a staff account unless you are a superuser): the account stays active."""

from django.contrib import messages
from wagtail import hooks

from mentoring.services import MentoringError
from mentoring.services.moderation import user_deactivate

from .models import User


@hooks.register("before_edit_user")
def remember_active(request, user):
    request.peerlearn_was_active = user.is_active


@hooks.register("after_edit_user")
def deactivate_when_unticked(request, user):
    if not getattr(request, "peerlearn_was_active", False) or user.is_active:
        return
    try:
        _, withdrawn = user_deactivate(user_id=user.pk, staff=request.user)
    except MentoringError as error:
        User.objects.filter(pk=user.pk).update(is_active=True)
        messages.error(request, f"{user.email} stays active: {error.message}")
        return
    messages.info(request, f"{user.email} was deactivated: {withdrawn}.")
