"""A real WebRTC call between two (and three) headless Chromium browsers through our signaling."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from conftest import make_user
from mentoring.tests.factories import make_booking, make_session
from tests.browser.helpers import log_in as log_in_page

pytestmark = [pytest.mark.browser, pytest.mark.calls]

FRAMES_DECODED = """async () => {
  const out = {};
  for (const [id, entry] of window.peerlearnCall.peers) {
    const stats = await entry.link.pc.getStats();
    let frames = 0, bytes = 0, selected = null, nominated = null;
    stats.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") { frames += r.framesDecoded || 0; bytes += r.bytesReceived || 0; }
      if (r.type === "transport" && r.selectedCandidatePairId) selected = r.selectedCandidatePairId;
      if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") nominated = r.id;
    });
    // The pair the transport uses; the nominated flag can lag behind it on the controlled side.
    const pairId = selected || nominated;
    let local = null;
    const pair = pairId && stats.get(pairId);
    if (pair) stats.forEach((r) => { if (r.id === pair.localCandidateId) local = r.candidateType; });
    out[entry.info.name] = { frames, bytes, state: entry.link.pc.connectionState, localCandidate: local };
  }
  return out;
}"""


def inbound_size(page, name: str) -> list[int]:
    """[width, height] of the video ``page`` decodes from ``name``."""
    return page.evaluate(
        """async (name) => { for (const e of window.peerlearnCall.peers.values()) { if (e.info.name !== name) continue;
             let size = null; (await e.link.pc.getStats()).forEach((r) => {
               if (r.type === "inbound-rtp" && r.kind === "video") size = [r.frameWidth || 0, r.frameHeight || 0]; });
             return size; } return null; }""",
        name,
    )


def log_in(context, base: str, email: str):
    page = context.new_page()
    log_in_page(page, base, email)
    return page


def join(page, base: str, session, *, after_ms: int = 0, wait_for_media: bool = False) -> None:
    """Open the room and click Join ``after_ms`` after the page loaded, as people do: at once by
    default, before the browser has answered for the camera. ``wait_for_media`` waits for the
    ready text first (a test that needs that order says so)."""
    page.goto(f"{base}/sessions/{session.room_id}/room/")
    if wait_for_media:
        expect(page.get_by_text("Camera and microphone are ready.")).to_be_visible(timeout=10_000)
    elif after_ms:
        page.wait_for_timeout(after_ms)  # real time on purpose: the click comes this long after the page loaded
    page.get_by_role("button", name="Join the call").click()
    expect(page.locator("#call")).to_be_visible(timeout=15_000)


STATES = """() => [...window.peerlearnCall.peers.values()].map(e => [e.info.name, e.link.pc.connectionState,
    e.link.pc.signalingState, e.link.pc.iceConnectionState, e.link.pc.iceGatheringState, e.link.pendingCandidates.length])"""


def wait_for_video(page, names: list[str], timeout_ms: int = 30_000):
    try:
        _wait_connected(page, names, timeout_ms)
    except Exception:
        print("\n[call] stuck:", page.evaluate(STATES), page.evaluate("() => window.peerlearnCall.myId"))
        raise
    return _wait_frames(page, names, timeout_ms)


def wait_for_pair(page, name: str, timeout_s: float = 15):
    """The stats once the connection to ``name`` reports the local candidate of the pair it uses."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = page.evaluate(FRAMES_DECODED)
        if stats.get(name, {}).get("localCandidate") or time.monotonic() > deadline:
            return stats
        page.wait_for_timeout(200)  # the poll interval


def _wait_connected(page, names, timeout_ms):
    page.wait_for_function(
        """(names) => { const c = window.peerlearnCall; if (!c) return false;
            const got = [...c.peers.values()].filter(e => e.link.pc.connectionState === "connected").map(e => e.info.name);
            return names.every(n => got.includes(n)); }""",
        arg=names,
        timeout=timeout_ms,
    )


