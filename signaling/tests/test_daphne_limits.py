"""Against a real Daphne process: an oversized frame is refused and healthy sockets keep relaying."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mentoring.tests.factories import make_booking, make_session


def cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def test_oversized_frame_is_refused_while_20_healthy_sockets_keep_relaying(
    live_server_url, daphne_server, mentor, learner
):
    session = make_session(mentor, title="Limits", starts_in=timedelta(minutes=5), capacity=2)
    make_booking(session, learner)
    url = f"ws://127.0.0.1:{daphne_server.port}/ws/session/{session.room_id}/"
    origin = f"http://127.0.0.1:{daphne_server.port}"
    cookies = {mentor.pk: cookie_for(mentor), learner.pk: cookie_for(learner)}

    peer_ids = {}

    def open_socket(user):
        ws = connect(
            url,
            origin=origin,
            additional_headers={"Cookie": cookies[user.pk]},
            max_size=2**20,
            open_timeout=10,
            legacy=True,
        )
        welcome = json.loads(ws.recv(timeout=10))
        assert welcome["type"] == "welcome"
        peer_ids[ws] = welcome["you"]["id"]
        return ws

    healthy = [open_socket(mentor if i % 2 else learner) for i in range(20)]
    attacker = open_socket(learner)
    try:
        attacker.send(json.dumps({"type": "chat", "text": "x" * (70 * 1024)}))
        replies = []
        try:
            while True:
                replies.append(json.loads(attacker.recv(timeout=10)))
        except ConnectionClosed as closed:
            close_code = closed.rcvd.code if closed.rcvd else None
        assert any(r.get("code") == "too_big" for r in replies)
        assert close_code == 4009

        # After the attack every healthy socket still relays: each says a line, and each gets all
        # 20 (its own echoed), stamped with the sender's peer id.
        for index, ws in enumerate(healthy):
            ws.send(json.dumps({"type": "chat", "text": f"line {index}"}))
        answered = 0
        expected = {(peer_ids[other], f"line {i}") for i, other in enumerate(healthy)}
        for ws in healthy:
            heard = set()
            while heard != expected:
                message = json.loads(ws.recv(timeout=10))
                if message["type"] == "chat":
                    heard.add((message["from"], message["text"]))
            answered += 1
        # Far over the limit, Daphne itself refuses the message before the application sees it.
        huge = open_socket(learner)
        huge.send(json.dumps({"type": "chat", "text": "x" * (200 * 1024)}))
        seen = []
        try:
            while True:
                seen.append(json.loads(huge.recv(timeout=10)))
        except ConnectionClosed as closed:
            huge_code = closed.rcvd.code if closed.rcvd else None
        print(
            f"\n[limits] oversized frame closed with {close_code}; 200 KiB refused by Daphne with {huge_code}; "
            f"{answered}/20 healthy sockets got all 20 chat lines"
        )
        # autobahn fails such a connection (1009, or dropped without a close frame); either way it is gone.
        assert answered == 20 and huge_code in (1009, None)
        assert not [m for m in seen if m.get("code") == "too_big"]  # the application never got it
    finally:
        for ws in [*healthy, attacker]:
            ws.close()
