"""A person signs up in Chromium: from the landing page to their dashboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.accounts.models import User

pytestmark = pytest.mark.browser


def test_visitor_signs_up_from_the_landing_page_and_sees_the_dashboard(live_server_url, browser_context):
    page = browser_context.new_page()
    page.goto(live_server_url + "/")
    page.get_by_role("banner").get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))

    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill("analytical-engine-1843")
    page.get_by_label("Repeat password").fill("analytical-engine-1843")
    page.get_by_label("Mentor learners").check()
    page.get_by_label("Time zone").select_option("Europe/London")
    page.get_by_role("button", name="Sign Up").click()

    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", name="Welcome, Ada Lovelace")).to_be_visible()
    expect(page.get_by_text("Mentor dashboard")).to_be_visible()
    user = User.objects.get(email="ada@example.com")
    assert (user.role, user.time_zone) == ("mentor", "Europe/London")


def test_sign_up_defaults_the_time_zone_to_the_browsers(live_server_url, chromium):
    context = chromium.new_context(timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        page.goto(live_server_url + "/accounts/signup/")
        expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    finally:
        context.close()
