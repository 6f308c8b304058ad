"""The call check page (/call-check/) in Chromium: camera, microphone, devices and a real relay test."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from mentoring.tests.factories import make_booking, make_session
from tests.browser.helpers import log_in
from tests.coturn import CoturnProcess, free_port_pair
from tests.servers import DaphneProcess

pytestmark = [pytest.mark.browser, pytest.mark.calls]

# Every network step of the page gives up after 8 s; the steps run side by side.
VERDICT_TIMEOUT_MS = 25_000
CALL_CHECK_TTL = 600


@pytest.fixture(scope="module")
def coturn():
    with CoturnProcess(allow_loopback=True) as server:
        yield server


@pytest.fixture
def daphne_with(daphne_server):
    """Start a Daphne on the test database with extra settings (e.g. TURN_URLS); stopped after the test."""
    started = []

    def start(**env: str) -> DaphneProcess:
        server = DaphneProcess(env={"DATABASE_URL": daphne_server.env["DATABASE_URL"], **env}).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def booked_learner(live_db, learner, mentor):
    """Relay credentials come with a session ahead: the learner has one booked."""
    make_booking(make_session(mentor, capacity=2), learner)
    return learner


def result_row(page, name: str):
    return page.locator(".cc-row").filter(has=page.get_by_role("heading", name=name, exact=True))


def open_call_check(context, base: str, email: str):
    page = context.new_page()
    log_in(page, base, email)
    page.goto(f"{base}/call-check/")
    return page


def wait_until_finished(page) -> None:
    expect(page.get_by_role("button", name="Run the test again")).to_be_enabled(timeout=VERDICT_TIMEOUT_MS)
    expect(page.locator(".cc-row:visible").filter(has_text="Checking…")).to_have_count(0)


def test_anonymous_visitor_is_sent_to_log_in(live_server_url, browser_context):
    page = browser_context.new_page()
    page.goto(f"{live_server_url}/call-check/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/call-check/$"))
    expect(page.get_by_label("Email")).to_be_visible()


def test_with_a_local_coturn_camera_microphone_and_relay_all_work(
    live_db, booked_learner, coturn, daphne_with, browser_context
):
    learner = booked_learner
    tcp_url = f"turn:127.0.0.1:{coturn.port}?transport=tcp"
    server = daphne_with(TURN_URLS=f"{coturn.url},{tcp_url}", TURN_SECRET=coturn.secret, TURN_CREDENTIAL_TTL="3600")
    page = open_call_check(browser_context, server.url, learner.email)
    summary = page.get_by_role("status").filter(has=page.locator("#cc-summary-title"))
    expect(summary).to_contain_text("Ready for calls", timeout=VERDICT_TIMEOUT_MS)
    wait_until_finished(page)
    run_ms = page.evaluate("() => window.peerlearnCallCheck.lastRunMs")

    # The page hands out its own short-lived TURN credentials, through json_script.
    ice_servers = json.loads(page.locator("#cc-ice-servers").text_content())
    assert ice_servers[0]["urls"] == [coturn.url, tcp_url]
    expiry, user_id = ice_servers[0]["username"].split(":")
    assert user_id == str(learner.pk)
    assert CALL_CHECK_TTL - 60 <= int(expiry) - time.time() <= CALL_CHECK_TTL + 5

    # Camera preview playing, devices listed, the microphone meter moving (the fake device beeps).
    preview = page.get_by_label("Your camera preview")
    page.wait_for_function("(video) => video.videoWidth > 0 && !video.paused", arg=preview.element_handle())
    video_size = preview.evaluate("(video) => [video.videoWidth, video.videoHeight]")
    cameras = page.get_by_label("Camera", exact=True).locator("option")
    microphones = page.get_by_label("Microphone", exact=True).locator("option")
    assert cameras.count() >= 1 and cameras.first.get_attribute("value")
    assert microphones.count() >= 1 and microphones.first.get_attribute("value")
    meter = page.get_by_role("meter", name="Microphone level")
    page.wait_for_function(
        "(m) => Number(m.getAttribute('aria-valuenow')) > 0", arg=meter.element_handle(), timeout=10_000
    )
    expect(result_row(page, "Camera")).to_contain_text("Works")
    expect(result_row(page, "Microphone")).to_contain_text("we can hear you", timeout=10_000)

    # Connectivity: host candidates, and a data channel round trip through the relay over UDP and TCP.
    expect(result_row(page, "Direct connection")).to_contain_text("Works")
    for name in ["Relay over UDP", "Relay over TCP"]:
        row = result_row(page, name)
        expect(row.locator(".cc-badge")).to_have_text("Works")
        expect(row).to_contain_text(f"{name} works")
        expect(row).to_contain_text("Test message round trip")
    expect(result_row(page, "Relay over TLS")).to_be_hidden()  # no turns: URL configured
    expect(result_row(page, "Public address (STUN)")).to_contain_text("Not configured on this server")
    relays = page.evaluate("() => window.peerlearnCallCheck.network.relays")
    for transport in ["udp", "tcp"]:
        result = relays[transport]
        assert result["ok"] and result["roundTripMs"] > 0, result
        assert result["pair"]["localType"] == "relay", result
        assert result["pair"]["relayProtocol"] == transport, result
    host_candidates = page.evaluate(
        "() => window.peerlearnCallCheck.network.gathered.candidates.filter(c => c.type === 'host').length"
    )
    assert host_candidates > 0

    print(
        f"\n[call-check] verdict in {run_ms / 1000:.1f} s; preview {video_size[0]}x{video_size[1]}; "
        f"{cameras.count()} camera(s), {microphones.count()} microphone(s); {host_candidates} host candidate(s); "
        f"relay UDP round trip {relays['udp']['roundTripMs']:.1f} ms (connected {relays['udp']['connectMs']:.0f} ms, "
        f"pair {relays['udp']['pair']['localType']}/{relays['udp']['pair']['protocol']}/{relays['udp']['pair']['relayProtocol']}); "
        f"relay TCP round trip {relays['tcp']['roundTripMs']:.1f} ms (connected {relays['tcp']['connectMs']:.0f} ms, "
        f"pair {relays['tcp']['pair']['localType']}/{relays['tcp']['pair']['protocol']}/{relays['tcp']['pair']['relayProtocol']})"
    )

    # Run it again: it starts over and ends with the same verdict.
    page.get_by_role("button", name="Run the test again").click()
    expect(page.locator("[data-call-check]")).to_have_attribute("data-runs", "2", timeout=VERDICT_TIMEOUT_MS)
    expect(summary).to_contain_text("Ready for calls")
    expect(result_row(page, "Relay over UDP").locator(".cc-badge")).to_have_text("Works")


def test_an_unreachable_relay_is_reported_blocked_with_advice(live_db, booked_learner, daphne_with, browser_context):
    learner = booked_learner
    closed = free_port_pair()  # nothing listens there, on UDP or TCP
    server = daphne_with(
        TURN_URLS=f"turn:127.0.0.1:{closed}?transport=udp,turn:127.0.0.1:{closed}?transport=tcp",
        TURN_SECRET="unused-secret",
    )
    page = open_call_check(browser_context, server.url, learner.email)
    wait_until_finished(page)
    run_ms = page.evaluate("() => window.peerlearnCallCheck.lastRunMs")

    summary = page.get_by_role("status").filter(has=page.locator("#cc-summary-title"))
    expect(summary).to_contain_text("Calls may not work: our relay server cannot be reached from your network")
    expect(summary).to_contain_text(
        f"No relay at all: ask your network admin to allow outbound UDP {closed} and TCP {closed} to 127.0.0.1, or try another network"
    )
    udp = result_row(page, "Relay over UDP")
    expect(udp.locator(".cc-badge")).to_have_text("Blocked")
    expect(udp).to_contain_text("Relay over UDP blocked: your firewall blocks UDP")
    expect(udp).to_contain_text("Ask your network admin to allow it, or try another network")
    tcp = result_row(page, "Relay over TCP")
    expect(tcp.locator(".cc-badge")).to_have_text("Blocked")
    expect(tcp).to_contain_text(f"your network blocks outbound TCP {closed} to 127.0.0.1")
    expect(result_row(page, "Direct connection").locator(".cc-badge")).to_have_text("Works")
    expect(page.locator("#cc-summary")).to_have_attribute("aria-busy", "false")
    relays = page.evaluate("() => window.peerlearnCallCheck.network.relays")
    assert not relays["udp"]["ok"] and not relays["tcp"]["ok"]
    print(
        f"\n[call-check] unreachable relay: verdict in {run_ms / 1000:.1f} s (each step gives up after 8 s), UDP and TCP relay blocked"
    )


def test_without_a_relay_the_page_says_it_is_not_configured(live_server_url, learner, browser_context):
    page = open_call_check(browser_context, live_server_url, learner.email)
    wait_until_finished(page)
    assert json.loads(page.locator("#cc-ice-servers").text_content()) == []
    for name in ["Relay over UDP", "Relay over TCP"]:
        row = result_row(page, name)
        expect(row.locator(".cc-badge")).to_have_text("Not configured")
        expect(row).to_contain_text("Not configured on this server")
        expect(row).not_to_contain_text("blocked")
    expect(result_row(page, "Direct connection").locator(".cc-badge")).to_have_text("Works")
    summary = page.get_by_role("status").filter(has=page.locator("#cc-summary-title"))
    expect(summary).to_contain_text("Ready for calls")
    expect(summary).to_contain_text("This server has no relay (TURN) configured")

    # From the call room's pre-join screen, the page links back; never to another site.
    page.goto(f"{live_server_url}/call-check/?next=/dashboard/")
    expect(page.get_by_role("link", name="Back to the call")).to_have_attribute("href", "/dashboard/")
    page.goto(f"{live_server_url}/call-check/?next=https://evil.example/")
    expect(page.get_by_role("heading", name="Is your setup ready for a video call?")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the call")).to_have_count(0)


def test_without_a_session_ahead_the_relay_test_waits_for_a_booking(live_db, learner, daphne_with, browser_context):
    server = daphne_with(TURN_URLS="turn:127.0.0.1:3478", TURN_SECRET="unused-secret")
    page = open_call_check(browser_context, server.url, learner.email)
    wait_until_finished(page)
    assert json.loads(page.locator("#cc-ice-servers").text_content()) == []  # no relay credentials
    for name in ["Relay over UDP", "Relay over TCP"]:
        row = result_row(page, name)
        expect(row.locator(".cc-badge")).to_have_text("After you book")
        expect(row).to_contain_text("runs when you have a call coming up")
    summary = page.get_by_role("status").filter(has=page.locator("#cc-summary-title"))
    expect(summary).to_contain_text("Ready for calls")
    expect(summary).to_contain_text("The relay (TURN) test runs when you have a call coming up")
