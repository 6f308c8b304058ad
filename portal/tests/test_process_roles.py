"""PROCESS_ROLE on real Daphne processes: a web process serves pages and refuses sockets, a signaling
process serves sockets (a call's two people relay through it) and its health probes and refuses pages,
and a draining signaling process sends its sockets to another one of its pool."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mentoring.tests.factories import make_booking, make_session
from portal.tests.test_asgi import session_cookie_for
from portal.tests.test_health import get
from signaling.tests.test_scale_out import next_of
from tests.servers import DaphneProcess, database_url
from tests.waiting import wait_until
from tests.ws import handshake_status


def start_all(*processes: DaphneProcess) -> list[DaphneProcess]:
    with ThreadPoolExecutor(len(processes)) as pool:  # each imports the whole project: side by side
        return list(pool.map(DaphneProcess.start, processes))


@pytest.fixture(scope="module")
def pools(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    web, signaling = start_all(
        DaphneProcess(env={"DATABASE_URL": url, "PROCESS_ROLE": "web"}),
        DaphneProcess(env={"DATABASE_URL": url, "PROCESS_ROLE": "signaling"}),
    )
    yield web, signaling
    for process in (web, signaling):
        process.stop()


def status_of(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def room_socket(process: DaphneProcess, session, user, client: str):
    return connect(
        f"ws://127.0.0.1:{process.port}/ws/session/{session.room_id}/?client={client}",
        origin=process.url,
        additional_headers={"Cookie": session_cookie_for(user)},
        open_timeout=10,
        legacy=True,  # some are closed by the server, not by a with block
    )


@pytest.fixture
def live_call(live_db, mentor, learner):
    session = make_session(mentor, title="Split pools", starts_in=timedelta(minutes=5), capacity=2)
    make_booking(session, learner)
    return session


def test_a_web_process_serves_pages_and_health_and_refuses_every_socket(pools, live_call, learner):
    web, _ = pools
    assert status_of(f"{web.url}/")[0] == 200
    assert get(f"{web.url}/health/ready/")[0] == 200
    cookie = session_cookie_for(learner)
    for path in ("/ws/notifications/", f"/ws/session/{live_call.room_id}/"):
        assert handshake_status(web.port, path, origin=web.url, cookie=cookie) == 403
    assert "refused a WebSocket on a web process" in web.log_text()


def test_a_signaling_process_refuses_pages_answers_health_and_relays_a_call(pools, live_call, mentor, learner):
    _, signaling = pools
    for path in ("/", "/courses/", "/accounts/login/", "/static/css/site.css"):
        status, body = status_of(f"{signaling.url}{path}")
        assert status == 421 and "serves only call signaling" in body, (path, status)
    assert get(f"{signaling.url}/health/live/") == (200, {"status": "ok"})
    ready = get(f"{signaling.url}/health/ready/")
    assert ready[0] == 200 and ready[1]["status"] == "ok", ready
    cookie = session_cookie_for(learner)
    assert handshake_status(signaling.port, "/ws/notifications/", origin=signaling.url, cookie=cookie) == 101

    with (
        room_socket(signaling, live_call, mentor, "a" * 32) as m,
        room_socket(signaling, live_call, learner, "b" * 32) as lrn,
    ):
        m_id = next_of(m, "welcome")["you"]["id"]
        l_id = next_of(lrn, "welcome")["you"]["id"]
        lrn.send(json.dumps({"type": "signal", "to": m_id, "data": {"candidate": None}}))
        assert next_of(m, "signal") == {"type": "signal", "from": l_id, "data": {"candidate": None}}
        m.send(json.dumps({"type": "chat", "text": "on the signaling pool"}))
        assert next_of(lrn, "chat")["text"] == "on the signaling pool"


def test_a_draining_signaling_process_sends_its_sockets_to_another_of_its_pool(pools, live_call, mentor, learner):
    _, signaling = pools
    (draining,) = start_all(
        DaphneProcess(
            env={
                "DATABASE_URL": database_url(connection.settings_dict),
                "PROCESS_ROLE": "signaling",
                "SHUTDOWN_DRAIN_SECONDS": "1",
            }
        )
    )
    try:
        with room_socket(signaling, live_call, mentor, "c" * 32) as m:
            m_id = next_of(m, "welcome")["you"]["id"]
            lrn = room_socket(draining, live_call, learner, "d" * 32)
            first = next_of(lrn, "welcome")["you"]
            draining.proc.send_signal(signal.SIGTERM)
            wait_until(lambda: get(f"{draining.url}/health/ready/")[0] == 503, timeout=5, what="readiness failing")
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    lrn.recv(timeout=10)
            assert closed.value.rcvd.code == 4012  # reconnect, please
            # The page reconnects with the same client token; the proxy sends it to a ready process of the pool.
            with room_socket(signaling, live_call, learner, "d" * 32) as again:
                welcome = next_of(again, "welcome")
                reconnected = time.monotonic() - started
                assert welcome["resumed"] is True and welcome["you"]["id"] == first["id"]
                again.send(json.dumps({"type": "signal", "to": m_id, "data": {"candidate": None}}))
                assert next_of(m, "signal")["from"] == first["id"]
            print(
                f"\n[roles] drained signaling process: socket told 4012, resumed on another in {reconnected * 1000:.0f} ms"
            )
        draining.proc.wait(15)
    finally:
        draining.kill()
