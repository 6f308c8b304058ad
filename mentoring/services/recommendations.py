"""Writes around recommendations: a learner's "Not interested"."""

from __future__ import annotations

from portal.accounts.models import User

from ..models import NotInterested, Session
from . import MentoringError

KINDS = ("session", "mentor")


def recommendation_dismiss(*, user: User, kind: str, object_id: int) -> NotInterested:
    """Hide a session or a mentor from ``user``'s recommendations (idempotent); the next training
    reads it as a negative signal."""
    if kind == "session":
        session = Session.objects.filter(pk=object_id).first()
        if session is None:
            raise MentoringError("No such session.", code="not_found")
        dismissal, _ = NotInterested.objects.get_or_create(user=user, session=session)
        return dismissal
    if kind == "mentor":
        mentor = User.objects.filter(pk=object_id, role=User.Role.MENTOR, is_active=True).exclude(pk=user.pk).first()
        if mentor is None:
            raise MentoringError("No such mentor.", code="not_found")
        dismissal, _ = NotInterested.objects.get_or_create(user=user, mentor=mentor)
        return dismissal
    raise MentoringError("Say whether it is a session or a mentor.", code="kind")
