"""One screen at a time: sharing while someone shares asks first and takes over, the other is told and
stops; and your own screen preview is shown as it is (only the camera preview is mirrored)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from conftest import make_user
from mentoring.tests.factories import make_booking, make_session
from tests.browser.test_call import join, log_in, wait_for_video

pytestmark = [pytest.mark.browser, pytest.mark.calls]
LIVE = 10_000  # ms: anything that travels over the socket
MIRRORED = "matrix(-1, 0, 0, 1, 0, 0)"
OWN_TRANSFORM = "() => getComputedStyle(document.querySelector('#local-video')).transform"
SHARING = "() => !!window.peerlearnCall.screen"
SENDS_CAMERA = """() => { const camera = window.peerlearnCall.media.videoTrack;
  return [...window.peerlearnCall.peers.values()].every((e) => e.link.sendingTrack("video") === camera); }"""
# What a hostile or broken server could hand the page, put straight into its socket: a start "from" a
# peer that is not in the call, and one "from" this page that it never sent, both stamped in the future.
FORGED_STARTS = """(stranger) => { const c = window.peerlearnCall; const at = new Date(Date.now() + 3600e3).toISOString();
  for (const from of [stranger, c.myId]) c.socket.dispatchEvent(new MessageEvent("message",
    { data: JSON.stringify({ type: "screen-share", from, name: "Mallory", action: "start", at }) })); }"""


@pytest.fixture
def call_setup(live_server_url):
    mentor = make_user("maya@example.com", "Maya Mentor", "mentor")
    learner = make_user("alice@example.com", "Alice Learner")
    session = make_session(mentor, title="Show and tell", starts_in=timedelta(minutes=5), capacity=3)
    make_booking(session, learner)
    return live_server_url, mentor, learner, session


HOLD_THE_PICKER = """() => { const md = navigator.mediaDevices; const pick = md.getDisplayMedia.bind(md);
  md.getDisplayMedia = async (constraints) => { const screen = await pick(constraints); window.pickerAnswered = true;
    await new Promise((resolve) => { window.answerPicker = resolve; }); return screen; }; }"""


def in_call(chromium, base, session, *emails):
    contexts = [chromium.new_context(viewport={"width": 1280, "height": 800}) for _ in emails]
    pages = [log_in(context, base, email) for context, email in zip(contexts, emails, strict=True)]
    for page in pages:
        join(page, base, session)
    return contexts, pages


def test_a_second_share_asks_takes_over_and_the_first_sharer_is_told(call_setup, chromium):
    base, mentor, learner, session = call_setup
    contexts, (m_page, l_page) = in_call(chromium, base, session, mentor.email, learner.email)
    try:
        wait_for_video(m_page, ["Alice Learner"])
        wait_for_video(l_page, ["Maya Mentor"])

        # The camera preview is a mirror; the screen preview reads as it is.
        assert l_page.evaluate(OWN_TRANSFORM) == MIRRORED
        l_page.get_by_role("button", name="Share screen").click()
        expect(l_page.get_by_role("button", name="Stop sharing")).to_be_visible(timeout=LIVE)
        assert l_page.evaluate(OWN_TRANSFORM) == "none"
        expect(m_page.locator(".tile .tile-screen")).to_be_visible(timeout=LIVE)

        # The mentor presses Share: asked first; Cancel changes nothing.
        m_page.get_by_role("button", name="Share screen").click()
        dialog = m_page.get_by_role("dialog")
        expect(dialog).to_contain_text("Alice Learner is sharing. Share instead?")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        assert not m_page.evaluate(SHARING) and l_page.evaluate(SHARING)

        # Share instead: the mentor shares, the learner's share stops and she is told who took over.
        m_page.get_by_role("button", name="Share screen").click()
        m_page.get_by_role("dialog").get_by_role("button", name="Share instead").click()
        expect(m_page.get_by_role("button", name="Stop sharing")).to_be_visible(timeout=LIVE)
        expect(l_page.locator("#call-status")).to_have_text("Maya Mentor took over the screen share.", timeout=LIVE)
        expect(l_page.get_by_role("button", name="Share screen")).to_be_visible()
        assert not l_page.evaluate(SHARING)
        assert l_page.evaluate(OWN_TRANSFORM) == MIRRORED  # her own tile shows her camera again
        assert l_page.evaluate(SENDS_CAMERA)
        expect(l_page.locator(".tile .tile-screen")).to_be_visible(timeout=LIVE)  # the mentor's tile says so
        expect(m_page.locator(".tile .tile-screen")).to_be_hidden(timeout=LIVE)
        assert m_page.evaluate(OWN_TRANSFORM) == "none"

        # Starts that are not real (a stranger's, one the page never sent) take nothing over.
        m_page.evaluate(FORGED_STARTS, "ffffffffffffffff")
        m_page.wait_for_timeout(500)  # real time on purpose: nothing may change in it
        assert m_page.evaluate(SHARING)
        expect(m_page.get_by_role("button", name="Stop sharing")).to_be_visible()

        # Stopping is a plain stop: nobody is asked anything on the next share.
        m_page.get_by_role("button", name="Stop sharing").click()
        expect(l_page.locator(".tile .tile-screen")).to_be_hidden(timeout=LIVE)
        l_page.get_by_role("button", name="Share screen").click()
        expect(l_page.get_by_role("button", name="Stop sharing")).to_be_visible(timeout=LIVE)
        expect(l_page.get_by_role("dialog")).to_be_hidden()
        print(
            "\n[share] take-over asked, cancelled, confirmed; first sharer told and stopped; forged starts ignored 2/2"
        )
    finally:
        for context in contexts:
            context.close()


def test_two_people_pressing_share_at_once_end_with_one_share(call_setup, chromium):
    base, mentor, learner, session = call_setup
    contexts, (m_page, l_page) = in_call(chromium, base, session, mentor.email, learner.email)
    try:
        wait_for_video(m_page, ["Alice Learner"])
        wait_for_video(l_page, ["Maya Mentor"])
        # Each browser's screen picker answers, one after the other (two pickers at once in one browser
        # abort each other), and the pages get their answers at the same moment: neither has heard of
        # the other's share when it starts its own.
        for page in (m_page, l_page):
            page.evaluate(HOLD_THE_PICKER)
            page.get_by_role("button", name="Share screen").click()
            page.wait_for_function("() => window.pickerAnswered === true", timeout=LIVE)
        for page in (m_page, l_page):
            page.evaluate("() => window.answerPicker()")
        pages = {"Maya Mentor": m_page, "Alice Learner": l_page}
        deadline = 20
        for _ in range(deadline * 5):
            sharing = [name for name, page in pages.items() if page.evaluate(SHARING)]
            if len(sharing) == 1:
                break
            m_page.wait_for_timeout(200)  # the poll interval
        assert len(sharing) == 1, sharing
        (winner,) = sharing
        loser = next(page for name, page in pages.items() if name != winner)
        expect(loser.locator("#call-status")).to_have_text(f"{winner} took over the screen share.", timeout=LIVE)
        m_page.wait_for_timeout(1000)  # real time on purpose: it stays one share
        assert [name for name, page in pages.items() if page.evaluate(SHARING)] == [winner]
        print(f"\n[share] both pressed Share at once: one share left ({winner}), the other told")
    finally:
        for context in contexts:
            context.close()
