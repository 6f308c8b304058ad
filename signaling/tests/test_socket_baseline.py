"""Against a real Daphne on a Redis of its own: call and notification sockets that come and go leave
nothing behind. After hundreds of connect/close cycles (half a clean 1000 after the welcome, half a
dropped TCP connection) the Redis subscriptions and client connections are back at the baseline and
the process's memory is about where it was. (bench/socket_baseline.py runs 1,000 and more, with the
production cache in Redis too.)"""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection

from bench.socket_baseline import NOISE, Footprint, cycle
from mentoring.models import CallAttendance
from mentoring.tests.factories import make_booking, make_session
from signaling.tests.test_daphne_limits import cookie_for
from tests.servers import DaphneProcess, RedisProcess, database_url

CYCLES = int(os.environ.get("SOCKET_BASELINE_CYCLES", "300"))
CLIENT_TOKEN = "5ca1ab1e" * 4  # one page: every socket resumes (or starts again) the same presence


@pytest.fixture
def own_servers(live_db):
    own_redis = RedisProcess().start()
    server = DaphneProcess(
        env={"DATABASE_URL": database_url(connection.settings_dict), "REDIS_URL": own_redis.url}
    ).start()
    try:
        yield own_redis, server
    finally:
        server.stop()
        own_redis.stop()


def test_sockets_that_come_and_go_leave_no_subscriptions_clients_or_memory_behind(own_servers, mentor, learner):
    own_redis, server = own_servers
    session = make_session(mentor, title="Baseline", starts_in=timedelta(minutes=5), capacity=2)
    make_booking(session, learner)
    origin = f"http://127.0.0.1:{server.port}"
    call_url = f"ws://127.0.0.1:{server.port}/ws/session/{session.room_id}/?client={CLIENT_TOKEN}"
    notifications_url = f"ws://127.0.0.1:{server.port}/ws/notifications/"
    cookie = cookie_for(learner)
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    footprint = Footprint(own_redis.url, server.proc.pid, f"{prefix}-channels")

    for index in range(10):  # imports, pools, first connections: before the baseline
        cycle(call_url, origin, cookie, index, "welcome")
        cycle(notifications_url, origin, cookie, index, None)
    before = footprint.settle(15)

    started = time.monotonic()
    for index in range(CYCLES):
        cycle(call_url, origin, cookie, index, "welcome")
    notification_cycles = CYCLES // 5
    for index in range(notification_cycles):
        cycle(notifications_url, origin, cookie, index, None)
    took = time.monotonic() - started
    after = footprint.settle(15, before)
    tracebacks = server.log_text().count("Traceback")

    clients = {
        when: sample["layer_clients"] + sample["other_clients"]
        for when, sample in (("before", before), ("after", after))
    }
    print(
        f"\n[baseline] {CYCLES} call + {notification_cycles} notification socket cycles in {took:.0f} s "
        f"(half closed 1000, half dropped): subscriptions {before['subscriptions']} -> {after['subscriptions']}, "
        f"Redis clients {clients['before']} -> {clients['after']} (channel layer {before['layer_clients']} -> {after['layer_clients']}), "
        f"RSS {before['rss_mb']:.0f} -> {after['rss_mb']:.0f} MB, tracebacks {tracebacks}"
    )
    assert tracebacks == 0
    assert after["subscriptions"] <= before["subscriptions"] + NOISE
    assert after["layer_clients"] >= 1 and clients["after"] <= clients["before"] + NOISE
    assert after["rss_mb"] <= before["rss_mb"] + 40
    # Half the sockets said goodbye, half dropped: the page's presence is open at most once.
    assert CallAttendance.objects.filter(session=session, left_at__isnull=True).count() <= 1
