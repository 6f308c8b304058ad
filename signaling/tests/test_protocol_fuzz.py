"""Property-based fuzzing of the signaling validator and the consumer (hypothesis)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mentoring.demo import _book_directly
from mentoring.models import Session
from mentoring.tests.factories import make_session
from portal.asgi import application
from signaling.protocol import ProtocolError, parse_client_message

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
json_value = st.recursive(json_leaf, lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)), max_leaves=12)
KEYS = ["type", "to", "data", "text", "audio", "video", "screen", "t", "from", "description", "candidate", "sdp"]
TYPES = ["signal", "chat", "media-state", "leave", "ping", "welcome", "error", "", "SIGNAL"]
near_valid = st.dictionaries(st.sampled_from(KEYS), st.one_of(json_value, st.sampled_from(TYPES), st.just("0123456789abcdef")), max_size=5).map(
    lambda d: {**d, "type": d.get("type", "chat")}
)
peer_id = st.one_of(st.just("0123456789abcdef"), st.text(alphabet="0123456789abcdef", min_size=15, max_size=17))
valid_like = st.one_of(
    st.fixed_dictionaries({"type": st.just("chat"), "text": st.text(max_size=60)}),
    st.fixed_dictionaries({"type": st.just("media-state"), "audio": st.booleans(), "video": st.booleans(), "screen": st.one_of(st.booleans(), json_leaf)}),
    st.fixed_dictionaries({"type": st.just("ping")}, optional={"t": st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=3))}),
    st.fixed_dictionaries({"type": st.just("leave")}),
    st.fixed_dictionaries({
        "type": st.just("signal"), "to": peer_id,
        "data": st.one_of(
            st.fixed_dictionaries({"description": st.fixed_dictionaries({"type": st.sampled_from(["offer", "answer", "rollback", "bogus"]), "sdp": st.text(max_size=40)})}),
            st.fixed_dictionaries({"candidate": st.one_of(st.none(), st.fixed_dictionaries({"candidate": st.text(max_size=40)}, optional={"sdpMid": st.one_of(st.none(), st.text(max_size=5)), "sdpMLineIndex": st.one_of(st.none(), st.integers(-3, 70), st.booleans())}))}),
            json_value,
        ),
    }),
)
mutated = st.tuples(valid_like, st.dictionaries(st.sampled_from(KEYS), json_value, max_size=1)).map(lambda p: {**p[1], **p[0]} if p[1].keys() - {"type"} == set() else {**p[0], **p[1]})
frames = st.one_of(st.text(max_size=200), json_value.map(json.dumps), near_valid.map(json.dumps), valid_like.map(json.dumps), mutated.map(json.dumps))

COUNTS = {"parsed": 0, "valid": 0, "refused": 0}
CONSUMER_RUNS: list[int] = []

SERVER_TYPES = {"welcome", "peer-joined", "peer-left", "signal", "chat", "media-state", "pong", "error"}


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_validator_never_crashes_and_only_accepts_closed_shapes(raw):
    COUNTS["parsed"] += 1
    try:
        message = parse_client_message(raw)
    except ProtocolError as error:
        COUNTS["refused"] += 1
        assert error.frame()["type"] == "error" and error.code
        return
    COUNTS["valid"] += 1
    obj = json.loads(raw)
    allowed = {"signal": {"type", "to", "data"}, "chat": {"type", "text"}, "media-state": {"type", "audio", "video", "screen"},
               "leave": {"type"}, "ping": {"type", "t"}}[obj["type"]]
    assert set(obj) <= allowed  # nothing unknown got through
    assert type(message).__name__ in {"Signal", "Chat", "MediaState", "Leave", "Ping"}


def test_zz_report_validator_figures():
    print(f"\n[fuzz] validator: {COUNTS['parsed']} generated frames, {COUNTS['valid']} valid, {COUNTS['refused']} refused, 0 crashes")
    assert COUNTS["parsed"] >= 1000
    if CONSUMER_RUNS:
        print(f"[fuzz] consumer: {sum(CONSUMER_RUNS)} fuzzed frames over {len(CONSUMER_RUNS)} rooms, 0 crashes, 0 invalid relays")


@pytest.mark.django_db(transaction=True)
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.generate])
@given(st.lists(frames.map(lambda f: f if f.strip() and '"leave"' not in f else '{"type": "ping"}'), min_size=80, max_size=80))
def test_consumer_survives_fuzzed_frames_and_relays_only_valid_messages(mentor, learner, inputs):
    CONSUMER_RUNS.append(len(inputs))
    session = make_session(mentor, title="Fuzz room", starts_at=timezone.now() + timedelta(minutes=1, hours=len(CONSUMER_RUNS) * 2 - 2), capacity=2)
    if len(CONSUMER_RUNS) > 1:  # later examples: move the room into its join window
        Session.objects.filter(mentor=mentor).exclude(pk=session.pk).update(status="cancelled")
        Session.objects.filter(pk=session.pk).update(starts_at=timezone.now() + timedelta(minutes=1), ends_at=timezone.now() + timedelta(minutes=61))
    _book_directly(session, learner)
    relayed: list[dict] = []
    sent = [0]

    async def scenario():
        async def connect(user):
            c = WebsocketCommunicator(application, f"/ws/session/{session.room_id}/", headers=[(b"origin", b"http://127.0.0.1")])
            c.scope["user"] = user
            assert (await c.connect(timeout=5))[0]
            await c.receive_json_from(timeout=5)
            return c

        watcher = await connect(mentor)
        fuzzer = await connect(learner)
        await watcher.receive_json_from(timeout=5)  # peer-joined
        for index, raw in enumerate(inputs):
            if index % 50 == 0:  # a known-good chat now and then proves the room still relays
                await fuzzer.send_to(text_data=json.dumps({"type": "chat", "text": f"canary {index}"}))
            await fuzzer.send_to(text_data=raw)
            sent[0] += 1
            # The fuzzer gets an error, an echo or nothing; drain without waiting long.
            while not await fuzzer.receive_nothing(timeout=0.01):
                out = await fuzzer.receive_output(timeout=1)
                if out["type"] == "websocket.close":
                    return
        await fuzzer.send_to(text_data=json.dumps({"type": "chat", "text": "final canary"}))
        while True:  # frames are processed in order: everything is through once the final canary is
            message = await watcher.receive_json_from(timeout=30)
            relayed.append(message)
            if message.get("text") == "final canary":
                break
        await watcher.disconnect()
        await fuzzer.disconnect()

    with settings_patch():
        async_to_sync(scenario)()
    for message in relayed:
        assert message["type"] in SERVER_TYPES
        if message["type"] == "chat":
            assert set(message) == {"type", "from", "name", "text", "at"} and isinstance(message["text"], str)
        if message["type"] == "media-state":
            assert set(message) == {"type", "from", "audio", "video", "screen"}
    assert sent[0] == len(inputs)
    canaries = [m["text"] for m in relayed if m.get("type") == "chat" and m["text"].endswith("canary") or m.get("text", "").startswith("canary")]
    assert len(canaries) == len(inputs) // 50 + (1 if len(inputs) % 50 else 0) + 1, canaries
    print(f"\n[fuzz] consumer example {len(CONSUMER_RUNS)}: {sent[0]} fuzzed frames from one peer, {len(relayed)} relayed to the other, all valid; 0 crashes")


class settings_patch:
    """Lift the rate limit for this test only: it is about malformed input, not floods."""

    def __enter__(self):
        from signaling.consumers import CallConsumer

        self.old = CallConsumer.RATE_BURST
        CallConsumer.RATE_BURST = 10_000

    def __exit__(self, *exc):
        from signaling.consumers import CallConsumer

        CallConsumer.RATE_BURST = self.old
