"""The production settings on real responses: a Daphne process started with ``DJANGO_ENV=production``
and the documented variables, spoken to the way the TLS-terminating proxy speaks to it (its own
host name, ``X-Forwarded-Proto: https``).

Every response, redirects included, of ``/``, a course page, the site login, the admin login, the
dashboard and a live call room must carry HSTS, a Content Security Policy, ``X-Frame-Options: DENY``,
``nosniff``, the referrer and opener policies; every cookie it sets must be ``Secure`` and
``SameSite=Lax``, the session and messages cookies also ``HttpOnly`` (the CSRF cookie need not be:
Django's default, and nothing here reads it from script). ``X-Frame-Options: SAMEORIGIN`` appears
only on Wagtail's preview views (``xframe_options_sameorigin_override``, for its live preview frame),
none of which is fetched here, so DENY is required throughout. The admins' CSP allows their inline
scripts (``portal/csp.py``); the site's pages must not. Pages from the anonymous page cache are
checked too (production's ``PAGE_CACHE_SECONDS``).
"""

from __future__ import annotations

import http.client
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import redis
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from cms_pages.tests.factories import make_catalog, make_course
from conftest import PASSWORD
from mentoring.services.bookings import booking_create
from mentoring.tests.factories import make_session
from portal.tests.test_settings import PRODUCTION_ENV, run_manage
from tests.http import CSRF_RE
from tests.servers import DaphneProcess, database_url

# Its own Redis database and, per run, its own host name and channel prefix: pages cached by this
# server (keyed by host) and its sessions never meet another test's.
REDIS_URL = "redis://127.0.0.1:6379/13"
HSTS_MIN_SECONDS = 31536000
HEADER_CHECKS = (
    "Strict-Transport-Security",
    "Content-Security-Policy",
    "CSP script-src",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)
ADMIN_PREFIXES = ("/admin/", "/cms/")


def production_env(*, host: str, static_root: Path, database: str) -> dict[str, str]:
    """The variables README "Deploy" documents for a process behind a TLS proxy."""
    return {
        "DJANGO_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": database,
        "REDIS_URL": REDIS_URL,
        "CHANNEL_LAYER_PREFIX": f"peerlearn-headers-{secrets.token_hex(4)}",
        "ALLOWED_HOSTS": host,
        "CSRF_TRUSTED_ORIGINS": f"https://{host}",
        "SITE_URL": f"https://{host}",
        "BEHIND_PROXY": "true",
        "STATIC_ROOT": str(static_root),
        "MEDIA_ROOT": str(static_root.parent / "media"),
        "PAGE_CACHE_SECONDS": "300",  # production's default: cached pages must carry the headers too
    }


@dataclass
class Seen:
    method: str
    path: str
    status: int
    headers: Message
    body: str

    def __str__(self) -> str:
        cache = self.headers["X-Page-Cache"]
        return f"{self.method} {self.path} ({self.status}{f', page cache {cache}' if cache else ''})"


class ProxiedClient:
    """Plays the proxy in front of Daphne: sends the public host name and, unless told otherwise,
    ``X-Forwarded-Proto: https``. Keeps cookies itself (a cookie jar would not send ``Secure``
    cookies over the plain-HTTP hop) and follows redirects by hand so each response is seen."""

    def __init__(self, port: int, host: str):
        self.port, self.host = port, host
        self.cookies: dict[str, str] = {}
        self.seen: list[Seen] = []

    def request(
        self, method: str, path: str, *, data: dict | None = None, https: bool = True, host: str | None = None
    ) -> Seen:
        headers = {"Host": host or self.host, "User-Agent": "peerlearn-headers-test"}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data).encode()
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"https://{self.host}",
                "Referer": f"https://{self.host}{path}",
            }
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            seen = Seen(method, path, response.status, response.msg, response.read().decode(errors="replace"))
        finally:
            conn.close()
        for header in seen.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return seen

    def fetch(self, path: str, *, data: dict | None = None) -> Seen:
        """One request and every redirect after it (same host only); returns the last response."""
        seen = self.request("POST" if data is not None else "GET", path, data=data)
        self.seen.append(seen)
        for _ in range(5):
            if seen.status not in (301, 302, 303, 307, 308):
                return seen
            location = urlsplit(seen.headers["Location"])
            assert location.netloc in ("", self.host), f"{seen} redirects off the site: {seen.headers['Location']}"
            seen = self.request("GET", location.path + (f"?{location.query}" if location.query else ""))
            self.seen.append(seen)
        raise AssertionError(f"too many redirects from {path}")


