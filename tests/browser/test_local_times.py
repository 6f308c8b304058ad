"""Signed-out visitors see times in their browser's zone, and are told which (issue 14); signed-in
people keep their profile's zone. Each browser context sets its own zone (timezone_id)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from conftest import make_user
from mentoring.models import Session
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser

# 2099-07-01 10:00 UTC: 12:00 CEST in Berlin, 06:00 EDT in New York, 15:30 IST in Kolkata.
FAR = datetime(2099, 7, 1, 10, 0, tzinfo=UTC)
EDGE = datetime(9999, 12, 31, 22, 0, tzinfo=UTC)  # past the year 9999 in UTC+14: shown in UTC


def _session(mentor, title: str, starts_at: datetime) -> Session:
    return Session.objects.create(
        mentor=mentor,
        title=title,
        description="Stored directly.",
        starts_at=starts_at,
        duration_minutes=60,
        ends_at=starts_at + timedelta(minutes=60),
        capacity=2,
    )


def test_signed_out_times_follow_the_browser_zone_and_say_which(live_server_url, chromium):
    mentor = make_user("maya@example.com", "Maya Mentor", "mentor", "America/New_York")
    learner = make_user("alice@example.com", "Alice Learner", "learner", "Asia/Kolkata")
    far = _session(mentor, "Far future pairing", FAR)
    edge = _session(mentor, "Edge of time", EDGE)
    seen = []
    for zone, when, end in [
        ("Europe/Berlin", "Wed 1 Jul 2099", "12:00–13:00 CEST"),
        ("America/New_York", "Wed 1 Jul 2099", "06:00–07:00 EDT"),
    ]:
        context = chromium.new_context(timezone_id=zone, viewport={"width": 1280, "height": 800})
        try:
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            page.goto(f"{live_server_url}/sessions/{far.pk}/")
            facts = page.locator(".facts")
            expect(facts).to_contain_text(when)
            expect(facts).to_contain_text(end)
            expect(facts).to_contain_text(f"Times in your browser's time zone, {zone}.")
            seen.append((zone, facts.inner_text().split("\n")[1:3]))

            page.goto(f"{live_server_url}/sessions/")
            card = page.locator(".session-card", has_text="Far future pairing")
            expect(card.locator(".session-month")).to_have_text("Jul 2099")
            expect(card.locator(".session-meta")).to_contain_text(end)
            expect(page.locator("[data-times-note]")).to_have_text(f"Times in your browser's time zone, {zone}.")
            assert errors == [], errors
        finally:
            context.close()

    # An instant whose local date would pass the year 9999 stays in UTC rather than break.
    context = chromium.new_context(timezone_id="Pacific/Kiritimati")
    try:
        page = context.new_page()
        page.goto(f"{live_server_url}/sessions/{edge.pk}/")
        expect(page.locator(".facts")).to_contain_text("Fri 31 Dec 9999")
        expect(page.locator(".facts")).to_contain_text("22:00–23:00 UTC")
    finally:
        context.close()

    # Signed in: the profile's zone (Kolkata) from the server, whatever the browser's zone.
    context = chromium.new_context(timezone_id="Europe/Berlin")
    try:
        page = context.new_page()
        log_in(page, live_server_url, learner.email)
        page.goto(f"{live_server_url}/sessions/{far.pk}/")
        expect(page.locator(".facts")).to_contain_text("15:30–16:30 IST")
        expect(page.locator("[data-times-note]")).to_have_count(0)
        assert page.locator("time[data-local-format]").count() == 0
    finally:
        context.close()
    print(f"browser zones checked {len(seen) + 1}, wrong 0: {seen}")
