"""Against a real Daphne process: a page that goes away (closing with 1001, or saying goodbye) is gone
for the others at once, also when messages to it were still on their way (the consumer must live to
run its disconnect)."""

from __future__ import annotations

import json
import secrets
import time
from datetime import timedelta

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mentoring.models import CallAttendance
from mentoring.tests.factories import make_booking, make_session
from signaling.tests.test_daphne_limits import cookie_for

ROUNDS = 4
SIGNALS = 60


def open_room(daphne_server, session, user):
    url = f"ws://127.0.0.1:{daphne_server.port}/ws/session/{session.room_id}/?client={secrets.token_hex(16)}"
    ws = connect(
        url,
        origin=f"http://127.0.0.1:{daphne_server.port}",
        additional_headers={"Cookie": cookie_for(user)},
        open_timeout=10,
        legacy=True,
    )
    welcome = json.loads(ws.recv(timeout=10))
    assert welcome["type"] == "welcome"
    return ws, welcome["you"]["id"]


def wait_for_peer_left(ws, peer_id: str, timeout: float = 10) -> float:
    started = time.monotonic()
    while True:
        left = timeout - (time.monotonic() - started)
        assert left > 0, f"no peer-left for {peer_id} within {timeout} s"
        message = json.loads(ws.recv(timeout=left))
        if message["type"] == "peer-left" and message["peer_id"] == peer_id:
            return time.monotonic() - started


def test_a_page_that_navigates_away_or_closes_mid_stream_leaves_at_once(
    live_server_url, daphne_server, mentor, learner
):
    session = make_session(mentor, title="Goodbyes", starts_in=timedelta(minutes=5), capacity=2)
    make_booking(session, learner)
    log_start = len(daphne_server.log_text())
    mentor_ws, _ = open_room(daphne_server, session, mentor)
    try:
        # The browser closes with 1001 ("going away") when the tab closes or navigates.
        learner_ws, learner_id = open_room(daphne_server, session, learner)
        learner_ws.close(code=1001)
        going_away_s = wait_for_peer_left(mentor_ws, learner_id)

        # Signals to the learner are still being relayed when its socket closes: each one is
        # sent to a closed connection, and the learner must still be gone at once.
        mid_stream = []
        for _ in range(ROUNDS):
            learner_ws, learner_id = open_room(daphne_server, session, learner)
            offer = {
                "type": "signal",
                "to": learner_id,
                "data": {"description": {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 500}},
            }
            for _ in range(SIGNALS):
                mentor_ws.send(json.dumps(offer))
            learner_ws.send(json.dumps({"type": "leave"}))  # goodbye, while the signals to it are still arriving
            mid_stream.append(wait_for_peer_left(mentor_ws, learner_id, timeout=10))  # the sweep would take 30 s
            time.sleep(1.5)  # within the sender's allowance: 40 messages a second on average

        mid_stream_s = max(mid_stream)
    finally:
        mentor_ws.close()
    try:
        mentor_ws.recv(timeout=1)
    except (ConnectionClosed, TimeoutError):
        pass
    assert not CallAttendance.objects.filter(session=session, user=learner, left_at__isnull=True).exists()
    log = daphne_server.log_text()[log_start:]
    assert "Traceback" not in log, log[log.find("Traceback") :][:3000]
    print(
        f"\n[goodbye] closed with 1001: gone for the others in {going_away_s * 1000:.0f} ms; said goodbye while {SIGNALS} signals "
        f"were on their way to it: gone in {mid_stream_s * 1000:.0f} ms, no traceback"
    )
