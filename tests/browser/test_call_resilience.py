"""Calls that survive what goes wrong: the Daphne process killed mid-call, Redis restarted, and the
two participants served by different Daphne processes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from playwright.sync_api import expect

from mentoring.models import CallAttendance, CallQuality
from tests.browser.test_call import call_setup as call_setup  # noqa: F401 - the shared fixture
from tests.browser.test_call import join, log_in, wait_for_video
from tests.servers import DaphneProcess, RedisProcess, database_url

pytestmark = [pytest.mark.browser, pytest.mark.calls]

# Samples inbound video bytes every 100 ms inside the page, independent of the test's own pace.
START_SAMPLER = """() => { window.__media = []; window.__sampler = setInterval(async () => {
  let bytes = 0;
  for (const entry of window.peerlearnCall.peers.values()) {
    (await entry.link.pc.getStats()).forEach((r) => { if (r.type === "inbound-rtp" && r.kind === "video") bytes += r.bytesReceived || 0; });
  }
  window.__media.push([Date.now() / 1000, bytes]);
}, 100); }"""
CALL_STATE = """() => { const c = window.peerlearnCall;
  return { reconnects: c.reconnects, welcomedAt: c.welcomedAt || 0, peers: c.peers.size,
           rows: document.querySelectorAll("#participants li").length,
           negotiations: [...c.peers.values()].reduce((n, e) => n + e.link.negotiations, 0),
           states: [...c.peers.values()].map((e) => e.link.pc.connectionState) }; }"""


def own_daphne(**env) -> DaphneProcess:
    return DaphneProcess(env={"DATABASE_URL": database_url(connection.settings_dict), **env}).start()


def two_pages(chromium, base_mentor: str, base_learner: str, mentor, learner, session):
    contexts = [chromium.new_context(viewport={"width": 1000, "height": 700}) for _ in range(2)]
    m_page = log_in(contexts[0], base_mentor, mentor.email)
    l_page = log_in(contexts[1], base_learner, learner.email)
    join(m_page, base_mentor, session)
    join(l_page, base_learner, session)
    wait_for_video(m_page, ["Alice Learner"])
    wait_for_video(l_page, ["Maya Mentor"])
    return contexts, m_page, l_page


def test_a_call_survives_its_daphne_process_being_killed_and_restarted(call_setup, chromium):  # noqa: F811
    _, mentor, learner, session = call_setup
    server = own_daphne(CALL_STATS_SECONDS="2")
    contexts = []
    try:
        contexts, m_page, l_page = two_pages(chromium, server.url, server.url, mentor, learner, session)
        before = {"mentor": m_page.evaluate(CALL_STATE), "learner": l_page.evaluate(CALL_STATE)}

        l_page.evaluate(START_SAMPLER)
        server.kill()  # SIGKILL: no disconnect handler runs, every socket just drops
        killed = time.time()
        l_page.wait_for_timeout(1500)  # the outage: nothing serves the port
        expect(l_page.locator("#call-banner")).to_contain_text("Reconnecting")
        server = DaphneProcess(env=server.env, port=server.port)  # bound first: `finally` stops it even if
        server.start()  # it is slow to answer (a leaked Daphne was found after such a timeout)
        restarted = time.time()
        deadline = restarted + 20
        while time.time() < deadline:
            states = [m_page.evaluate(CALL_STATE), l_page.evaluate(CALL_STATE)]
            if all(s["reconnects"] >= 1 for s in states):
                break
            l_page.wait_for_timeout(100)  # the poll interval
        l_page.wait_for_timeout(1000)  # real time on purpose: the media sampled for a second after the reconnect
        samples = l_page.evaluate("() => { clearInterval(window.__sampler); return window.__media; }")
        reconnect_s = max(s["welcomedAt"] for s in states) / 1000 - restarted
        outage_bytes = [b for t, b in samples if killed <= t <= restarted]
        # The longest stretch in which no new video arrived, from the kill until after the reconnect.
        gaps, last_growth = [], samples[0][0]
        for (_, b0), (t1, b1) in zip(samples, samples[1:], strict=False):
            if b1 > b0:
                gaps.append(t1 - last_growth)
                last_growth = t1
        media_gap = max(gaps) if gaps else float("inf")
        print(
            f"\n[restart] outage {restarted - killed:.1f} s; signaling back {reconnect_s:.2f} s after the restart; "
            f"video bytes during the outage {outage_bytes[0]} -> {outage_bytes[-1]}; longest media gap {media_gap * 1000:.0f} ms"
        )
        assert outage_bytes[-1] > outage_bytes[0], "media stopped while signaling was down"
        # Generous bounds (the figures above are the measurement): media never stopped for long, and
        # signaling came back on its own.
        assert media_gap < 3.0
        assert all(s["reconnects"] == 1 for s in states) and reconnect_s < 15
        expect(l_page.locator("#call-banner")).to_be_hidden()
        # No ghosts: one peer each, two people listed, two open presences.
        assert [(s["peers"], s["rows"]) for s in states] == [(1, 2), (1, 2)]
        assert CallAttendance.objects.filter(session=session, left_at__isnull=True).count() == 2

        # Renegotiation works over the restarted server: the ICE restart completes, then a screen share reaches the mentor.
        m_page.wait_for_function(
            "(n) => { const c = window.peerlearnCall; const e = [...c.peers.values()][0];"
            " return e.link.negotiations > n && e.link.pc.connectionState === 'connected'; }",
            arg=before["mentor"]["negotiations"],
            timeout=15_000,
        )
        l_page.get_by_role("button", name="Share screen").click()
        expect(m_page.locator(".tile .tile-screen")).to_be_visible(timeout=10_000)
        wait_for_video(m_page, ["Alice Learner"])

        # The browsers' getStats summaries are on record, reconnect included (they come every few seconds).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            quality = {q.user_id: q for q in CallQuality.objects.filter(session=session)}
            learners = quality.get(learner.pk)
            if (
                mentor.pk in quality
                and learners
                and learners.samples >= 2
                and learners.reconnects == 1
                and learners.rtt_ms_max is not None
            ):
                break
            l_page.wait_for_timeout(200)  # the poll interval
        assert set(quality) == {mentor.pk, learner.pk}
        assert quality[learner.pk].samples >= 2 and quality[learner.pk].reconnects == 1
        assert "host/host" in quality[learner.pk].candidate_types and quality[learner.pk].rtt_ms_max is not None
    finally:
        for context in contexts:
            context.close()
        server.stop()


def test_mentor_on_one_process_and_learner_on_another_call_each_other(call_setup, chromium):  # noqa: F811
    _, mentor, learner, session = call_setup
    a, b = own_daphne(), own_daphne()
    contexts = []
    try:
        contexts, m_page, l_page = two_pages(chromium, a.url, b.url, mentor, learner, session)
        m_page.get_by_label("Message").fill("from process A")
        m_page.get_by_role("button", name="Send").click()
        expect(l_page.locator("#chat-log")).to_contain_text("from process A")
        print(f"\n[scale-out] mentor on :{a.port}, learner on :{b.port}: video both ways, chat delivered")
    finally:
        for context in contexts:
            context.close()
        a.stop()
        b.stop()


@pytest.mark.parametrize("layer", ["pubsub", "core"])
def test_a_room_recovers_when_redis_restarts(call_setup, chromium, layer):  # noqa: F811
    _, mentor, learner, session = call_setup
    redis = RedisProcess().start()
    server = own_daphne(
        REDIS_URL=redis.url, CHANNEL_LAYER=layer, CHANNEL_GROUP_REFRESH_SECONDS="2", CALL_HEARTBEAT_SECONDS="1"
    )
    contexts = []
    try:
        contexts, m_page, l_page = two_pages(chromium, server.url, server.url, mentor, learner, session)
        redis.stop()  # Redis forgets everything: groups, queued messages
        down = time.time()
        l_page.wait_for_timeout(1500)  # real time on purpose: the outage lasts this long
        redis.start()
        restarted = time.time()
        # Depending on the channel layer, consumers either ride the outage out (pub/sub re-subscribes)
        # or die with their Redis connection and the page reconnects (some twice, when a pooled
        # connection to the old server only fails on its next use). A chat line sent while a peer is
        # still reconnecting is not kept for it, so wait until both pages have been steady for 3 s.
        steady_since, last = time.time(), None
        while time.time() - restarted < 30:
            now = [
                page.evaluate("() => [window.peerlearnCall.reconnects, window.peerlearnCall.socket.readyState]")
                for page in (m_page, l_page)
            ]
            if now != last or any(state != 1 for _, state in now):
                steady_since, last = time.time(), now
            elif time.time() - steady_since >= 3:
                break
            m_page.wait_for_timeout(200)  # the poll interval
        steady = steady_since - restarted
        # Chat sent after the restart reaches every peer, both ways.
        for sender, receiver, text in (
            (m_page, l_page, "after the restart, from the mentor"),
            (l_page, m_page, "and back from the learner"),
        ):
            sender.get_by_label("Message").fill(text)
            sender.get_by_role("button", name="Send").click()
            expect(receiver.locator("#chat-log")).to_contain_text(text, timeout=20_000)
        recovered = time.time() - restarted
        states = [m_page.evaluate(CALL_STATE), l_page.evaluate(CALL_STATE)]
        print(
            f"\n[redis] {layer} layer: down {restarted - down:.1f} s; steady again {steady:.1f} s and chat delivered both ways {recovered:.1f} s after Redis came back; "
            f"reconnects {[s['reconnects'] for s in states]}"
        )
        assert [(s["peers"], s["rows"]) for s in states] == [(1, 2), (1, 2)]
        wait_for_video(m_page, ["Alice Learner"])
    finally:
        for context in contexts:
            context.close()
        server.stop()
        redis.stop()


@pytest.fixture(autouse=True)
def _timeout_margin():
    # These tests restart servers; keep them well inside the suite's per-test timeout.
    started = time.monotonic()
    yield
    assert time.monotonic() - started < timedelta(minutes=2).total_seconds()
