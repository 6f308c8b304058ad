"""SIGTERM to a real Daphne: readiness fails first, then open sockets are asked to reconnect (4012),
then the process exits."""

from __future__ import annotations

import json
import signal
import time
from datetime import timedelta

from django.db import connection
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mentoring.models import CallAttendance
from mentoring.tests.factories import make_booking, make_session
from portal.tests.test_health import get
from signaling.tests.test_scale_out import cookie_for
from tests.servers import DaphneProcess, database_url
from tests.waiting import wait_until


def test_sigterm_fails_readiness_then_asks_sockets_to_reconnect_then_exits(live_db, mentor, learner):
    session = make_session(mentor, title="Drain", starts_in=timedelta(minutes=5), capacity=2)
    make_booking(session, learner)
    server = DaphneProcess(
        env={"DATABASE_URL": database_url(connection.settings_dict), "SHUTDOWN_DRAIN_SECONDS": "5"}
    ).start()
    try:
        with connect(
            f"ws://127.0.0.1:{server.port}/ws/session/{session.room_id}/",
            origin=server.url,
            additional_headers={"Cookie": cookie_for(learner)},
            open_timeout=10,
        ) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
            assert get(f"{server.url}/health/ready/")[0] == 200
            server.proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            wait_until(
                lambda: get(f"{server.url}/health/ready/") == (503, {"status": "draining"}),
                timeout=4.5,
                what="readiness failing within the drain time",
            )
            not_ready = time.monotonic() - sent
            assert get(f"{server.url}/health/live/")[0] == 200  # still serving while it drains
            ws.send(json.dumps({"type": "ping"}))  # the socket still works while readiness fails
            assert json.loads(ws.recv(timeout=5))["type"] == "pong"
            try:
                while True:
                    ws.recv(timeout=20)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
            asked = time.monotonic() - sent
            server.proc.wait(30)
            exited = time.monotonic() - sent
            print(
                f"\n[shutdown] SIGTERM: readiness 503 after {not_ready * 1000:.0f} ms; sockets told to reconnect (4012) "
                f"after {asked:.1f} s; process exited after {exited:.1f} s with {server.proc.returncode}"
            )
            # Order, not speed: readiness first, sockets asked to reconnect only after the drain time, then exit.
            assert code == 4012 and asked >= 5 and server.proc.returncode is not None
            # The call presence waits for the page to reconnect to another process.
            assert CallAttendance.objects.get(user=learner).left_at is None
    finally:
        server.kill()
