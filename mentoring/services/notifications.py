"""Notifications: stored in-app, pushed live over WebSockets and sent by email, after commit."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from portal.accounts.models import User
from signaling.live import notification_push, unread_count_push

from ..models import Notification
from ..selectors import notifications_unread_count

logger = logging.getLogger(__name__)


def notification_payload(notification: Notification) -> dict:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "text": notification.text,
        "link": notification.link,
        "created_at": notification.created_at.isoformat(),
    }


def _unread_after_commit(user: User) -> int | None:
    # Counted after the commit, so every tab is set to what the database holds, not to its own
    # count plus one (which drifts once another tab reads them all).
    try:
        return notifications_unread_count(user=user)
    except Exception:
        logger.exception("could not count the unread notifications of user %s", user.pk)
        return None


def _deliver(notification: Notification, user: User) -> None:
    # Neither the push nor the email may lose the stored notification: both swallow their failures.
    notification_push(user_id=user.pk, notification=notification_payload(notification), unread=_unread_after_commit(user))
    if user.email:
        link = f"\n\n{settings.SITE_URL}{notification.link}" if notification.link else ""
        try:
            send_mail(
                subject=f"[PeerLearn] {notification.get_kind_display()}",
                message=f"Hello {user.display_name},\n\n{notification.text}{link}\n\n— PeerLearn",
                from_email=None,
                recipient_list=[user.email],
            )
        except Exception:
            logger.exception("email for notification %s failed", notification.pk)


def notify(*, user: User, kind: str, text: str, link: str = "") -> Notification:
    """Store a notification now; push and email it once the surrounding transaction commits."""
    notification = Notification.objects.create(user=user, kind=kind, text=text[:300], link=link)
    transaction.on_commit(lambda: _deliver(notification, user))
    return notification


def _announce_unread(user: User) -> None:
    unread = _unread_after_commit(user)
    if unread is None:
        return
    try:
        unread_count_push(user_id=user.pk, unread=unread)
    except Exception:
        logger.exception("live unread count for user %s failed", user.pk)


def notifications_mark_read(*, user: User, notification_ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications read (all, or those of ``notification_ids``); returns
    how many changed. Once committed, every open tab of the user is told the new unread count."""
    unread = Notification.objects.filter(user=user, is_read=False)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    changed = unread.update(is_read=True)
    # Also when nothing changed here: another tab may still show a count from before.
    transaction.on_commit(lambda: _announce_unread(user))
    return changed
