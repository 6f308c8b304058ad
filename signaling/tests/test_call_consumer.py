"""The call-room consumer through channels' WebsocketCommunicator, on the real Redis channel layer."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from conftest import make_user
from mentoring.models import Booking, CallAttendance, CallQuality, WaitlistEntry
from mentoring.services.bookings import booking_cancel
from mentoring.tests.factories import make_booking, make_session
from portal.accounts.services import users_deactivate
from portal.asgi import application
from signaling.protocol import (
    CLOSE_FLOOD,
    CLOSE_NOT_ALLOWED,
    CLOSE_REPLACED,
    CLOSE_REVOKED,
    CLOSE_SILENT,
    CLOSE_TOO_BIG,
)

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")
# A well-formed call-quality report, as the room's page sends it.
STATS_REPORT = {
    "type": "stats",
    "rtt_ms": 40,
    "loss_pct": 0,
    "in_kbps": 1,
    "out_kbps": 1,
    "local": "host",
    "remote": "host",
    "protocol": "udp",
    "ice_restarts": 0,
    "reconnects": 0,
}


@pytest.fixture
def room(mentor, learner):
    session = make_session(mentor, title="Room", starts_in=timedelta(minutes=5), capacity=3)
    make_booking(session, learner)
    return session


OPEN: list[WebsocketCommunicator] = []


@pytest.fixture(autouse=True)
async def _close_every_socket():
    """Every consumer a test started has finished before the test's event loop closes, so no
    database work of one test is still running when the next one resets the tables."""
    yield
    while OPEN:
        await OPEN.pop().disconnect(timeout=5)


async def connect(session, user, origin=ORIGIN, client=""):
    query = f"?client={client}" if client else ""
    communicator = WebsocketCommunicator(application, f"/ws/session/{session.room_id}/{query}", headers=[origin])
    OPEN.append(communicator)
    communicator.scope["user"] = user
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def joined(session, user, client=""):
    communicator, connected, code = await connect(session, user, client=client)
    assert connected, code
    welcome = await communicator.receive_json_from(timeout=5)
    assert welcome["type"] == "welcome"
    return communicator, welcome


async def test_mentor_and_learner_join_and_see_each_other(room, mentor, learner):
    m, m_welcome = await joined(room, mentor)
    assert m_welcome["you"]["role"] == "mentor" and m_welcome["peers"] == []
    assert m_welcome["iceServers"] == [] and m_welcome["iceTransportPolicy"] == "all"
    lc, l_welcome = await joined(room, learner)
    assert l_welcome["peers"] == [m_welcome["you"]] and m_welcome["you"]["name"] == "Maya Mentor"
    joined_msg = await m.receive_json_from(timeout=5)
    assert joined_msg == {"type": "peer-joined", "peer": l_welcome["you"], "resumed": False}
    await lc.disconnect()
    assert await m.receive_json_from(timeout=5) == {
        "type": "peer-left",
        "peer_id": l_welcome["you"]["id"],
        "since": l_welcome["you"]["since"],
    }
    await m.disconnect()
    rows = await sync_to_async(list)(CallAttendance.objects.filter(session=room).values_list("user__email", "left_at"))
    assert sorted(email for email, _ in rows) == [learner.email, mentor.email] and all(left for _, left in rows)


@pytest.mark.parametrize("who", ["anonymous", "outsider", "waitlisted", "cancelled", "staff", "other_mentor"])
async def test_everyone_else_is_refused(room, who, other_learner):
    if who == "anonymous":
        user = AnonymousUser()
    elif who == "outsider":
        user = await sync_to_async(make_user)("out@example.com", "Out")
    elif who == "waitlisted":
        user = other_learner
        await sync_to_async(WaitlistEntry.objects.create)(session=room, learner=user)
    elif who == "cancelled":
        user = other_learner
        booking = await sync_to_async(make_booking)(room, user)
        await sync_to_async(Booking.objects.filter(pk=booking.pk).update)(status="cancelled")
    elif who == "staff":
        user = await sync_to_async(make_user)("root@example.com", "Root", is_staff=True, is_superuser=True)
    else:
        user = await sync_to_async(make_user)("m2@example.com", "M2", "mentor")
    _, connected, code = await connect(room, user)
    assert not connected and code == CLOSE_NOT_ALLOWED
    assert not await sync_to_async(CallAttendance.objects.exists)()


async def test_before_the_join_window_and_foreign_origin_are_refused(mentor, learner):
    later = await sync_to_async(make_session)(mentor, title="Later", starts_in=timedelta(hours=3))
    await sync_to_async(make_booking)(later, learner)
    _, connected, code = await connect(later, learner)
    assert not connected and code == CLOSE_NOT_ALLOWED
    soon = await sync_to_async(make_session)(mentor, title="Soon", starts_in=timedelta(minutes=5))
    await sync_to_async(make_booking)(soon, learner)
    _, connected, _ = await connect(soon, learner, origin=(b"origin", b"https://evil.example.com"))
    assert not connected


async def test_a_signal_reaches_only_its_target_and_from_cannot_be_forged(room, mentor, learner, other_learner):
    await sync_to_async(make_booking)(room, other_learner)
    m, mw = await joined(room, mentor)
    a, aw = await joined(room, learner)
    b, bw = await joined(room, other_learner)
    await m.receive_json_from(timeout=5), await m.receive_json_from(timeout=5), await a.receive_json_from(timeout=5)
    offer = {"description": {"type": "offer", "sdp": "v=0\r\n"}}
    await a.send_json_to({"type": "signal", "to": mw["you"]["id"], "data": offer})
    got = await m.receive_json_from(timeout=5)
    assert got == {"type": "signal", "from": aw["you"]["id"], "data": offer}
    assert await b.receive_nothing(timeout=0.3)
    # A client that claims another sender gets an error, and nothing is relayed.
    await b.send_json_to({"type": "signal", "to": mw["you"]["id"], "from": aw["you"]["id"], "data": offer})
    assert (await b.receive_json_from(timeout=5))["code"] == "unknown_field"
    assert await m.receive_nothing(timeout=0.3)
    for c in (m, a, b):
        await c.disconnect()


async def test_chat_reaches_everyone_and_media_state_the_others(room, mentor, learner):
    m, mw = await joined(room, mentor)
    a, aw = await joined(room, learner)
    await m.receive_json_from(timeout=5)  # peer-joined
    await a.send_json_to({"type": "chat", "text": "  <script>hi</script>  "})
    for c in (m, a):
        msg = await c.receive_json_from(timeout=5)
        assert (msg["type"], msg["from"], msg["name"], msg["text"]) == (
            "chat",
            aw["you"]["id"],
            "Alice Learner",
            "<script>hi</script>",
        )
    await a.send_json_to({"type": "media-state", "audio": False, "video": True, "screen": False})
    assert await m.receive_json_from(timeout=5) == {
        "type": "media-state",
        "from": aw["you"]["id"],
        "audio": False,
        "video": True,
        "screen": False,
    }
    assert await a.receive_nothing(timeout=0.3)
    await a.send_json_to({"type": "ping", "t": 12})
    assert await a.receive_json_from(timeout=5) == {"type": "pong", "t": 12}
    await m.disconnect()
    await a.disconnect()


async def test_during_a_rolling_deploy_old_and_new_processes_relay_each_others_messages(room, mentor, learner):
    """The previous version relayed fields, this one a ready frame: each event carries both, and a
    fields-only event (from a process not yet replaced) still reaches the page, as the same frame."""
    from channels.layers import get_channel_layer

    from signaling.consumers import _relay_event
    from signaling.groups import peer_group, room_group

    m, mw = await joined(room, mentor)
    a, aw = await joined(room, learner)
    await m.receive_json_from(timeout=5)  # peer-joined
    layer = get_channel_layer()
    old_events = [  # as the previous version's consumers sent them
        (room_group(room.pk), {"type": "relay.chat", "from": aw["you"]["id"], "name": "A", "text": "hi", "at": "t"}),
        (
            room_group(room.pk),
            {"type": "relay.media_state", "from": aw["you"]["id"], "audio": True, "video": False, "screen": False},
        ),
        (
            room_group(room.pk),
            {"type": "relay.screen_share", "from": aw["you"]["id"], "name": "A", "action": "start", "at": "t"},
        ),
        (
            peer_group(room.pk, mw["you"]["id"]),
            {"type": "relay.signal", "from": aw["you"]["id"], "data": {"candidate": None}},
        ),
    ]
    seen = []
    for group, event in old_events:
        await layer.group_send(group, event)
        frame = await m.receive_json_from(timeout=5)
        assert frame == {**{k: v for k, v in event.items() if k != "type"}, "type": frame["type"]}
        seen.append(frame["type"])
    assert seen == ["chat", "media-state", "screen-share", "signal"]
    # What this version sends, read the previous version's way (its handlers read these fields).
    old_reads = {
        "relay.signal": ("from", "data"),
        "relay.chat": ("from", "name", "text", "at"),
        "relay.media_state": ("from", "audio", "video", "screen"),
        "relay.screen_share": ("from", "name", "action", "at"),
    }
    for payload in (
        {"type": "signal", "from": "p1", "data": {"candidate": None}},
        {"type": "chat", "from": "p1", "name": "A", "text": "hi", "at": "t"},
        {"type": "media-state", "from": "p1", "audio": True, "video": False, "screen": False},
        {"type": "screen-share", "from": "p1", "name": "A", "action": "stop", "at": "t"},
    ):
        event = _relay_event(payload)
        assert json.loads(event["frame"]) == payload
        assert {key: event[key] for key in old_reads[event["type"]]} == {
            k: v for k, v in payload.items() if k != "type"
        }
    print("\n[deploy] old -> new: 4/4 message kinds reach the page; new -> old: 4/4 carry the old fields")
    await m.disconnect()
    await a.disconnect()


BAD_FRAMES = [
    ("not json", "bad_json"),
    ("[1, 2]", "bad_shape"),
    ('{"type": "dance"}', "unknown_type"),
    ('{"type": "chat"}', "missing_field"),
    ('{"type": "chat", "text": 5}', "bad_type"),
    ('{"type": "chat", "text": "hi", "html": "<b>"}', "unknown_field"),
    ('{"type": "signal", "to": "../../etc", "data": {}}', "bad_value"),
    (
        '{"type": "signal", "to": "0123456789abcdef", "data": {"description": {"type": "evil", "sdp": "x"}}}',
        "bad_value",
    ),
    ('{"type": "media-state", "audio": "yes", "video": true, "screen": false}', "bad_type"),
]


async def test_malformed_messages_get_an_error_and_the_other_peer_keeps_working(room, mentor, learner):
    m, mw = await joined(room, mentor)
    a, _ = await joined(room, learner)
    await m.receive_json_from(timeout=5)
    for raw, code in BAD_FRAMES:
        await a.send_to(text_data=raw)
        reply = await a.receive_json_from(timeout=5)
        assert (reply["type"], reply["code"]) == ("error", code), raw
    assert await m.receive_nothing(timeout=0.3)
    await a.send_json_to({"type": "chat", "text": "still here"})
    assert (await m.receive_json_from(timeout=5))["text"] == "still here"
    assert (await a.receive_json_from(timeout=5))["text"] == "still here"  # chat echoes to its sender too
    await a.send_to(text_data=json.dumps({"type": "chat", "text": "x" * 70_000}))
    assert (await a.receive_json_from(timeout=5))["code"] == "too_big"
    assert (await a.receive_output(timeout=5))["code"] == CLOSE_TOO_BIG
    await m.send_json_to({"type": "chat", "text": "mentor still fine"})
    assert (await m.receive_json_from(timeout=5))["text"] == "mentor still fine"
    await m.disconnect()


async def test_a_flood_closes_the_socket(room, learner):
    a, _ = await joined(room, learner)
    for _ in range(200):
        await a.send_json_to({"type": "ping"})
    codes = []
    while True:
        out = await a.receive_output(timeout=5)
        if out["type"] == "websocket.close":
            codes.append(out["code"])
            break
    assert codes == [CLOSE_FLOOD]


async def test_cancelling_the_booking_and_deactivation_close_call_sockets(room, mentor, learner, admin_user):
    a, _ = await joined(room, learner)
    booking = await sync_to_async(Booking.objects.get)(session=room, learner=learner)
    await sync_to_async(booking_cancel)(booking_id=booking.pk, learner=learner)
    assert (await a.receive_json_from(timeout=5))["code"] == "revoked"
    assert (await a.receive_output(timeout=5))["code"] == CLOSE_REVOKED

    m, _ = await joined(room, mentor)
    await sync_to_async(users_deactivate)(users=[mentor], actor=admin_user)
    assert (await m.receive_json_from(timeout=5))["code"] == "revoked"
    assert (await m.receive_output(timeout=5))["code"] == CLOSE_REVOKED


# --------------------------------------------------------------------------- resilience
PAGE = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def fast_presence(settings):
    settings.CALL_HEARTBEAT_SECONDS = 0.2
    settings.CALL_PRESENCE_TIMEOUT_SECONDS = 1


async def test_a_page_that_reconnects_keeps_its_peer_id_and_no_ghost_appears(room, mentor, learner):
    m, mw = await joined(room, mentor)
    a, aw = await joined(room, learner, client=PAGE)
    await m.receive_json_from(timeout=5)  # peer-joined
    await a.disconnect(code=1006)  # the network dropped: no goodbye
    assert await m.receive_nothing(timeout=0.3)  # no peer-left: the mentor keeps the peer connection
    again, welcome = await joined(room, learner, client=PAGE)
    assert welcome["you"]["id"] == aw["you"]["id"] and welcome["resumed"] is True
    assert [p["id"] for p in welcome["peers"]] == [mw["you"]["id"]]
    assert await m.receive_json_from(timeout=5) == {"type": "peer-joined", "peer": aw["you"], "resumed": True}
    rows = await sync_to_async(list)(
        CallAttendance.objects.filter(user=learner).values_list("peer_id", "left_at", "reconnects")
    )
    assert rows == [(aw["you"]["id"], None, 1)]
    # A newcomer sees each participant once.
    other = await sync_to_async(make_user)("bob@example.com", "Bob")
    await sync_to_async(make_booking)(room, other)
    _, bw = await joined(room, other)
    assert sorted(p["id"] for p in bw["peers"]) == sorted([mw["you"]["id"], aw["you"]["id"]])


async def test_the_same_page_token_gives_another_user_another_peer_id(room, mentor, learner):
    _, mw = await joined(room, mentor, client=PAGE)
    _, aw = await joined(room, learner, client=PAGE)
    assert mw["you"]["id"] != aw["you"]["id"] and not aw["resumed"]


async def test_a_newer_socket_of_the_same_page_replaces_the_old_one(room, mentor, learner):
    m, _ = await joined(room, mentor)
    old, aw = await joined(room, learner, client=PAGE)
    await m.receive_json_from(timeout=5)
    new, welcome = await joined(room, learner, client=PAGE)
    assert welcome["you"]["id"] == aw["you"]["id"]
    assert (await old.receive_json_from(timeout=5))["code"] == "replaced"
    assert (await old.receive_output(timeout=5))["code"] == CLOSE_REPLACED
    assert (await m.receive_json_from(timeout=5))["resumed"] is True
    await old.disconnect(code=CLOSE_REPLACED)  # what Daphne reports once the close is done
    assert await m.receive_nothing(timeout=0.5)  # the old socket's close announced nothing
    row = await sync_to_async(CallAttendance.objects.get)(peer_id=aw["you"]["id"])
    assert row.left_at is None and row.connection and row.reconnects == 1
    await new.send_json_to({"type": "chat", "text": "still me"})
    assert (await m.receive_json_from(timeout=5))["from"] == aw["you"]["id"]


async def test_a_presence_nobody_keeps_alive_ends_after_the_timeout(room, mentor, learner, fast_presence, settings):
    settings.CALL_PRESENCE_TIMEOUT_SECONDS = 60  # passed on the clock below, never in real time: the mentor stays heard
    m, _ = await joined(room, mentor)
    a, aw = await joined(room, learner, client=PAGE)
    await m.receive_json_from(timeout=5)
    await a.disconnect(code=1006)
    # Past the presence timeout: the mentor's next heartbeat keeps its own presence fresh and ends the
    # learner's, which nobody kept alive.
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.CALL_PRESENCE_TIMEOUT_SECONDS + 1)):
        message = await m.receive_json_from(timeout=5)
    assert message == {"type": "peer-left", "peer_id": aw["you"]["id"], "since": aw["you"]["since"]}
    row = await sync_to_async(CallAttendance.objects.get)(peer_id=aw["you"]["id"])
    assert row.left_at is not None and row.left_at == row.last_seen


async def test_a_silent_client_is_closed(room, learner, fast_presence):
    a, _ = await joined(room, learner)
    out = await a.receive_json_from(timeout=5)
    assert out["code"] == "silent"
    assert (await a.receive_output(timeout=5))["code"] == CLOSE_SILENT
    await a.disconnect(code=CLOSE_SILENT)  # what Daphne reports once the close is done
    assert await sync_to_async(CallAttendance.objects.filter(left_at__isnull=False).count)() == 1


async def test_call_quality_reports_are_summed_per_participant(room, learner, settings):
    settings.CALL_STATS_SECONDS = 0  # every report counts here; the throttle has its own test
    a, _ = await joined(room, learner)
    report = {
        "type": "stats",
        "rtt_ms": 40,
        "loss_pct": 1.5,
        "in_kbps": 800,
        "out_kbps": 600,
        "local": "relay",
        "remote": "srflx",
        "protocol": "udp",
        "ice_restarts": 1,
        "reconnects": 0,
    }
    await a.send_json_to(report)
    await a.send_json_to({**report, "rtt_ms": 80, "loss_pct": None, "local": "host", "remote": "host", "reconnects": 2})
    await a.send_json_to({**report, "rtt_ms": -1})
    assert (await a.receive_json_from(timeout=5))["code"] == "bad_value"
    record = await sync_to_async(CallQuality.objects.get)(session=room, user=learner)
    assert (record.samples, record.rtt_ms_avg, record.rtt_ms_max, record.loss_pct_avg) == (2, 60, 80, 1.5)
    assert (record.in_kbps_avg, record.candidate_types, record.protocols, record.reconnects) == (
        800,
        "relay/srflx, host/host",
        "udp",
        2,
    )


async def test_a_consumer_that_stops_hearing_the_channel_layer_asks_its_client_to_reconnect(
    room, learner, fast_presence, settings, monkeypatch
):
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    deliver = layer.send

    async def lossy_send(channel, message):  # the layer loses what is sent to the consumer, as after a Redis restart
        if message.get("type") != "socket.echo":
            await deliver(channel, message)

    monkeypatch.setattr(layer, "send", lossy_send)
    settings.CALL_PRESENCE_TIMEOUT_SECONDS = 60  # the client is not silent: only the layer fails
    a, _ = await joined(room, learner)
    assert await a.receive_output(timeout=5) == {"type": "websocket.close", "code": 4012}
    await a.disconnect(code=4012)
    row = await sync_to_async(CallAttendance.objects.get)(user=learner)
    assert row.left_at is None  # the presence waits for the page to reconnect


async def test_call_quality_reports_faster_than_half_the_interval_are_ignored(room, learner, settings):
    settings.CALL_STATS_SECONDS = 15
    a, _ = await joined(room, learner)
    report = dict(STATS_REPORT)
    for _ in range(5):
        await a.send_json_to(report)
    await a.send_json_to({"type": "ping"})
    assert (await a.receive_json_from(timeout=5))["type"] == "pong"
    record = await sync_to_async(CallQuality.objects.get)(session=room, user=learner)
    assert record.samples == 1


async def test_a_user_deactivated_without_a_revocation_is_closed_by_the_heartbeat(room, learner, fast_presence):
    """A path that sends no revocation (Wagtail's bulk 'set active state' is a queryset update): the
    next heartbeat notices and closes the socket like a revocation."""
    from portal.accounts.models import User

    a, _ = await joined(room, learner)
    await sync_to_async(User.objects.filter(pk=learner.pk).update)(is_active=False)
    await a.send_json_to({"type": "ping"})
    out = await a.receive_json_from(timeout=5)
    while out["type"] != "error":
        out = await a.receive_json_from(timeout=5)
    assert out["code"] == "revoked"
    assert (await a.receive_output(timeout=5))["code"] == CLOSE_REVOKED


async def test_a_message_whose_handling_fails_costs_that_message_not_the_socket(
    room, mentor, learner, settings, monkeypatch
):
    """A failure while handling one frame (here: the database refusing a stats report) answers its
    sender with ``internal`` and nothing else; a failing channel-layer event is dropped. The socket,
    its presence and the room go on."""
    import signaling.consumers as consumers

    settings.CALL_STATS_SECONDS = 0

    def broken_record(**kwargs):
        raise RuntimeError("the database said no")

    async def broken_relay(self, event):
        raise RuntimeError("an event this consumer cannot handle")

    monkeypatch.setattr(consumers, "call_quality_record", broken_record)
    m, _ = await joined(room, mentor)
    a, welcome = await joined(room, learner)
    assert (await m.receive_json_from(timeout=5))["type"] == "peer-joined"
    report = dict(STATS_REPORT)
    await a.send_json_to(report)
    assert await a.receive_json_from(timeout=5) == {
        "type": "error",
        "code": "internal",
        "message": "The server could not handle that message. Your connection stays open.",
    }
    assert await m.receive_nothing(timeout=0.3)  # only the sender hears of it

    monkeypatch.setattr(consumers.CallConsumer, "relay_media_state", broken_relay)
    await m.send_json_to({"type": "media-state", "audio": True, "video": False, "screen": False})
    await a.send_json_to({"type": "ping", "t": 1})
    assert await a.receive_json_from(timeout=5) == {
        "type": "pong",
        "t": 1,
    }  # no error frame for the event: the client sent nothing wrong
    await m.send_json_to({"type": "chat", "text": "still with us?"})
    assert (await a.receive_json_from(timeout=5))["text"] == "still with us?"
    row = await sync_to_async(CallAttendance.objects.get)(peer_id=welcome["you"]["id"])
    assert row.left_at is None and not await sync_to_async(CallQuality.objects.exists)()


async def test_a_notification_socket_survives_a_frame_it_cannot_handle(learner, monkeypatch):
    from channels.layers import get_channel_layer

    from signaling.consumers import NotificationConsumer
    from signaling.groups import user_notifications_group

    async def broken_receive(self, text_data=None, bytes_data=None):
        raise RuntimeError("cannot handle it")

    monkeypatch.setattr(NotificationConsumer, "receive", broken_receive)
    socket = WebsocketCommunicator(application, "/ws/notifications/", headers=[ORIGIN])
    OPEN.append(socket)
    socket.scope["user"] = learner
    assert (await socket.connect(timeout=5))[0]
    await socket.send_to(text_data="anything")
    assert (await socket.receive_json_from(timeout=5))["code"] == "internal"
    await get_channel_layer().group_send(
        user_notifications_group(learner.pk), {"type": "notification.push", "notification": {"text": "hi"}}
    )
    assert await socket.receive_json_from(timeout=5) == {"type": "notification", "notification": {"text": "hi"}}


async def test_a_finished_consumer_leaves_nothing_subscribed_in_the_channel_layer(room, learner, settings, monkeypatch):
    """channels-redis's pub/sub layer unsubscribes a consumer's channel only when the consumer's
    receive is cancelled while it waits. Here a message for the consumer (an echo through the layer)
    is already delivered when the client goes away, both while the consumer is busy with a frame:
    nothing is cancelled, and before the fix the channel stayed subscribed in Redis for good."""
    import threading

    import redis.asyncio as aioredis
    from channels.layers import get_channel_layer

    import signaling.consumers as consumers

    settings.CALL_STATS_SECONDS = 0
    writing, write_may_end = threading.Event(), threading.Event()

    def slow_write(**kwargs):  # a slow database write: it lasts until the test lets it end
        writing.set()
        write_may_end.wait(timeout=10)

    monkeypatch.setattr(consumers, "call_quality_record", slow_write)
    layer = get_channel_layer()
    a, welcome = await joined(room, learner)
    channel = (await sync_to_async(CallAttendance.objects.get)(peer_id=welcome["you"]["id"])).connection
    await a.send_json_to(
        {
            "type": "stats",
            "rtt_ms": 1,
            "loss_pct": 0,
            "in_kbps": 1,
            "out_kbps": 1,
            "local": "",
            "remote": "",
            "protocol": "",
            "ice_restarts": 0,
            "reconnects": 0,
        }
    )
    assert await asyncio.to_thread(writing.wait, 5)  # the consumer is in the write now
    await layer.send(channel, {"type": "socket.echo"})
    # ... and the echo has reached the consumer's queue. Nothing signals that: the layer hands it over
    # only once the consumer asks again, after the write.
    await asyncio.sleep(0.2)
    await a.send_input({"type": "websocket.disconnect", "code": 1006})  # the network went away
    write_may_end.set()
    await a.wait(timeout=5)
    OPEN.remove(a)
    if settings.CHANNEL_LAYER == "pubsub":
        loop_layer = layer._get_layer()
        assert channel not in loop_layer.channels
        assert not [shard for shard in loop_layer._shards if channel in shard._subscribed_to]
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        try:
            assert await client.pubsub_numsub(channel) == [(channel.encode(), 0)]
        finally:
            await client.aclose()
    else:
        assert channel not in layer.receive_buffer


async def test_a_presence_that_ends_while_a_page_joins_is_no_ghost_in_its_list(room, mentor, learner, monkeypatch):
    """The new page reads who is present, then joins the room's group. A presence that ends in between
    (the same person's previous page saying goodbye, late on a busy machine) is announced before the
    new page can hear it: the page must not list it."""
    from signaling.consumers import CallConsumer

    m, mw = await joined(room, mentor)
    old, old_welcome = await joined(room, learner)
    await m.receive_json_from(timeout=5)  # peer-joined: the learner's old page
    real_join_groups = CallConsumer.join_groups
    leaving = {"page": old}

    async def goodbye_in_between(self, groups):
        if leaving.get("page") is not None and self.user_id == learner.pk:
            await leaving.pop("page").disconnect(
                code=1000
            )  # its goodbye is announced now, to a group the new page is not in yet
            assert (await m.receive_json_from(timeout=5))["type"] == "peer-left"
        await real_join_groups(self, groups)

    monkeypatch.setattr(CallConsumer, "join_groups", goodbye_in_between)
    _, welcome = await joined(room, learner)
    assert [p["id"] for p in welcome["peers"]] == [mw["you"]["id"]], welcome["peers"]
    assert old_welcome["you"]["id"] not in {p["id"] for p in welcome["peers"]}
