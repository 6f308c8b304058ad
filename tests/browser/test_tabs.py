"""One person, two tabs: the bell, "Mark all as read" and signing out and in reach every open tab."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from playwright.sync_api import expect

from conftest import make_user
from mentoring.models import Notification
from mentoring.services import notifications
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser
LIVE = 10_000  # ms: anything that travels over a socket


def notify(*, user, text: str) -> None:
    """A notification as the site makes one (stored, then pushed after commit), from a thread of its
    own: Playwright's event loop owns this one, and the push (async_to_sync) refuses to run beside it."""

    def work() -> None:
        try:
            notifications.notify(user=user, kind="reminder", text=text)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result(timeout=60)


def bell_of(page):
    return page.locator("[data-notifications-socket]")


def count_of(page):
    return page.locator("[data-unread-count]")


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()


def test_read_state_and_sign_in_reach_every_tab(live_server_url, chromium):
    alice = make_user("alice@example.com", "Alice Learner", "learner")
    bob = make_user("bob@example.com", "Bob Learner", "learner")
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        tab_a = context.new_page()
        log_in(tab_a, live_server_url, alice.email)
        tab_b = context.new_page()
        tab_b.goto(live_server_url + "/dashboard/")
        tabs = (tab_a, tab_b)
        for tab in tabs:
            expect(bell_of(tab)).to_have_attribute("data-live", "true", timeout=LIVE)
            expect(count_of(tab)).to_be_hidden()

        # A notification reaches both bells, with the count the server holds.
        notify(user=alice, text="Your session starts in 15 minutes")
        for tab in tabs:
            expect(count_of(tab)).to_have_text("1", timeout=LIVE)
            expect(bell_of(tab)).to_have_attribute("aria-label", "Notifications, 1 unread")

        # Mark all as read in tab A: tab B's bell goes away without a reload.
        tab_a.get_by_role("link", name=re.compile(r"^Notifications")).click()
        tab_a.get_by_role("button", name="Mark all as read").click()
        expect(tab_a.get_by_text("All notifications marked as read.")).to_be_visible()
        b_url = tab_b.url
        expect(count_of(tab_b)).to_be_hidden(timeout=LIVE)
        expect(bell_of(tab_b)).to_have_attribute("aria-label", "Notifications")
        assert tab_b.url == b_url  # no reload, no navigation
        assert not Notification.objects.filter(user=alice, is_read=False).exists()
        read_reached = sum(count_of(tab).is_hidden() for tab in tabs)
        expect(bell_of(tab_a)).to_have_attribute("data-live", "true", timeout=LIVE)

        # Sign out in tab B: tab A says so, politely, with a way back; its socket is closed.
        log_out(tab_b)
        expect(bell_of(tab_a)).to_have_attribute("data-live", "false", timeout=LIVE)
        expect(tab_a.get_by_text("You were signed out in another tab.")).to_be_visible(timeout=LIVE)
        sign_in = tab_a.get_by_role("link", name="Sign in again")
        expect(sign_in).to_have_attribute("href", "/accounts/login/?next=%2Fnotifications%2F")

        # In again in tab B, as the same person: tab A is live again, without a reload, and hears news.
        started = time.monotonic()
        log_in(tab_b, live_server_url, alice.email)
        expect(bell_of(tab_a)).to_have_attribute("data-live", "true", timeout=LIVE)
        relive_ms = (time.monotonic() - started) * 1000
        expect(tab_a.get_by_text("You were signed out in another tab.")).to_be_hidden()
        notify(user=alice, text="Feedback requested for Pairing")
        expect(count_of(tab_a)).to_have_text("1", timeout=LIVE)
        expect(tab_a.locator(".toast")).to_contain_text("Feedback requested for Pairing")
        reconnected = count_of(tab_a).inner_text() == "1"

        # Out again, and in as somebody else: tab A says whose browser it is now and does not listen.
        log_out(tab_b)
        log_in(tab_b, live_server_url, bob.email)
        expect(tab_a.get_by_text("You are now signed in as Bob in another tab.")).to_be_visible(timeout=LIVE)
        expect(tab_a.get_by_role("link", name="Reload to continue")).to_have_attribute("href", "/notifications/")
        expect(bell_of(tab_a)).to_have_attribute("data-live", "false")
        expect(bell_of(tab_b)).to_have_attribute("data-live", "true", timeout=LIVE)
        notify(user=bob, text="Only for Bob")
        expect(count_of(tab_b)).to_have_text("1", timeout=LIVE)
        tab_a.wait_for_timeout(300)  # real time: a toast (none expected) would show meanwhile
        expect(tab_a.locator(".toast").filter(has_text="Only for Bob")).to_have_count(0)
        expect(count_of(tab_a)).to_have_text("1")  # still Alice's page: her count, not Bob's

        print(
            f"\n[tabs] {len(tabs)} tabs, read-state reached {read_reached}/{len(tabs)}, "
            f"reconnected after re-login: {'yes' if reconnected else 'no'} ({relive_ms:.0f} ms incl. the login), "
            "other person: banner"
        )
    finally:
        context.close()


def test_without_broadcast_channel_a_revisited_tab_asks_the_server(live_server_url, chromium):
    """The fallback: no news from the other tabs (no BroadcastChannel), so a tab whose socket was
    closed learns who is signed in from GET /live/identity/ when it is looked at again."""
    alice = make_user("alice@example.com", "Alice Learner", "learner")
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script("delete window.BroadcastChannel;")
    try:
        tab_a = context.new_page()
        log_in(tab_a, live_server_url, alice.email)
        tab_b = context.new_page()
        tab_b.goto(live_server_url + "/dashboard/")
        expect(bell_of(tab_a)).to_have_attribute("data-live", "true", timeout=LIVE)

        log_out(tab_b)
        expect(tab_a.get_by_text("You were signed out in another tab.")).to_be_visible(timeout=LIVE)
        log_in(tab_b, live_server_url, alice.email)
        tab_a.wait_for_timeout(500)  # real time: a wrong reconnect (none expected) would happen meanwhile
        expect(bell_of(tab_a)).to_have_attribute("data-live", "false")  # nobody told it yet

        # A notification made while tab A was closed counts once it is back.
        notify(user=alice, text="Made while tab A was away")
        tab_a.bring_to_front()
        tab_a.evaluate("window.dispatchEvent(new Event('focus'))")  # headless tabs never lose focus
        expect(bell_of(tab_a)).to_have_attribute("data-live", "true", timeout=LIVE)
        expect(tab_a.get_by_text("You were signed out in another tab.")).to_be_hidden()
        expect(count_of(tab_a)).to_have_text("1", timeout=LIVE)
    finally:
        context.close()
