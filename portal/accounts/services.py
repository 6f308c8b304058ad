"""Writes on accounts. Views, the allauth adapter and commands call these; nothing else saves users."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

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


def user_update_profile(*, user: User, display_name: str, time_zone: str) -> User:
    user.display_name = display_name.strip()
    user.time_zone = time_zone
    user.full_clean(exclude=["password"])
    user.save(update_fields=["display_name", "time_zone"])
    return user


def users_deactivate(*, users: Iterable[User]) -> int:
    """Deactivate accounts (moderation). Returns how many were active before."""
    from mentoring.services.calls import calls_disconnect_user

    ids = [user.pk for user in users if user.is_active]
    count = User.objects.filter(pk__in=ids, is_active=True).update(is_active=False)
    for user_id in ids:
        calls_disconnect_user(user_id=user_id)
    return count
