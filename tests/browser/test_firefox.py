"""Firefox: the pages, and a real call between Firefox and Chromium.

Debian's Firefox ESR is driven over WebDriver BiDi (tests/firefox.py), with a fake camera and
microphone, against a real Daphne. The call is cross-browser on purpose: Firefox and Chromium
negotiate codecs, perfect negotiation and trickle ICE with each other, as a mentor and a learner
on different browsers do.
"""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from conftest import PASSWORD
from mentoring.models import Session
from tests.browser.test_call import FRAMES_DECODED, join, log_in, wait_for_video
from tests.browser.test_call import call_setup as call_setup  # noqa: F401 - the shared fixture
from tests.browser.test_csp import LISTEN
from tests.firefox import Firefox

pytestmark = [pytest.mark.browser, pytest.mark.calls]

# What a person does with the mouse, done in the page: find a control by its visible name.
CLICK = """(name) => { const el = [...document.querySelectorAll("button, a")].find(
    (b) => (b.getAttribute("aria-label") || b.textContent).trim() === name && b.checkVisibility());
  if (!el) throw new Error(`no visible button or link named ${name}`); el.click(); }"""
FILL = """(label, value) => { const l = [...document.querySelectorAll("label")].find((l) => l.textContent.trim() === label);
  const input = l && (l.control || document.getElementById(l.htmlFor));
  if (!input) throw new Error(`no field labelled ${label}`); input.value = value; }"""
VISIBLE = """(selector) => { const el = document.querySelector(selector); return !!el && el.checkVisibility(); }"""
TEXT_IN = """([selector, text]) => (document.querySelector(selector)?.textContent || "").includes(text)"""
STATUS = "() => performance.getEntriesByType('navigation')[0].responseStatus"


@pytest.fixture
def firefox():
    with Firefox() as browser:
        browser.add_init_script(LISTEN)
        yield browser


def firefox_log_in(firefox: Firefox, base: str, email: str, password: str = PASSWORD) -> None:
    firefox.goto(base + "/accounts/login/")
    firefox.evaluate(FILL, "Email", email)
    firefox.evaluate(FILL, "Password", password)
    firefox.evaluate(CLICK, "Sign In")
    firefox.wait_for("() => location.pathname === '/dashboard/'", message="the dashboard after login")


def frames_seen(firefox: Firefox, name: str) -> int:
    return firefox.evaluate(FRAMES_DECODED).get(name, {}).get("frames", 0)


def test_a_call_between_firefox_and_chromium(call_setup, chromium, firefox):  # noqa: F811 - the fixture
    base, mentor, learner, session = call_setup
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        m_page = log_in(context, base, mentor.email)
        join(m_page, base, session)

        firefox_log_in(firefox, base, learner.email)
        firefox.goto(f"{base}/sessions/{session.room_id}/room/")
        firefox.wait_for(TEXT_IN, ["#prejoin", "Camera and microphone are ready."], message="the camera preview")
        clicked = time.monotonic()
        firefox.evaluate(CLICK, "Join the call")
        firefox.wait_for(
            """() => [...(window.peerlearnCall?.peers.values() || [])].some((e) => e.link.pc.connectionState === "connected")""",
            timeout=30,
            message="a connected peer in Firefox",
        )
        connected_ms = (time.monotonic() - clicked) * 1000

        # Video both ways: each side decodes more and more frames from the other.
        m_stats = wait_for_video(m_page, ["Alice Learner"])
        first = firefox.wait_for(
            f"async () => (await ({FRAMES_DECODED})())['Maya Mentor']?.frames || 0",
            timeout=30,
            message="decoded video from the mentor in Firefox",
        )
        firefox.wait_for(
            f"async () => ((await ({FRAMES_DECODED})())['Maya Mentor']?.frames || 0) > {first}",
            timeout=30,
            message="more decoded video from the mentor in Firefox",
        )
        second = frames_seen(firefox, "Maya Mentor")
        assert second > first > 0, (first, second)
        print(
            f"\n[firefox] Join click to connected in Firefox {connected_ms:.0f} ms; Firefox decoded {first}->{second} "
            f"frames from Chromium; Chromium sees {m_stats}"
        )

        # Chat both ways.
        firefox.evaluate(FILL, "Message", "Hello from Firefox <i>italics?</i>")
        firefox.evaluate(CLICK, "Send")
        expect(m_page.locator("#chat-log")).to_contain_text("Hello from Firefox <i>italics?</i>")
        m_page.get_by_label("Message").fill("Hi Firefox, Chromium here.")
        m_page.get_by_role("button", name="Send").click()
        firefox.wait_for(
            TEXT_IN, ["#chat-log", "Hi Firefox, Chromium here."], message="the mentor's chat line in Firefox"
        )

        # Muting shows on the other side, in both directions.
        firefox.evaluate(CLICK, "Mute")
        expect(m_page.locator(".tile .tile-muted")).to_be_visible()
        firefox.evaluate(CLICK, "Unmute")
        expect(m_page.locator(".tile .tile-muted")).to_be_hidden()
        m_page.get_by_role("button", name="Mute", exact=True).click()
        firefox.wait_for(VISIBLE, ".tile .tile-muted", message="the mentor shown muted in Firefox")

        # Headless Firefox has no screen to share: the page says so and the camera keeps flowing.
        firefox.evaluate(CLICK, "Share screen")
        firefox.wait_for(
            TEXT_IN, ["#call-status", "Screen sharing is not available here."], message="the share refusal"
        )
        wait_for_video(m_page, ["Alice Learner"])

        assert firefox.evaluate("() => window.__csp") == []
        assert firefox.errors() == []
    finally:
        context.close()


