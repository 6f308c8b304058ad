"""Mentor and learner in two browsers: create, book, live bell, calendar download."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar
from playwright.sync_api import expect

from conftest import make_user
from mentoring.models import Booking, Session
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser


def test_mentor_creates_learner_books_bell_updates_live_and_ics_downloads(live_server_url, chromium):
    mentor = make_user("maya@example.com", "Maya Mentor", "mentor", "America/New_York")
    learner = make_user("alice@example.com", "Alice Learner", "learner", "Asia/Kolkata")
    mentor_ctx = chromium.new_context(viewport={"width": 1280, "height": 800})
    learner_ctx = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        mentor_page = mentor_ctx.new_page()
        log_in(mentor_page, live_server_url, mentor.email)
        mentor_page.get_by_role("link", name="Create session").first.click()
        start = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo("America/New_York")) + timedelta(days=2)
        mentor_page.get_by_label("Title").fill("Pairing on Django views")
        mentor_page.get_by_label("Description").fill("Bring a view that grew too big.")
        mentor_page.get_by_label("Starts").fill(start.strftime("%Y-%m-%dT18:30"))
        mentor_page.get_by_label("Duration").select_option("45")
        mentor_page.get_by_label("Seats").select_option("2")
        mentor_page.get_by_role("button", name="Publish session").click()
        expect(mentor_page.get_by_text("Your session is published.")).to_be_visible()
        session = Session.objects.get(title="Pairing on Django views")
        assert timezone.localtime(session.starts_at, zoneinfo.ZoneInfo("America/New_York")).strftime("%H:%M") == "18:30"

        mentor_page.goto(live_server_url + "/dashboard/")
        bell_count = mentor_page.locator("[data-unread-count]")
        expect(bell_count).to_be_hidden()
        expect(mentor_page.locator("[data-notifications-socket]")).to_have_attribute("data-live", "true")

        learner_page = learner_ctx.new_page()
        log_in(learner_page, live_server_url, learner.email)
        learner_page.goto(f"{live_server_url}/sessions/{session.pk}/")
        learner_page.get_by_role("button", name="Book a seat").click()
        expect(learner_page.get_by_text("You have a seat.")).to_be_visible()
        assert Booking.objects.filter(session=session, learner=learner, status="active").count() == 1

        # The mentor's bell goes to 1 and a toast appears, with no reload.
        expect(bell_count).to_have_text("1", timeout=10_000)
        expect(mentor_page.locator(".toast")).to_contain_text("Alice Learner booked “Pairing on Django views”")

        with learner_page.expect_download() as download_info:
            learner_page.get_by_role("link", name="Add to calendar (.ics)").click()
        content = open(download_info.value.path(), "rb").read()
        event = Calendar.from_ical(content).walk("VEVENT")[0]
        assert event.decoded("dtstart") == session.starts_at
    finally:
        mentor_ctx.close()
        learner_ctx.close()
