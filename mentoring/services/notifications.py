"""Notifications: stored in-app, pushed live over WebSockets and sent by email, after commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

from portal.accounts.models import User
from signaling.events import push_notification, push_unread_count

from ..models import Notification, Session
from ..selectors import notifications_unread_count
from .calendar import invite_ics

logger = logging.getLogger(__name__)


def notification_payload(notification: Notification) -> dict:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "text": notification.text,
        "link": notification.link,
        "created_at": notification.created_at.isoformat(),
    }


def _unread_count(user: User) -> int | None:
    # Called by the live pushes once the transaction committed.
    try:
        return notifications_unread_count(user=user)
    except Exception:
        logger.exception("could not count the unread notifications of user %s", user.pk)
        return None


@dataclass(frozen=True)
class Invite:
    """A calendar invitation to attach to a notification's email: ``REQUEST`` adds or updates the
    session's event in the recipient's calendar, ``CANCEL`` removes it."""

    session: Session
    method: str = "REQUEST"


def _email(notification: Notification, user: User, ics: bytes | None) -> None:
    # The email may not lose the stored notification: a failure is logged.
    if not user.email:
        return
    link = f"\n\n{settings.SITE_URL}{notification.link}" if notification.link else ""
    try:
        message = EmailMessage(
            subject=f"[PeerLearn] {notification.get_kind_display()}",
            body=f"Hello {user.display_name},\n\n{notification.text}{link}\n\n— PeerLearn",
            to=[user.email],
        )
        if ics is not None:
            method = "CANCEL" if b"METHOD:CANCEL" in ics else "REQUEST"
            message.attach("invite.ics", ics, f"text/calendar; charset=utf-8; method={method}")
        message.send()
    except Exception:
        logger.exception("email for notification %s failed", notification.pk)


def notify(*, user: User, kind: str, text: str, link: str = "", invite: Invite | None = None) -> Notification:
    """Store a notification now; push it to the user's open tabs and email it once the surrounding
    transaction commits. With an ``invite``, the email carries the session's calendar invitation
    (built now, so it holds the session as this change left it)."""
    notification = Notification.objects.create(user=user, kind=kind, text=text[:300], link=link)
    push_notification(
        user_id=user.pk, notification=notification_payload(notification), count_unread=lambda: _unread_count(user)
    )
    ics = invite_ics(session=invite.session, method=invite.method, attendee=user) if invite else None
    transaction.on_commit(lambda: _email(notification, user, ics))
    return notification


def notifications_mark_read(*, user: User, notification_ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications read (all, or those of ``notification_ids``); returns
    how many changed. Once committed, every open tab of the user is told the new unread count."""
    unread = Notification.objects.filter(user=user, is_read=False)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    changed = unread.update(is_read=True)
    # Also when nothing changed here: another tab may still show a count from before.
    push_unread_count(user_id=user.pk, count_unread=lambda: _unread_count(user))
    return changed
