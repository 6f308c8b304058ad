"""Notifications: stored in-app, pushed live over WebSockets and sent by email, after commit."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.mime.text import MIMEText

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

from portal.accounts.models import User
from portal.validators import squash_to_one_line
from signaling.events import push_notification, push_unread_count

from ..models import Notification, Session
from ..selectors import notifications_unread_count
from .calendar import INVITE_METHODS, invite_ics, room_url

logger = logging.getLogger(__name__)

NOTIFICATION_TEXT_MAX = 300


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

    def __post_init__(self) -> None:
        if self.method not in INVITE_METHODS:
            raise ValueError(f"unknown iTIP method {self.method!r}")


@dataclass(frozen=True)
class _Attachment:
    ics: bytes
    method: str
    room_link: str


# Not text at all, in an email or a database: NUL and lone surrogates (unencodable as UTF-8).
_UNSENDABLE = re.compile(r"[\x00\ud800-\udfff]")


def _calendar_part(attachment: _Attachment, filename: str = "invite.ics") -> MIMEText:
    # text/calendar with the iTIP method as a parameter (RFC 6047): what makes mail clients offer the
    # invitation as one, and not merely as a file.
    part = MIMEText(attachment.ics.decode(), "calendar", "utf-8")
    part.set_param("method", attachment.method)
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def _email(notification: Notification, user: User, attachments: list[_Attachment]) -> None:
    # The email may not lose the stored notification: a failure is logged.
    if not user.email:
        return
    link = f"\n\n{settings.SITE_URL}{notification.link}" if notification.link else ""
    rooms = list(dict.fromkeys(a.room_link for a in attachments if a.method == "REQUEST"))
    if len(rooms) == 1:
        link += f"\n\nJoin the call (it opens {settings.JOIN_WINDOW_MINUTES} minutes before the start):\n{rooms[0]}"
    elif rooms:
        link += f"\n\nJoin each call from its calendar invitation (it opens {settings.JOIN_WINDOW_MINUTES} minutes before the start)."
    body = f"Hello {user.display_name},\n\n{notification.text}{link}\n\n— PeerLearn"
    try:
        message = EmailMessage(
            subject=f"[PeerLearn] {notification.get_kind_display()}", body=_UNSENDABLE.sub("", body), to=[user.email]
        )
        for number, attachment in enumerate(attachments, start=1):
            # One event per file: an iTIP message holds one event (one UID).
            message.attach(
                _calendar_part(attachment, "invite.ics" if len(attachments) == 1 else f"invite-{number}.ics")
            )
        message.send()
    except Exception:
        logger.exception("email for notification %s failed", notification.pk)


def _attachment(invite: Invite, user: User) -> _Attachment | None:
    # A calendar file that cannot be built must not undo the change it announces: logged, and the
    # email goes without it.
    try:
        ics = invite_ics(session=invite.session, method=invite.method, attendee=user)
    except Exception:
        logger.exception("invite for session %s to user %s could not be built", invite.session.pk, user.pk)
        return None
    return _Attachment(ics=ics, method=invite.method, room_link=room_url(invite.session))


def notify(
    *, user: User, kind: str, text: str, link: str = "", invite: Invite | None = None, invites: Sequence[Invite] = ()
) -> Notification:
    """Store a notification now; push it to the user's open tabs and email it once the surrounding
    transaction commits. With an ``invite``, the email carries the session's calendar invitation
    (built now, so it holds the session as this change left it); with ``invites``, one for each
    session (the dates of a series booked at once). ``text`` is folded into one line (whatever stored
    text it quotes)."""
    text = squash_to_one_line(text)[:NOTIFICATION_TEXT_MAX]
    notification = Notification.objects.create(user=user, kind=kind, text=text, link=link)
    push_notification(
        user_id=user.pk, notification=notification_payload(notification), count_unread=lambda: _unread_count(user)
    )
    built = [_attachment(one, user) for one in ([invite] if invite is not None else []) + list(invites)]
    attachments = [attachment for attachment in built if attachment is not None]
    transaction.on_commit(lambda: _email(notification, user, attachments))
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
