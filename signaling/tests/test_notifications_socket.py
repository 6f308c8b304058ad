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
    backends = {"pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer", "core": "channels_redis.core.RedisChannelLayer"}
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
