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


def users_deactivate(*, users: Iterable[User]) -> int:
    """Deactivate accounts (moderation) and close their open sockets. Returns how many were active before."""
    ids = [user.pk for user in users if user.is_active]
    count = User.objects.filter(pk__in=ids, is_active=True).update(is_active=False)
    for user_id in ids:
        close_user_sockets(user_id=user_id)
    return count


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
