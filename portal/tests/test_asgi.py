"""The ASGI application behind a real Daphne process."""

from __future__ import annotations

import urllib.request

from django.conf import settings
from django.test import Client

from tests.ws import handshake_status


def session_cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def test_daphne_serves_the_landing_page_and_static_files(live_server_url):
    with urllib.request.urlopen(live_server_url + "/") as response:
        assert response.status == 200
        html = response.read().decode()
    assert "Learn faster with a mentor" in html
    with urllib.request.urlopen(live_server_url + "/static/css/site.css") as response:
        assert response.status == 200
        assert b".site-header" in response.read()


def test_websocket_from_a_foreign_origin_is_refused(live_server_url, daphne_server, learner):
    cookie = session_cookie_for(learner)
    port = daphne_server.port

    assert handshake_status(port, "/ws/notifications/", origin=f"http://127.0.0.1:{port}", cookie=cookie) == 101
    assert handshake_status(port, "/ws/notifications/", origin="https://evil.example.com", cookie=cookie) == 403


def test_websocket_without_login_is_refused(live_server_url, daphne_server):
    port = daphne_server.port
    assert handshake_status(port, "/ws/notifications/", origin=f"http://127.0.0.1:{port}") == 403

