"""`make run` (settings/dev.py, DEBUG on) answers a wrong link with the site's own 404 page, never
Django's technical page listing every URL; static files and media still serve. Against a real
Daphne process with the development settings."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client

from mentoring.tests.factories import make_session
from tests.servers import DaphneProcess, database_url

SITE_404 = "We couldn't find that page"
DJANGO_DEBUG_PAGE = ("Using the URLconf", "technical_404", "Django tried these URL patterns")


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, cookie: str = "") -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


@pytest.fixture
def dev_server(live_db, tmp_path):
    (tmp_path / "avatar.txt").write_text("a media file")
    server = DaphneProcess(
        env={
            "DJANGO_ENV": "dev",
            "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
            "DEBUG": "true",
            "DATABASE_URL": database_url(connection.settings_dict),
            "MEDIA_ROOT": str(tmp_path),
        }
    ).start()
    yield server
    server.stop()


def test_dev_serves_the_site_404_and_403_pages_with_debug_on(dev_server, mentor, learner):
    base = dev_server.url
    session = make_session(mentor, title="Not yours", starts_in=timedelta(minutes=5))  # the learner has no seat
    cookies = {}
    for who in (learner,):
        client = Client()
        client.force_login(who)
        cookies[who.email] = f"sessionid={client.cookies['sessionid'].value}"

    not_found = {
        "an unknown page": f"{base}/no-such-page/",
        "an address no pattern matches": f"{base}/no.such.thing",
        "a view raising Http404": f"{base}/mentors/999999999/",
        "a room the learner has no seat in": (f"{base}/sessions/{session.room_id}/room/", cookies[learner.email]),
        "a room that does not exist": (f"{base}/sessions/{uuid.uuid4()}/room/", cookies[learner.email]),
        "a missing media file": f"{base}/media/missing.png",
    }
    checked = 0
    for what, target in not_found.items():
        url, cookie = target if isinstance(target, tuple) else (target, "")
        status, content_type, body = fetch(url, cookie)
        assert status == 404, (what, status)
        assert SITE_404 in body and content_type.startswith("text/html"), what
        assert not any(marker in body for marker in DJANGO_DEBUG_PAGE), what
        checked += 1

    # Django's redirect to the address with a slash still happens before the 404.
    status, _, _ = fetch(f"{base}/no-such-page")
    assert status == 301
    # Static files and media still serve.
    status, content_type, body = fetch(f"{base}/static/css/site.css")
    assert status == 200 and "text/css" in content_type and ".site-header" in body
    status, _, body = fetch(f"{base}/media/avatar.txt")
    assert status == 200 and body == "a media file"
    # Signed in, the 404 page is the site's page for that person (its header, not a bare page).
    _, _, body = fetch(not_found["a room the learner has no seat in"][0], cookies[learner.email])
    assert "Log out" in body
    print(
        f"\n[dev errors] DEBUG on: {checked} not-found cases got the site's 404, 0 showed Django's URL list; static and media ok"
    )
