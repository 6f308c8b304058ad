"""The Content Security Policy holds on every kind of page: public pages, a learner's pages and call
room, the Wagtail editor and the Django admin, checked in Chromium with a violation listener."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from mentoring.models import Session

pytestmark = pytest.mark.browser

LISTEN = """window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`));"""


def demo_login(page, base: str, email: str, path: str = "/accounts/login/", button: str = "Sign In") -> None:
    page.goto(base + path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("peerlearn-demo")
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state("networkidle")


def test_no_page_violates_the_content_security_policy(live_server_url, chromium):
    call_command("seed_demo", verbosity=0)
    base = live_server_url
    live = (
        Session.objects.filter(mentor__email="mentor1@peerlearn.local", status="scheduled")
        .order_by("starts_at")
        .first()
    )
    visits: list[tuple[str, str]] = []
    violations: list[str] = []

    def visit(page, path: str, who: str) -> None:
        response = page.goto(base + path)
        assert response.status < 400, (path, response.status)
        assert "content-security-policy" in {k.lower() for k in response.headers}, path
        page.wait_for_load_state("networkidle")
        visits.append((who, path))
        violations.extend(f"{who} {path}: {v}" for v in page.evaluate("window.__csp"))

    contexts = []
    try:
        for who, login in (
            ("anonymous", None),
            ("learner", "learner1@peerlearn.local"),
            ("editor", "editor@peerlearn.local"),
            ("admin", "admin@peerlearn.local"),
        ):
            context = chromium.new_context(viewport={"width": 1280, "height": 800})
            contexts.append(context)
            context.add_init_script(LISTEN)
            page = context.new_page()
            if who == "anonymous":
                for path in (
                    "/",
                    "/courses/",
                    "/courses/python-foundations/",
                    "/mentors/",
                    "/sessions/",
                    "/search/?q=python",
                    "/accounts/login/",
                    "/accounts/signup/",
                ):
                    visit(page, path, who)
            elif who == "learner":
                demo_login(page, base, login)
                for path in (
                    "/dashboard/",
                    "/mentors/",
                    "/notifications/",
                    "/profile/",
                    "/calendar/",
                    "/accounts/2fa/",
                    "/call-check/",
                ):
                    visit(page, path, who)
                visit(page, f"/sessions/{live.room_id}/room/", who)
                page.get_by_role("button", name="Join the call").click()
                expect(page.locator("#call")).to_be_visible()
                page.wait_for_timeout(1500)  # real time: violations (none expected) would be reported meanwhile
                violations.extend(f"{who} room in call: {v}" for v in page.evaluate("window.__csp"))
            elif who == "editor":
                demo_login(page, base, login, "/cms/login/")  # the site's login form, then Wagtail
                visit(page, "/cms/", who)
                course = re.search(r"/cms/pages/(\d+)/", page.content())
                visit(page, "/cms/pages/", who)
                from cms_pages.models import CoursePage

                visit(page, f"/cms/pages/{CoursePage.objects.first().pk}/edit/", who)
                assert course is None or course.group(1)
            else:
                demo_login(page, base, login, "/admin/login/")
                for path in ("/admin/", "/admin/mentoring/session/", "/admin/analytics/"):
                    visit(page, path, who)
    finally:
        for context in contexts:
            context.close()
    print(f"\n[csp] {len(visits)} pages checked in Chromium with a violation listener; violations {len(violations)}")
    assert violations == [], "\n".join(violations)
