"""signaling.events, the domain's one door to the sockets: nothing leaves before the commit, nothing
at all for work that rolled back, on the real Redis channel layer."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from mentoring.models import Notification
from signaling.events import send_on_commit

pytestmark = pytest.mark.django_db(transaction=True)
GROUP = "test.events"


class Boom(Exception):
    pass


def _rolled_back() -> None:
    with pytest.raises(Boom), transaction.atomic():
        send_on_commit(GROUP, {"type": "test.rolled_back"})
        raise Boom


def _committed(user) -> None:
    with transaction.atomic():
        Notification.objects.create(user=user, kind="reminder", text="stored")
        # Built after the commit: it sees what the transaction stored.
        send_on_commit(
            GROUP, lambda: {"type": "test.committed", "stored": Notification.objects.filter(user=user).count()}
        )
        send_on_commit(GROUP, lambda: None)  # nothing to send after all


async def _listening():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    return layer, channel


async def test_an_event_leaves_once_the_transaction_commits_and_never_for_work_that_rolled_back(learner):
    layer, channel = await _listening()
    try:
        await database_sync_to_async(_rolled_back)()
        await database_sync_to_async(_committed)(learner)
        # Sent in this order, so the first event to arrive shows the rolled-back one was never sent.
        assert await asyncio.wait_for(layer.receive(channel), timeout=5) == {"type": "test.committed", "stored": 1}
    finally:
        await layer.group_discard(GROUP, channel)
