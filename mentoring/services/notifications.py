"""Notifications: stored in-app, pushed live over WebSockets and sent by email, after commit."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from portal.accounts.models import User
from signaling.groups import user_notifications_group

from ..models import Notification

logger = logging.getLogger(__name__)


def notification_payload(notification: Notification) -> dict:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "text": notification.text,
        "link": notification.link,
        "created_at": notification.created_at.isoformat(),
    }


def _deliver(notification: Notification, user: User) -> None:
    try:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(
                user_notifications_group(user.pk),
                {"type": "notification.push", "notification": notification_payload(notification)},
            )
    except Exception:  # a push that cannot be delivered must not lose the stored notification
        logger.exception("live push of notification %s failed", notification.pk)
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


def notifications_mark_read(*, user: User, notification_ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(user=user, is_read=False)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(is_read=True)
