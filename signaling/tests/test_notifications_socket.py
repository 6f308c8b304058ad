"""Live notifications over the real Redis channel layer."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings

from portal.asgi import application
from signaling.groups import user_notifications_group

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_channel_layer_is_redis():
    backends = {
        "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "core": "channels_redis.core.RedisChannelLayer",
    }
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == backends[settings.CHANNEL_LAYER]


async def connect_as(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=[(b"origin", b"http://127.0.0.1")])
    communicator.scope["user"] = user  # AuthMiddlewareStack keeps a user already in the scope
    return communicator


async def test_a_pushed_notification_reaches_only_its_user(learner, other_learner):
    alice = await connect_as(learner)
    bob = await connect_as(other_learner)
    assert (await alice.connect())[0] and (await bob.connect())[0]

    await get_channel_layer().group_send(
        user_notifications_group(learner.pk),
        {"type": "notification.push", "notification": {"text": "Your session starts in 15 minutes"}},
    )

    message = await alice.receive_json_from(timeout=5)
    assert message == {"type": "notification", "notification": {"text": "Your session starts in 15 minutes"}}
    assert await bob.receive_nothing(timeout=0.3)
    await alice.disconnect()
    await bob.disconnect()


async def test_anonymous_socket_is_closed():
    from django.contrib.auth.models import AnonymousUser

    communicator = await connect_as(AnonymousUser())
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4401


# --------------------------------------------------------------------------- every tab of a person


def _notify(user, text: str) -> int:
    from django.db import transaction

    from mentoring.services.notifications import notify

    with transaction.atomic():
        return notify(user=user, kind="reminder", text=text).pk


def _mark_read(user, ids=None) -> int:
    from django.db import transaction

    from mentoring.services.notifications import notifications_mark_read

    with transaction.atomic():
        return notifications_mark_read(user=user, notification_ids=ids)


def _unread_texts(user) -> list[str]:
    return sorted(user.notifications.filter(is_read=False).values_list("text", flat=True))


async def test_every_tab_of_a_person_gets_the_unread_count_and_the_read_event(learner, other_learner):
    from channels.db import database_sync_to_async

    tab_a = await connect_as(learner)
    tab_b = await connect_as(learner)
    outsider = await connect_as(other_learner)
    assert (await tab_a.connect())[0] and (await tab_b.connect())[0] and (await outsider.connect())[0]

    first = await database_sync_to_async(_notify)(learner, "Session moved to 18:00")
    second = await database_sync_to_async(_notify)(learner, "Your session starts in 15 minutes")
    for tab in (tab_a, tab_b):
        one, two = await tab.receive_json_from(timeout=5), await tab.receive_json_from(timeout=5)
        assert (one["type"], one["notification"]["id"], one["unread"]) == ("notification", first, 1)
        assert (two["type"], two["notification"]["id"], two["unread"]) == ("notification", second, 2)

    # Read one of them (as a per-item read would): every tab hears 1 is left.
    assert await database_sync_to_async(_mark_read)(learner, [first]) == 1
    for tab in (tab_a, tab_b):
        assert await tab.receive_json_from(timeout=5) == {"type": "notifications-read", "unread": 1}

    # "Mark all as read" in one tab: both tabs hear 0, the database agrees, the outsider hears nothing.
    assert await database_sync_to_async(_mark_read)(learner) == 1
    for tab in (tab_a, tab_b):
        assert await tab.receive_json_from(timeout=5) == {"type": "notifications-read", "unread": 0}
    assert await database_sync_to_async(_unread_texts)(learner) == []
    assert await outsider.receive_nothing(timeout=0.3)

    # A push after that counts from the database, not from what a tab had: 1 again.
    third = await database_sync_to_async(_notify)(learner, "Feedback requested")
    for tab in (tab_a, tab_b):
        message = await tab.receive_json_from(timeout=5)
        assert (message["notification"]["id"], message["unread"]) == (third, 1)
    for communicator in (tab_a, tab_b, outsider):
        await communicator.disconnect()


async def test_the_read_event_goes_out_after_commit_only(learner):
    from channels.db import database_sync_to_async

    tab = await connect_as(learner)
    assert (await tab.connect())[0]
    await database_sync_to_async(_notify)(learner, "Starts soon")
    assert (await tab.receive_json_from(timeout=5))["unread"] == 1

    def rolled_back() -> None:
        from django.db import transaction

        from mentoring.services.notifications import notifications_mark_read

        with pytest.raises(RuntimeError), transaction.atomic():
            notifications_mark_read(user=learner)
            raise RuntimeError("rolled back")

    await database_sync_to_async(rolled_back)()
    assert await tab.receive_nothing(timeout=0.3)
    assert await database_sync_to_async(_unread_texts)(learner) == ["Starts soon"]
    await tab.disconnect()


async def test_the_consumer_relays_only_valid_counts(learner):
    tab = await connect_as(learner)
    assert (await tab.connect())[0]
    group = user_notifications_group(learner.pk)
    for bad in ("0", -1, True, None, 1.5):
        await get_channel_layer().group_send(group, {"type": "notifications.read", "unread": bad})
        await get_channel_layer().group_send(
            group, {"type": "notification.push", "notification": {"text": "hi"}, "unread": bad}
        )
        assert await tab.receive_json_from(timeout=5) == {"type": "notification", "notification": {"text": "hi"}}
    assert await tab.receive_nothing(timeout=0.3)
    await tab.disconnect()


@pytest.mark.parametrize(
    "query", ["user={other}", "user=", "user=abc", "user=0{me}", "user={me}&user={me}", "user=-{me}"]
)
async def test_a_socket_for_another_person_than_the_page_is_refused(learner, other_learner, query):
    communicator = WebsocketCommunicator(
        application,
        "/ws/notifications/?" + query.format(me=learner.pk, other=other_learner.pk),
        headers=[(b"origin", b"http://127.0.0.1")],
    )
    communicator.scope["user"] = learner
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4401)


async def test_a_socket_for_the_page_s_own_person_opens(learner):
    communicator = WebsocketCommunicator(
        application, f"/ws/notifications/?user={learner.pk}", headers=[(b"origin", b"http://127.0.0.1")]
    )
    communicator.scope["user"] = learner
    assert (await communicator.connect())[0]
    await get_channel_layer().group_send(
        user_notifications_group(learner.pk), {"type": "notifications.read", "unread": 0}
    )
    assert await communicator.receive_json_from(timeout=5) == {"type": "notifications-read", "unread": 0}
    await communicator.disconnect()


def test_a_failing_push_never_breaks_the_write(learner, monkeypatch):
    import signaling.events
    from mentoring.models import Notification

    def broken_layer():
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(signaling.events, "get_channel_layer", broken_layer)
    pk = _notify(learner, "Stored even so")
    assert Notification.objects.filter(pk=pk, is_read=False).exists()
    assert _mark_read(learner) == 1
    assert not Notification.objects.filter(user=learner, is_read=False).exists()
