"""On a phone the bell is inside the closed ☰ menu: the menu button carries the unread count, live,
and Escape closes the open menu, giving the focus back to the button."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import make_user
from tests.browser.helpers import log_in
from tests.browser.test_tabs import notify

pytestmark = pytest.mark.browser
LIVE = 10_000  # ms: anything that travels over a socket


def test_on_a_phone_the_menu_button_shows_the_unread_count_and_escape_closes_the_menu(live_server_url, chromium):
    alice = make_user("alice@example.com", "Alice Learner", "learner")
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        log_in(page, live_server_url, alice.email)
        menu = page.get_by_role("button", name=re.compile(r"^Menu"))
        badge = page.locator("[data-menu-count]")
        expect(menu).to_be_visible()
        expect(menu).to_have_accessible_name("Menu")
        expect(badge).to_be_hidden()
        expect(page.locator("[data-notifications-socket]")).to_have_attribute("data-live", "true", timeout=LIVE)

        # A notification arrives: the menu button shows the bell's count, without a reload.
        notify(user=alice, text="Your session starts in 15 minutes")
        expect(badge).to_be_visible(timeout=LIVE)
        expect(badge).to_have_text("1")
        expect(menu).to_have_accessible_name("Menu, 1 unread notifications")
        notify(user=alice, text="Maya accepted your request")
        expect(badge).to_have_text("2", timeout=LIVE)
        expect(page.locator("[data-unread-count]")).to_have_text("2")
        box = badge.bounding_box()
        assert box and 0 <= box["x"] and box["x"] + box["width"] <= 390, box  # on the screen

        # Rendered with the count too.
        page.reload()
        expect(badge).to_have_text("2")
        expect(menu).to_have_accessible_name("Menu, 2 unread notifications")

        # The keyboard opens the menu; Escape, from inside it, closes it and the focus is on the button.
        menu.focus()
        page.keyboard.press("Enter")
        nav = page.get_by_role("navigation", name="Main")
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.getElementById('site-nav').contains(document.activeElement)")
        page.keyboard.press("Escape")
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(nav.get_by_role("link", name="Dashboard")).to_be_hidden()
        assert page.evaluate("() => document.activeElement === document.querySelector('.nav-toggle')")
        page.keyboard.press("Escape")  # closed already: nothing happens
        expect(menu).to_have_attribute("aria-expanded", "false")

        # Read in another tab: the count leaves the menu button too.
        other = context.new_page()
        other.goto(live_server_url + "/notifications/")
        other.get_by_role("button", name="Mark all as read").click()
        expect(badge).to_be_hidden(timeout=LIVE)
        expect(menu).to_have_accessible_name("Menu")
        print(
            "\n[menu] 390 px: badge 0 -> 1 -> 2 live, rendered 2, Escape closes with focus on the button, read -> hidden"
        )
    finally:
        context.close()
