from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def notifications(request: HttpRequest) -> dict:
    """The header bell's unread count: one query, and only on pages that show it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def unread() -> int:
        from .selectors import notifications_unread_count

        return notifications_unread_count(user=user)

    return {"unread_notifications": SimpleLazyObject(unread)}
