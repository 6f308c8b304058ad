"""Against a real Daphne process: text no UTF-8 can carry (a lone UTF-16 surrogate, spelled "\\ud800"
in JSON) or control characters in any text field of a call frame get their sender an ``error`` frame;
the socket stays open, the room keeps relaying and nothing is stored or relayed."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mentoring.models import CallAttendance, CallQuality
from mentoring.tests.factories import make_booking, make_session
from signaling.tests.test_daphne_limits import cookie_for

HOSTILE = {
    "lone high surrogate": "hi \ud800",
    "lone low surrogate": "\udfff there",
    "surrogates in the wrong order": "a\udc00\ud800b",
    "NUL": "hi\x00there",
    "escape sequence": "\x1b[31mred",
    "C1 control (NEL)": "line\x85break",
}
SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
STATS = {
    "rtt_ms": 20,
    "loss_pct": 0,
    "in_kbps": 10,
    "out_kbps": 10,
    "local": "host",
    "remote": "host",
    "protocol": "udp",
    "ice_restarts": 0,
    "reconnects": 0,
}


def frames_with(value: str, to: str) -> dict[str, dict]:
    """One frame per text field of the protocol, each otherwise valid, with ``value`` in that field."""
    candidate = {
        "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "abcd",
    }
    return {
        "chat.text": {"type": "chat", "text": value},
        "signal description.sdp": {
            "type": "signal",
            "to": to,
            "data": {"description": {"type": "offer", "sdp": SDP + value}},
        },
        "signal candidate.candidate": {
            "type": "signal",
            "to": to,
            "data": {"candidate": {**candidate, "candidate": value}},
        },
        "signal candidate.sdpMid": {"type": "signal", "to": to, "data": {"candidate": {**candidate, "sdpMid": value}}},
        "signal candidate.usernameFragment": {
            "type": "signal",
            "to": to,
            "data": {"candidate": {**candidate, "usernameFragment": value}},
        },
        "stats.local": {"type": "stats", **STATS, "local": value},
    }


def open_room(port: int, session, user):
    url = f"ws://127.0.0.1:{port}/ws/session/{session.room_id}/?client={secrets.token_hex(16)}"
    ws = connect(
        url,
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"Cookie": cookie_for(user)},
        open_timeout=10,
        legacy=True,
    )
    welcome = json.loads(ws.recv(timeout=10))
    assert welcome["type"] == "welcome"
    return ws, welcome["you"]["id"]


def next_of(ws, kinds: set[str], timeout: float = 10) -> dict:
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["type"] in kinds:
            return message


def test_unencodable_or_control_text_in_any_field_gets_an_error_and_the_room_goes_on(
    live_server_url, daphne_server, mentor, learner
):
    session = make_session(mentor, title="Hostile text", starts_in=timedelta(minutes=5), capacity=2)
    make_booking(session, learner)
    log_start = len(daphne_server.log_text())
    mentor_ws, mentor_id = open_room(daphne_server.port, session, mentor)
    learner_ws, _ = open_room(daphne_server.port, session, learner)
    closed = 0
    errors: list[tuple[str, str, str]] = []
    try:
        next_of(mentor_ws, {"peer-joined"})
        fields = 0
        for label, value in HOSTILE.items():
            frames = frames_with(value, mentor_id)
            fields = len(frames)
            for field, frame in frames.items():
                raw = json.dumps(frame)  # ensure_ascii: the surrogate travels as the JSON escape \ud800
                assert raw.isascii()
                try:
                    learner_ws.send(raw)
                    answer = next_of(learner_ws, {"error", "chat"})
                except ConnectionClosed:
                    closed += 1
                    learner_ws, _ = open_room(daphne_server.port, session, learner)
                    continue
                assert answer["type"] == "error", (label, field, answer)
                errors.append((label, field, answer["code"]))
        # The socket is open and the room relays: a CRLF SDP to the mentor, a chat line to both.
        learner_ws.send(
            json.dumps({"type": "signal", "to": mentor_id, "data": {"description": {"type": "offer", "sdp": SDP}}})
        )
        learner_ws.send(json.dumps({"type": "chat", "text": "still here ✓"}))
        signal = next_of(mentor_ws, {"signal", "chat"})
        assert (
            signal["type"] == "signal" and signal["data"]["description"]["sdp"] == SDP
        )  # the first thing relayed: nothing hostile came before
        assert next_of(mentor_ws, {"signal", "chat"})["text"] == "still here ✓"
        assert next_of(learner_ws, {"chat", "error"})["text"] == "still here ✓"
    finally:
        mentor_ws.close()
        learner_ws.close()
    log = daphne_server.log_text()[log_start:]
    tracebacks = log.count("Traceback")
    print(
        f"\n[surrogate] {len(HOSTILE) * fields} hostile frames ({len(HOSTILE)} kinds x {fields} fields): "
        f"error frames {len(errors)} ({', '.join(sorted({code for *_, code in errors}))}), sockets closed {closed}, "
        f"tracebacks {tracebacks}; a CRLF SDP and a chat line relayed afterwards"
    )
    assert closed == 0 and tracebacks == 0, log[-3000:]
    assert len(errors) == len(HOSTILE) * fields and {code for *_, code in errors} == {"bad_value"}
    assert not CallQuality.objects.exists()  # the stats frames were refused, not stored
    assert CallAttendance.objects.filter(session=session).count() == 2
