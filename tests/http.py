"""A signed-in visitor over real HTTP: cookies kept, forms posted with their CSRF token."""

from __future__ import annotations

import re
from http.cookiejar import CookieJar
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

from django.conf import settings

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Visitor:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        return self.opener.open(self.base_url + path, timeout=10).read().decode()

    def submit(self, path: str, data: dict, *, action: str | None = None) -> str:
        """Fetch the form page at ``path`` and post ``data`` to ``action`` (default: the same path)."""
        token = CSRF_RE.search(self.get(path)).group(1)
        request = Request(
            self.base_url + (action or path),
            data=urlencode({**data, "csrfmiddlewaretoken": token}).encode(),
            headers={"Referer": self.base_url + path},
        )
        return self.opener.open(request, timeout=10).read().decode()

    def log_in(self, email: str, password: str) -> Visitor:
        self.submit("/accounts/login/", {"login": email, "password": password})
        assert self.session_key, f"logging in as {email} failed"
        return self

    @property
    def session_key(self) -> str:
        return next((c.value for c in self.jar if c.name == settings.SESSION_COOKIE_NAME), "")

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)