def _wait_frames(page, names, timeout_ms):
    deadline = time.monotonic() + timeout_ms / 1000
    while True:  # getStats is async, so poll from here rather than with wait_for_function
        stats = page.evaluate(FRAMES_DECODED)
        if all(stats.get(n, {}).get("frames", 0) > 0 for n in names):
            break
        assert time.monotonic() < deadline, f"no decoded video from {names}: {stats}"
        page.wait_for_timeout(200)  # the poll interval
    first = page.evaluate(FRAMES_DECODED)
    deadline = time.monotonic() + 15
    while True:  # and it keeps coming: every tile decodes more frames
        second = page.evaluate(FRAMES_DECODED)
        if all(second.get(n, {}).get("frames", 0) > first[n]["frames"] for n in names):
            break
        assert time.monotonic() < deadline, f"video from {names} stopped: {first} -> {second}"
        page.wait_for_timeout(200)  # the poll interval
    for name in names:
        assert second[name]["frames"] > first[name]["frames"] > 0, (name, first, second)
    return second


@pytest.fixture
def call_setup(live_server_url):
    mentor = make_user("maya@example.com", "Maya Mentor", "mentor")
    learner = make_user("alice@example.com", "Alice Learner", "learner", "Asia/Kolkata")
    session = make_session(mentor, title="Live pairing", starts_in=timedelta(minutes=5), capacity=3)
    make_booking(session, learner)
    return live_server_url, mentor, learner, session


def test_two_browsers_call_chat_mute_and_share_screen_and_an_outsider_is_refused(call_setup, chromium):
    base, mentor, learner, session = call_setup
    outsider = make_user("charlie@example.com", "Charlie Outsider")
    # Browsers in New York with a 12-hour locale: chat times still follow each person's profile (24-hour).
    contexts = [
        chromium.new_context(viewport={"width": 1280, "height": 800}, timezone_id="America/New_York", locale="en-US")
        for _ in range(3)
    ]
    try:
        m_page = log_in(contexts[0], base, mentor.email)
        l_page = log_in(contexts[1], base, learner.email)
        join(m_page, base, session)
        join(l_page, base, session)

        m_stats = wait_for_video(m_page, ["Alice Learner"])
        l_stats = wait_for_video(l_page, ["Maya Mentor"])
        print(f"\n[call] mentor sees {m_stats}; learner sees {l_stats}")

        # Chat both ways.
        m_page.get_by_label("Message").fill("Hello from the mentor <b>bold?</b>")
        m_page.get_by_role("button", name="Send").click()
        expect(l_page.locator("#chat-log")).to_contain_text("Hello from the mentor <b>bold?</b>")
        l_page.get_by_label("Message").fill("Hi! Learner here.")
        l_page.get_by_role("button", name="Send").click()
        expect(m_page.locator("#chat-log")).to_contain_text("Hi! Learner here.")
        for page, zone in ((m_page, "UTC"), (l_page, "Asia/Kolkata")):
            for stamp in page.locator("#chat-log time").all():
                sent = datetime.fromisoformat(stamp.get_attribute("datetime").replace("Z", "+00:00"))
                assert stamp.inner_text() == sent.astimezone(ZoneInfo(zone)).strftime("%H:%M"), (
                    zone,
                    stamp.inner_text(),
                )

        # Muting shows on the other side.
        m_page.get_by_role("button", name="Mute", exact=True).click()
        expect(l_page.locator(".tile .tile-muted")).to_be_visible()
        expect(l_page.locator("#participants")).to_contain_text("Muted")
        m_page.get_by_role("button", name="Unmute").click()
        expect(l_page.locator(".tile .tile-muted")).to_be_hidden()

        # Screen share replaces the learner's camera on the connection, and the mentor receives it.
        camera_size = inbound_size(m_page, "Alice Learner")
        l_page.get_by_role("button", name="Share screen").click()
        expect(l_page.get_by_role("button", name="Stop sharing")).to_be_visible(timeout=10_000)
        expect(m_page.locator(".tile .tile-screen")).to_be_visible()
        # The learner's connection now sends the screen track (replaceTrack), and the mentor's
        # received picture changes size from the camera's (WebRTC may scale it, so not an exact size).
        assert l_page.evaluate(
            """() => { const screen = window.peerlearnCall.screen.getVideoTracks()[0];
                 return [...window.peerlearnCall.peers.values()].every((e) =>
                   e.link.pc.getSenders().some((s) => s.track && s.track.id === screen.id)); }"""
        )
        deadline = time.monotonic() + 15
        while (shared_size := inbound_size(m_page, "Alice Learner")) == camera_size:
            assert time.monotonic() < deadline, f"the mentor still gets the camera's {camera_size}"
            m_page.wait_for_timeout(200)  # the poll interval
        wait_for_video(m_page, ["Alice Learner"])
        print(f"\n[call] screen share: the mentor's video from the learner went from {camera_size} to {shared_size}")

        # An outsider gets "not found", exactly like a room that does not exist.
        o_page = log_in(contexts[2], base, outsider.email)
        response = o_page.goto(f"{base}/sessions/{session.room_id}/room/")
        assert response.status == 404
        expect(o_page.get_by_role("heading", name="We couldn't find that page")).to_be_visible()
    finally:
        for context in contexts:
            context.close()