LAPTOP, SMALL_LAPTOP, PHONE = (1280, 800), (1024, 768), (390, 844)


def test_pages_in_firefox_on_laptops_and_a_phone(live_server_url, firefox):
    """Every kind of page a visitor and a learner use: served, no console error, no CSP violation,
    and nothing wider than a phone's screen."""
    call_command("seed_demo", verbosity=0)
    base = live_server_url
    live = (
        Session.objects.filter(mentor__email="mentor1@peerlearn.local", status="scheduled")
        .order_by("starts_at")
        .first()
    )
    public = [
        "/",
        "/courses/",
        "/courses/python-foundations/",
        "/mentors/",
        "/sessions/",
        "/search/?q=python",
        "/accounts/login/",
        "/accounts/signup/",
        "/about/",
    ]
    signed_in = [
        "/dashboard/",
        "/accounts/email/",
        "/notifications/",
        "/profile/",
        "/calendar/",
        "/accounts/2fa/",
        "/call-check/",
        f"/sessions/{live.pk}/",
        f"/sessions/{live.room_id}/room/",
    ]
    problems: list[str] = []
    checked = 0

    def visit_all(paths: list[str]) -> None:
        nonlocal checked
        for width, height in (LAPTOP, SMALL_LAPTOP, PHONE):
            firefox.command(
                "browsingContext.setViewport",
                {"context": firefox.context, "viewport": {"width": width, "height": height}},
            )
            for path in paths:
                firefox.goto(base + path)
                status, wide, screen, heading = firefox.evaluate(
                    f"""() => [({STATUS})(), document.documentElement.scrollWidth, innerWidth,
                               !!document.querySelector("h1")]"""
                )
                checked += 1
                problems.extend(f"CSP on {path} at {width}px: {v}" for v in firefox.evaluate("() => window.__csp"))
                if status != 200 or not heading:
                    problems.append(f"{path} at {width}px: status {status}, heading {heading}")
                if wide > screen:
                    problems.append(f"{path} at {width}px: {wide}px wide on a {screen}px screen")

    visit_all(public)
    firefox_log_in(firefox, base, "learner1@peerlearn.local", "peerlearn-demo")
    visit_all(signed_in)
    firefox.wait_for(TEXT_IN, ["#prejoin", "Camera and microphone are ready."], message="the camera preview")
    problems += [f"CSP in the room: {v}" for v in firefox.evaluate("() => window.__csp")]
    problems += [f"console: {e}" for e in firefox.errors()]
    print(
        f"\n[firefox] {firefox.version}: {checked} page views ({len(public)} public and {len(signed_in)} signed-in "
        f"pages at 1280, 1024 and 390 px); problems {len(problems)}"
    )
    assert problems == []