def csrf_token(page: Seen) -> str:
    return CSRF_RE.search(page.body).group(1)


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        if part.strip():
            name, *values = part.split()
            parsed[name.lower()] = values
    return parsed


def header_misses(seen: Seen) -> list[str]:
    """One entry per header check this response fails (empty when it passes all of HEADER_CHECKS)."""
    h, misses = seen.headers, []
    admin = seen.path.startswith(ADMIN_PREFIXES)

    hsts = (h["Strict-Transport-Security"] or "").lower()
    max_age = re.search(r"max-age=(\d+)", hsts)
    if not max_age or int(max_age.group(1)) < HSTS_MIN_SECONDS or "includesubdomains" not in hsts:
        misses.append(f"Strict-Transport-Security: {h['Strict-Transport-Security']!r}")

    csp = directives(h["Content-Security-Policy"] or "")
    ancestors = ["'self'"] if admin else ["'none'"]
    if (
        csp.get("default-src") != ["'self'"]
        or csp.get("object-src") != ["'none'"]
        or csp.get("frame-ancestors") != ancestors
    ):
        misses.append(f"Content-Security-Policy: {h['Content-Security-Policy']!r}")
    script_src = csp.get("script-src")
    if script_src is None or (not admin and ({"'unsafe-inline'", "'unsafe-eval'"} & set(script_src))):
        misses.append(f"CSP script-src: {script_src!r}")

    expected = {
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    misses += [f"{name}: {h[name]!r}" for name, value in expected.items() if (h[name] or "").upper() != value.upper()]
    return [f"{seen}: {miss}" for miss in misses]


def cookie_misses(seen: Seen) -> tuple[int, list[str]]:
    """Checks every cookie the response sets with a value (deletions set nothing to protect)."""
    checked, misses = 0, []
    for header in seen.headers.get_all("Set-Cookie") or []:
        for name, morsel in SimpleCookie(header).items():
            if not morsel.value or morsel["max-age"] == "0":
                continue
            checked += 1
            if not morsel["secure"]:
                misses.append(f"{seen}: cookie {name} without Secure")
            if morsel["samesite"].lower() != "lax":
                misses.append(f"{seen}: cookie {name} SameSite={morsel['samesite']!r}")
            if name in ("sessionid", "messages") and not morsel["httponly"]:
                misses.append(f"{seen}: cookie {name} without HttpOnly")
    return checked, misses


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    """collectstatic with production's hashed, compressed storage, as the Dockerfile does at build time."""
    root = tmp_path_factory.mktemp("production") / "static"
    env = {**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64), "REDIS_URL": REDIS_URL, "STATIC_ROOT": str(root)}
    started = time.monotonic()
    result = run_manage("collectstatic", "--no-input", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    print(
        f"\n[headers] collectstatic (production storage) into a temporary STATIC_ROOT: {time.monotonic() - started:.1f} s; "
        f"{result.stdout.strip().splitlines()[-1]}"
    )
    return root


@dataclass
class Deployment:
    server: DaphneProcess
    host: str
    clients: list[ProxiedClient]

    def client(self) -> ProxiedClient:
        self.clients.append(ProxiedClient(self.server.port, self.host))
        return self.clients[-1]


def forget_cached(*, host: str, sessions: Iterable[str] = ()) -> None:
    """Drops what a server left in the test's Redis database: its pages (keyed by its host), the given
    sessions, and the cached site data (Wagtail site paths, site chrome, rate limits) that another run,
    with another test database, must not read. Another run's sessions and pages stay."""
    redis_client = redis.Redis.from_url(REDIS_URL)
    try:
        stale = [
            key
            for key in redis_client.scan_iter(match="peerlearn:*")
            if host.encode() in key
            or any(key.endswith(session.encode()) for session in sessions)
            or (b"sessions" not in key and b"pagecache:" not in key)
        ]
        if stale:
            redis_client.delete(*stale)
    finally:
        redis_client.close()


@pytest.fixture
def deployment(live_db, static_root):
    host = f"www-{secrets.token_hex(4)}.peerlearn.example.com"
    forget_cached(host=host)
    env = production_env(host=host, static_root=static_root, database=database_url(connection.settings_dict))
    deployment = Deployment(DaphneProcess(env=env).start(), host, [])
    yield deployment
    deployment.server.stop()
    forget_cached(host=host, sessions={c.cookies["sessionid"] for c in deployment.clients if "sessionid" in c.cookies})


def test_every_page_and_redirect_carries_the_security_headers_and_cookie_flags(deployment, mentor, learner):
    EmailAddress.objects.create(
        user=learner, email=learner.email, verified=True, primary=True
    )  # verification is mandatory
    # Test settings hash with MD5 for speed; production knows only its own hashers.
    hasher = PBKDF2PasswordHasher()
    learner.password = hasher.encode(PASSWORD, hasher.salt())
    learner.save(update_fields=["password"])
    session = make_session(mentor, title="Headers call", starts_in=timedelta(minutes=5), capacity=2)
    booking_create(session_id=session.pk, learner=learner)
    course = make_course(make_catalog(), title="Secure Django", slug="secure-django")
    course_path = course.get_url()
    urls = ["/", course_path, "/accounts/login/", "/admin/login/", "/dashboard/", f"/sessions/{session.room_id}/room/"]

    client = deployment.client()
    # A visitor: the home page twice (the second comes from the page cache; course pages, with their
    # live seat counts, never do), the course, the admin login.
    for path in ("/", "/", course_path, "/admin/login/"):
        assert client.fetch(path).status == 200, client.seen[-1]
    assert [s.headers["X-Page-Cache"] for s in client.seen[:3]] == ["miss", "hit", None]
    login = client.fetch("/accounts/login/")
    # The learner signs in through allauth's form and lands on the dashboard (a redirect chain).
    dashboard = client.fetch(
        "/accounts/login/",
        data={"login": learner.email, "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(login)},
    )
    assert (dashboard.path, dashboard.status) == ("/dashboard/", 200), (
        dashboard,
        re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)', dashboard.body),
    )
    for path in ("/", course_path, "/dashboard/"):
        assert client.fetch(path).status == 200, client.seen[-1]
    room = client.fetch(urls[-1])
    assert room.status == 200 and "Join the call" in room.body, room

    assert {urlsplit(s.path).path for s in client.seen} == set(urls), [str(s) for s in client.seen]
    assert any(s.status in (301, 302, 303) for s in client.seen)  # a redirect chain was checked too
    # The pages' hashed static files come out of the collected manifest.
    stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', client.seen[0].body)
    assert stylesheet and client.request("GET", stylesheet.group(1)).status == 200, stylesheet

    misses = [miss for seen in client.seen for miss in header_misses(seen)]
    cookies = 0
    for seen in client.seen:
        checked, missed = cookie_misses(seen)
        cookies, misses = cookies + checked, misses + missed
    cookie_names = {
        name for s in client.seen for h in s.headers.get_all("Set-Cookie") or [] for name in SimpleCookie(h)
    }
    print(
        f"\n[headers] {len(urls)} URLs ({len(client.seen)} responses, redirects included) x {len(HEADER_CHECKS)} headers "
        f"+ {cookies} cookies ({', '.join(sorted(cookie_names))}) checked, missing {len(misses)}"
    )
    assert {"sessionid", "csrftoken"} <= cookie_names
    assert not misses, "\n".join(misses)


def test_plain_http_is_redirected_to_https_but_health_probes_are_not(deployment):
    client, host = deployment.client(), deployment.host
    for path in ("/", "/accounts/login/", "/dashboard/"):
        plain = client.request("GET", path, https=False)
        assert (plain.status, plain.headers["Location"]) == (301, f"https://{host}{path}"), plain
    # Load balancers probe over plain HTTP, by address: neither redirected nor refused.
    for path in ("/health/live/", "/health/ready/"):
        probe = client.request("GET", path, https=False, host=f"127.0.0.1:{deployment.server.port}")
        assert probe.status == 200 and '"status": "ok"' in probe.body, (probe, probe.body)


def test_check_deploy_reports_nothing_with_the_documented_proxy_environment(tmp_path):
    env = production_env(
        host="peerlearn.example.com", static_root=tmp_path / "static", database=PRODUCTION_ENV["DATABASE_URL"]
    )
    env.pop("DJANGO_SETTINGS_MODULE")  # picked by DJANGO_ENV, as manage.py does in production
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