def test_three_person_group_call_connects_every_pair(call_setup, chromium):
    base, mentor, learner, session = call_setup
    second = make_user("bob@example.com", "Bob Learner")
    make_booking(session, second)
    people = [
        (mentor, ["Alice Learner", "Bob Learner"]),
        (learner, ["Maya Mentor", "Bob Learner"]),
        (second, ["Maya Mentor", "Alice Learner"]),
    ]
    contexts = [chromium.new_context(viewport={"width": 900, "height": 700}) for _ in people]
    try:
        pages = []
        for context, (person, _) in zip(contexts, people, strict=True):
            page = log_in(context, base, person.email)
            join(page, base, session)
            pages.append(page)

        def page_states():
            return [
                p.evaluate(
                    "() => [...window.peerlearnCall.peers.values()].map(e => [e.info.name, e.link.pc.connectionState, e.link.pc.signalingState])"
                )
                for p in pages
            ]

        try:
            pages[0].wait_for_function(
                "() => [...window.peerlearnCall.peers.values()].filter(e => e.link.pc.connectionState === 'connected').length === 2",
                timeout=30_000,
            )
        finally:
            print("\n[call] peer states:", page_states())
        for page, (_, others) in zip(pages, people, strict=True):
            stats = wait_for_video(page, others, timeout_ms=30_000)
            assert set(stats) == set(others)  # no ghost or duplicate peers
        print("\n[call] 3-person mesh: every pair connected and decoding video")
    finally:
        for context in contexts:
            context.close()


def test_relay_only_call_through_a_local_coturn(live_db, daphne_server, chromium):
    """The same call with iceTransportPolicy "relay": media must flow through TURN."""
    from tests.coturn import CoturnProcess
    from tests.servers import DaphneProcess

    mentor = make_user("maya@example.com", "Maya Mentor", "mentor")
    learner = make_user("alice@example.com", "Alice Learner")
    session = make_session(mentor, title="Relay pairing", starts_in=timedelta(minutes=5), capacity=2)
    make_booking(session, learner)
    with CoturnProcess(allow_loopback=True) as turn:
        relay_server = DaphneProcess(
            env={
                "DATABASE_URL": daphne_server.env["DATABASE_URL"],
                "TURN_URLS": turn.url,
                "TURN_SECRET": turn.secret,
                "ICE_TRANSPORT_POLICY": "relay",
            }
        ).start()
        contexts = [chromium.new_context() for _ in range(2)]
        try:
            pages = [
                log_in(contexts[0], relay_server.url, mentor.email),
                log_in(contexts[1], relay_server.url, learner.email),
            ]
            for page in pages:
                join(page, relay_server.url, session)
            wait_for_video(pages[0], ["Alice Learner"])
            wait_for_video(pages[1], ["Maya Mentor"])
            # Video flows; the candidate pair in use shows in the stats a moment later on a busy machine.
            m_stats = wait_for_pair(pages[0], "Alice Learner")
            l_stats = wait_for_pair(pages[1], "Maya Mentor")
            print(f"\n[call] relay-only: mentor {m_stats}; learner {l_stats}")
            assert m_stats["Alice Learner"]["localCandidate"] == "relay"
            assert l_stats["Maya Mentor"]["localCandidate"] == "relay"
        finally:
            for context in contexts:
                context.close()
            relay_server.stop()


