"""Requests that arrive at the same moment, over real HTTP, on both databases the site runs on: the
embedded SQLite of `make run` and PostgreSQL. Twenty learners for five seats, one person's form sent
twice at once (a double click that overlaps: publishing a session, a report, a sign-up). Concurrent
writers wait for each other instead of failing ("database is locked"), every rule is exact, the same
submission is done once, and no answer is a 5xx."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPRedirectHandler, Request, build_opener

import pytest
from django.conf import settings
from django.utils import timezone

from tests.races import LEARNERS, SEATS
from tests.servers import ROOT, DaphneProcess, database_url


class _NoRedirects(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = build_opener(_NoRedirects)


class Browser:
    """One person's cookies: their session (if signed in) and a CSRF secret, as a browser keeps them."""

    def __init__(self, base_url: str, session_key: str = ""):
        self.base_url = base_url
        self.csrf = secrets.token_hex(16)  # 32 characters: Django takes the secret itself as a token
        self.cookies = {settings.CSRF_COOKIE_NAME: self.csrf}
        if session_key:
            self.cookies[settings.SESSION_COOKIE_NAME] = session_key

    def post(self, path: str, data: dict) -> tuple[int, str, list[str]]:
        body = urlencode({**data, "csrfmiddlewaretoken": self.csrf}, doseq=True).encode()
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        request = Request(self.base_url + path, data=body, headers={"Cookie": cookie})
        try:
            with OPENER.open(request, timeout=90) as response:
                return (
                    response.status,
                    response.headers.get("Location", ""),
                    response.headers.get_all("Set-Cookie") or [],
                )
        except HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.headers.get_all("Set-Cookie") or []


def at_once(calls):
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def world(env: dict, command: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.races", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _site(env: dict, daphne: DaphneProcess | None, tmp_path) -> tuple[DaphneProcess, dict, dict]:
    env = {**DaphneProcess(env=env).env, **env}
    made = world(env, "setup")
    daphne = daphne or DaphneProcess(env=env, log_path=tmp_path / "daphne.log").start()
    return daphne, env, made


@pytest.fixture
def embedded_site(tmp_path):
    """As `make run` serves it: dev settings, SQLite, no Redis."""
    env = {
        "DJANGO_ENV": "dev",
        "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
        "REDIS_URL": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
    }
    daphne, env, made = _site(env, None, tmp_path)
    yield daphne, env, made
    daphne.stop()


@pytest.fixture
def postgres_site(live_db, daphne_server, tmp_path):
    from django.db import connection

    env = {
        "DJANGO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": database_url(connection.settings_dict),
    }
    return _site(env, daphne_server, tmp_path)


def test_on_the_embedded_database(embedded_site):
    writes_at_the_same_moment_are_exact_and_done_once(embedded_site)


def test_on_postgresql(postgres_site):
    writes_at_the_same_moment_are_exact_and_done_once(postgres_site)


def writes_at_the_same_moment_are_exact_and_done_once(server) -> None:
    daphne, env, made = server
    base, vendor = daphne.url, made["vendor"]
    answers: list[int] = []

    # Twenty learners press Book at the same moment for five seats; those refused join the waitlist at once.
    learners = [Browser(base, key) for key in made["learners"]]
    seats = f"/sessions/{made['seats_session']}"
    booked = at_once([lambda b=b: b.post(f"{seats}/book/", {}) for b in learners])
    waited = at_once([lambda b=b: b.post(f"{seats}/waitlist/", {}) for b in learners])
    answers += [status for status, _, _ in booked + waited]

    # A mentor's new-session form sent twice at once: with the form's one-time token, and without one.
    mentor = Browser(base, made["mentor"])
    starts = timezone.now() + timedelta(days=3)

    def publish(title: str, hour: int, token: str = ""):
        form = {
            "title": title,
            "description": "",
            "duration_minutes": "60",
            "capacity": "2",
            "starts_at": starts.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M"),
        }
        return mentor.post("/sessions/new/", {**form, "once": token} if token else form)

    token = secrets.token_urlsafe(16)
    published = at_once([lambda: publish("Twice with a token", 9, token)] * 2) + at_once(
        [lambda: publish("Twice without", 14)] * 2
    )
    answers += [status for status, _, _ in published]

    # A learner's report sent twice at once, with a token and without.
    reporter = learners[0]
    path = f"/sessions/{made['reported_session']}/report/"
    reported = at_once([lambda: reporter.post(path, {"reason": "other", "text": "Sent twice", "once": token})] * 2)
    reported += at_once([lambda: reporter.post(path, {"reason": "other", "text": "Sent twice, no token"})] * 2)
    answers += [status for status, _, _ in reported]

    # A sign-up sent twice at once from one browser: one account, and both answers sign the browser in.
    visitor = Browser(base)
    form = {
        "display_name": "Hurried Person",
        "email": "hurried@example.com",
        "password1": "correct-horse-battery-7",
        "password2": "correct-horse-battery-7",
        "role": "learner",
        "time_zone": "UTC",
        "once": secrets.token_urlsafe(16),
    }
    signed_up = at_once([lambda: visitor.post("/accounts/signup/", form)] * 2)
    answers += [status for status, _, _ in signed_up]

    counts = world(env, "count")
    server_errors = sum(status >= 500 for status in answers)
    signed_in = sum(
        any(c.startswith(f"{settings.SESSION_COOKIE_NAME}=") for c in cookies) for status, _, cookies in signed_up
    )
    print(
        f"\n[{vendor}] {LEARNERS} learners at once for {SEATS} seats -> {counts['booked']} booked, {counts['waiting']} waiting; "
        f"a session published twice at once -> {counts['published']['Twice with a token']} (with its form's token), "
        f"{counts['published']['Twice without']} (without); a report sent twice at once, twice -> {counts['reports']}; "
        f"a sign-up sent twice at once -> {counts['accounts']} account, {signed_in}/2 answers signed in; "
        f"{len(answers)} requests, {server_errors} 5xx"
    )
    assert server_errors == 0, sorted(answers)
    groups = {"book": booked, "waitlist": waited, "publish": published, "report": reported, "sign-up": signed_up}
    assert all(status == 302 for status in answers), {name: [a[:2] for a in group] for name, group in groups.items()}
    assert (counts["booked"], counts["booked_count"], counts["waiting"]) == (SEATS, SEATS, LEARNERS - SEATS)
    assert counts["published"] == {"Twice with a token": 1, "Twice without": 1}
    # Both answers to one submission lead to the one session it published.
    assert published[0][1] == published[1][1] and published[2][1] == published[3][1]
    assert counts["reports"] == 2
    assert counts["accounts"] == 1 and signed_in == 2
    assert signed_up[0][1] == signed_up[1][1]
