"""Writes around recommendations: a learner's "Not interested"."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

from portal.accounts.models import User

from ..models import NotInterested, Session
from . import MentoringError

KINDS = ("session", "mentor")


def ranking_version_key(user_id: int) -> str:
    return f"recommendations:version:{user_id}"


def recommendations_forget(*, user_id: int) -> None:
    """``user_id``'s bookings, waitlists, interests or dismissals changed: the dashboard ranks afresh
    on the next visit instead of reusing its cached ranking (after commit: a rollback changed nothing)."""

    def bump() -> None:
        try:
            cache.incr(ranking_version_key(user_id))
        except ValueError:
            cache.set(ranking_version_key(user_id), 1, None)

    transaction.on_commit(bump)


def recommendation_dismiss(*, user: User, kind: str, object_id: int) -> NotInterested:
    """Hide a session or a mentor from ``user``'s recommendations (idempotent); the next training
    reads it as a negative signal."""
    if kind == "session":
        session = Session.objects.filter(pk=object_id).first()
        if session is None:
            raise MentoringError("No such session.", code="not_found")
        dismissal, _ = NotInterested.objects.get_or_create(user=user, session=session)
        recommendations_forget(user_id=user.pk)
        return dismissal
    if kind == "mentor":
        mentor = User.objects.filter(pk=object_id, role=User.Role.MENTOR, is_active=True).exclude(pk=user.pk).first()
        if mentor is None:
            raise MentoringError("No such mentor.", code="not_found")
        dismissal, _ = NotInterested.objects.get_or_create(user=user, mentor=mentor)
        recommendations_forget(user_id=user.pk)
        return dismissal
    raise MentoringError("Say whether it is a session or a mentor.", code="kind")
