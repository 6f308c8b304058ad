"""``screen-share``: the server stamps who started or stopped sharing and when, and tells the whole
room; nobody can speak for someone else. (Which share wins is the pages' decision: see
tests/browser/test_screen_share.py.)"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from mentoring.tests.factories import make_booking, make_session
from signaling.protocol import ProtocolError, ScreenShare, parse_client_message
from signaling.tests.test_call_consumer import _close_every_socket, joined  # noqa: F401 (the fixture closes sockets)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(mentor, learner, other_learner):
    session = make_session(mentor, title="Room", starts_in=timedelta(minutes=5), capacity=3)
    make_booking(session, learner)
    make_booking(session, other_learner)
    return session


@pytest.mark.parametrize("action", ["start", "stop"])
def test_the_validator_takes_start_and_stop(action):
    assert parse_client_message(json.dumps({"type": "screen-share", "action": action})) == ScreenShare(action)


FORGED = [
    ({"type": "screen-share"}, "missing_field"),
    ({"type": "screen-share", "action": "take-over"}, "bad_value"),
    ({"type": "screen-share", "action": "START"}, "bad_value"),
    ({"type": "screen-share", "action": True}, "bad_value"),
    ({"type": "screen-share", "action": ["start"]}, "bad_value"),
    ({"type": "screen-share", "action": {"start": 1}}, "bad_value"),
    ({"type": "screen-share", "action": None}, "bad_value"),
    # Speaking for someone else: whatever names another peer, or stamps a time, is refused whole.
    ({"type": "screen-share", "action": "stop", "from": "0123456789abcdef"}, "unknown_field"),
    ({"type": "screen-share", "action": "start", "peer": "0123456789abcdef"}, "unknown_field"),
    ({"type": "screen-share", "action": "start", "name": "Maya Mentor"}, "unknown_field"),
    ({"type": "screen-share", "action": "start", "at": "2999-01-01T00:00:00+00:00"}, "unknown_field"),
]


@pytest.mark.parametrize(("frame", "code"), FORGED)
def test_the_validator_refuses_anything_else(frame, code):
    with pytest.raises(ProtocolError) as refused:
        parse_client_message(json.dumps(frame))
    assert refused.value.code == code


async def test_a_share_is_stamped_by_the_server_and_reaches_everyone_the_sender_too(
    room, mentor, learner, other_learner
):
    m, mw = await joined(room, mentor)
    a, aw = await joined(room, learner)
    b, _ = await joined(room, other_learner)
    await m.receive_json_from(timeout=5), await m.receive_json_from(timeout=5), await a.receive_json_from(timeout=5)
    stamps = []
    for action in ("start", "stop"):
        await a.send_json_to({"type": "screen-share", "action": action})
        for c in (m, a, b):
            got = await c.receive_json_from(timeout=5)
            assert set(got) == {"type", "from", "name", "action", "at"}
            assert (got["type"], got["from"], got["name"], got["action"]) == (
                "screen-share",
                aw["you"]["id"],
                "Alice Learner",
                action,
            )
            stamps.append(datetime.fromisoformat(got["at"]))
    assert len(set(stamps[:3])) == 1 and len(set(stamps[3:])) == 1 and stamps[3] >= stamps[0]
    for c in (m, a, b):
        await c.disconnect()


async def test_a_forged_share_for_someone_else_changes_nothing(room, mentor, learner, other_learner):
    m, mw = await joined(room, mentor)
    a, aw = await joined(room, learner)
    b, bw = await joined(room, other_learner)
    await m.receive_json_from(timeout=5), await m.receive_json_from(timeout=5), await a.receive_json_from(timeout=5)
    refused = 0
    for frame, code in FORGED:
        # Bob tries to start or stop a share in Alice's or the mentor's name.
        frame = {**frame, **({"from": aw["you"]["id"]} if code == "unknown_field" and "from" in frame else {})}
        await b.send_json_to(frame)
        reply = await b.receive_json_from(timeout=5)
        assert (reply["type"], reply["code"]) == ("error", code), frame
        refused += 1
    for c in (m, a):
        assert await c.receive_nothing(timeout=0.3)
    # The room goes on: Bob's own share is announced as his, and only his.
    await b.send_json_to({"type": "screen-share", "action": "start"})
    for c in (m, a, b):
        got = await c.receive_json_from(timeout=5)
        assert (got["from"], got["name"]) == (bw["you"]["id"], "Bob Learner")
    print(f"\n[share] forged screen-share frames refused {refused}/{len(FORGED)}, relayed 0")
    for c in (m, a, b):
        await c.disconnect()