FOCUSED = """() => { const el = document.activeElement; if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return { name: (el.getAttribute("aria-label") || el.labels?.[0]?.textContent || el.textContent).trim(),
           ring: style.boxShadow !== "none" || style.outlineStyle !== "none" }; }"""
IN_VIEW = """(selector) => [...document.querySelectorAll(selector)].filter((el) => el.checkVisibility()).map((el) => {
  const r = el.getBoundingClientRect();
  return [el.getAttribute("aria-label") || el.id, r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight]; })"""


def tab_to(page, name: str, limit: int = 60) -> None:
    """Press Tab until the control named ``name`` has the focus, as a keyboard user does; its focus
    ring must show."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused and focused["name"] == name:
            assert focused["ring"], f"{name} has the focus but shows no focus ring"
            return
        seen.append(focused and focused["name"])
    raise AssertionError(f"Tab never reached {name!r}; it went through {seen}")


def test_a_learner_on_a_phone_uses_the_call_with_the_keyboard_alone(call_setup, chromium):
    base, mentor, learner, session = call_setup
    m_context = chromium.new_context(viewport={"width": 1280, "height": 800})
    l_context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        m_page = log_in(m_context, base, mentor.email)
        join(m_page, base, session)
        l_page = log_in(l_context, base, learner.email)
        l_page.goto(f"{base}/sessions/{session.room_id}/room/")
        expect(l_page.get_by_text("Camera and microphone are ready.")).to_be_visible(timeout=10_000)

        tab_to(l_page, "Join the call")
        l_page.keyboard.press("Enter")
        expect(l_page.locator("#call")).to_be_visible()
        wait_for_video(l_page, ["Maya Mentor"])

        # On the phone: nothing wider than the screen, and the call controls stay on screen.
        assert l_page.evaluate("() => document.documentElement.scrollWidth") <= 390
        controls = l_page.evaluate(IN_VIEW, ".call-controls .ctl")
        assert len(controls) >= 3 and all(inside for _, inside in controls), controls

        tab_to(l_page, "Mute")
        l_page.keyboard.press("Space")
        expect(l_page.locator("#toggle-mic")).to_have_attribute("aria-pressed", "true")
        expect(m_page.locator(".tile .tile-muted")).to_be_visible()

        tab_to(l_page, "Message")
        l_page.keyboard.type("Typed on a phone keyboard")
        l_page.keyboard.press("Enter")
        expect(m_page.locator("#chat-log")).to_contain_text("Typed on a phone keyboard")

        # The report dialog opens from the keyboard and Escape closes it, focus back on its button.
        l_page.locator("#chat-input").focus()
        tab_to(l_page, "Report a problem")
        l_page.keyboard.press("Enter")
        expect(l_page.locator("#report-dialog")).to_be_visible()
        l_page.keyboard.press("Escape")
        expect(l_page.locator("#report-dialog")).to_be_hidden()
        assert l_page.evaluate(FOCUSED)["name"] == "Report a problem"

        tab_to(l_page, "Leave call")
        l_page.keyboard.press("Enter")
        expect(l_page).to_have_url(f"{base}/sessions/{session.pk}/")
        expect(m_page.locator("#participant-count")).to_have_text("1")
        print(
            f"\n[call] keyboard only on a 390 px phone: joined, muted, chatted, reported, left; controls on screen {controls}"
        )
    finally:
        m_context.close()
        l_context.close()
