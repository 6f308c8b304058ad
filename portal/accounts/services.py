"""Writes on accounts. Views, the allauth adapter and commands call these; nothing else saves users."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.crypto import get_random_string

from signaling.events import assign_login_id, close_user_sockets, login_id_of

from .models import User


@transaction.atomic
def user_register(*, user: User, display_name: str, role: str, time_zone: str) -> User:
    """Finish a new account created by sign-up (or by ``seed_demo``): name, role, time zone.

    The user row is saved here, in the same transaction as anything that belongs to the role.
    """
    user.display_name = display_name.strip()
    user.role = role
    user.time_zone = time_zone
    user.full_clean(exclude=["password"])
    user.save()
    from mentoring.services.profiles import profile_ensure

    profile_ensure(user=user)
    return user


def signup_without_account(*, password: str) -> None:
    """A sign-up that creates no account (its address is taken; allauth emails the owner) does the
    costly part of one that does: hashing the password with the configured hasher, once, as
    ``user.set_password`` does for a new account. Otherwise the quicker answer would tell whether the
    address is registered (Django's ``ModelBackend`` does the same for logins with an unknown user)."""
    make_password(password or get_random_string(20))


def user_update_profile(*, user: User, display_name: str, time_zone: str) -> User:
    user.display_name = display_name.strip()
    user.time_zone = time_zone
    user.full_clean(exclude=["password"])
    user.save(update_fields=["display_name", "time_zone"])
    return user


def users_deactivate(*, users: Iterable[User], actor: User) -> int:
    """Deactivate accounts (moderation), each as :func:`user_deactivate` does. Returns how many were
    active before."""
    with transaction.atomic():
        return sum(user_deactivate(user_id=user.pk, actor=actor)[0] for user in users)


@transaction.atomic
def user_deactivate(*, user_id: int, actor: User):
    """Deactivate an account: it can no longer log in; its future bookings, sessions, waitlist places
    and pending requests go through the mentoring services, with the others told (cancelled by staff
    member ``actor``); its sockets close. Also for
    an account deactivated before, which may still hold bookings. Returns whether it was active,
    and what was withdrawn (``mentoring.services.moderation.Withdrawn``)."""
    from mentoring.services.moderation import user_activity_withdraw

    was_active = bool(User.objects.filter(pk=user_id, is_active=True).update(is_active=False))
    withdrawn = user_activity_withdraw(user_id=user_id, actor=actor)
    close_user_sockets(user_id=user_id)
    return was_active, withdrawn


@transaction.atomic
def user_suspension_set(*, user: User, until, reason: str) -> User:
    """Suspend an account until ``until`` (``mentoring.services.moderation.user_suspend`` checks the
    input and keeps the record). A suspension already running longer is kept as it is (its end and
    reason): a second one never shortens it. Its logins end (the session hash changes) and its sockets
    close now. Returns the user as it stands."""
    current = User.objects.select_for_update().get(pk=user.pk)
    if current.suspended_until is None or current.suspended_until < until:
        current.suspended_until = until
        current.suspension_reason = reason
        current.save(update_fields=["suspended_until", "suspension_reason"])
    user.suspended_until, user.suspension_reason = current.suspended_until, current.suspension_reason
    close_user_sockets(user_id=user.pk)
    return user


@transaction.atomic
def user_suspension_end(*, user: User, now) -> bool:
    """End ``user``'s suspension now; whether one was running (``mentoring.services.moderation.
    user_suspension_lift`` keeps the record). The end stays on the account as when it was lifted."""
    lifted = bool(User.objects.filter(pk=user.pk, suspended_until__gt=now).update(suspended_until=now))
    if lifted:
        user.suspended_until = now
    return lifted


def user_password_changed(*, user: User, keep_login: str | None = None) -> None:
    """After a password change: the login that made it (``keep_login``, its login id) stays signed in;
    every other login of the user is void (Django checks the password hash) and loses its open
    sockets now. Without ``keep_login`` (a reset by emailed link, staff setting it) all close."""
    close_user_sockets(user_id=user.pk, except_login=keep_login)


def login_begun(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        assign_login_id(request.session)


def login_ended(sender, request, user, **kwargs) -> None:
    """Logout: the sockets opened with this login close; the user's other devices keep theirs."""
    if user is not None and request is not None:
        close_user_sockets(user_id=user.pk, only_login=login_id_of(getattr(request, "session", None)))
