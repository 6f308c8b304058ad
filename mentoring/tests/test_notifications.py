from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.core import mail
from django.db import transaction

from mentoring.models import Notification
from mentoring.services.notifications import notify
from portal.asgi import application


@pytest.mark.django_db
def test_email_is_sent_after_commit_only(learner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(user=learner, kind="reminder", text="Starts in 15 minutes", link="/dashboard/")
        assert mail.outbox == []  # nothing leaves before the commit
    assert len(callbacks) == 2  # the live push and the email
    assert mail.outbox[0].to == [learner.email] and "Starts in 15 minutes" in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_for_rolled_back_work(learner):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        notify(user=learner, kind="reminder", text="Never happened")
        raise Boom
    assert not Notification.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_live_push_arrives_over_a_real_websocket_with_the_redis_layer(learner):
    async def scenario():
        communicator = WebsocketCommunicator(
            application, "/ws/notifications/", headers=[(b"origin", b"http://127.0.0.1")]
        )
        communicator.scope["user"] = learner
        connected, _ = await communicator.connect()
        assert connected
        from asgiref.sync import sync_to_async

        await sync_to_async(_notify_committed)(learner)
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["type"] == "notification"
    assert message["notification"]["text"] == "Your booking is confirmed"
    assert message["notification"]["id"] == Notification.objects.get().pk


def _notify_committed(user):
    with transaction.atomic():
        notify(user=user, kind="booking_made", text="Your booking is confirmed", link="/dashboard/")


@pytest.mark.django_db
def test_reminders_go_out_once_at_24h_and_15m(learner, mentor):
    from datetime import timedelta

    from django.utils import timezone

    from mentoring.models import Booking
    from mentoring.services.bookings import booking_create
    from mentoring.services.reminders import reminders_send
    from mentoring.tests.factories import make_session

    session = make_session(mentor, starts_in=timedelta(hours=20))
    booking = booking_create(session_id=session.pk, learner=learner)
    Booking.objects.filter(pk=booking.pk).update(created_at=timezone.now() - timedelta(days=2))  # booked early
    now = timezone.now()
    assert reminders_send(now=now) == 1
    assert reminders_send(now=now) == 0  # not twice
    assert reminders_send(now=session.starts_at - timedelta(minutes=10)) == 1
    texts = list(learner.notifications.filter(kind="reminder").values_list("text", flat=True))
    # what was really left each time (mentoring/tests/test_reminder_times.py covers the wording)
    assert any("20 hours (" in t for t in texts) and any("starts in 10 minutes" in t for t in texts)
    assert mentor.notifications.filter(kind="reminder").count() == 2


def test_a_seat_booked_within_the_last_day_gets_only_the_short_reminder(learner, mentor):
    from datetime import timedelta

    from mentoring.services.bookings import booking_create
    from mentoring.services.reminders import reminders_send
    from mentoring.tests.factories import make_session

    session = make_session(mentor, starts_in=timedelta(hours=20))
    booking_create(session_id=session.pk, learner=learner)  # its confirmation says when
    assert reminders_send() == 0
    assert reminders_send(now=session.starts_at - timedelta(minutes=10)) == 1
    (reminder,) = learner.notifications.filter(kind="reminder")
    assert "starts in 10 minutes" in reminder.text
