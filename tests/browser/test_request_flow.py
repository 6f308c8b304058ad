"""The 1:1 loop in two browsers, as its people do it: a learner on a phone picks a free time from a
mentor's availability and sends a request; the mentor, on a laptop, sees it arrive on the dashboard
without reloading and accepts; the mentor proposes a new time and the learner's dashboard shows it
live; the learner accepts and the mentor's dashboard follows; at the time, both join the call."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conftest import make_user
from mentoring.models import Booking, RescheduleProposal, Session, SessionRequest
from mentoring.services.availability import availability_update
from tests.browser.helpers import log_in
from tests.browser.test_call import join, wait_for_video

pytestmark = [pytest.mark.browser, pytest.mark.calls]


def test_learner_requests_a_slot_mentor_accepts_both_see_a_reschedule_live_and_meet(live_server_url, chromium):
    base = live_server_url
    mentor = make_user("maya@example.com", "Maya Mentor", "mentor", "Europe/Berlin")
    learner = make_user("alice@example.com", "Alice Learner", "learner", "Asia/Kolkata")
    availability_update(
        mentor=mentor,
        time_zone="Europe/Berlin",
        session_lengths=[30, 60],
        buffer_before=0,
        buffer_after=0,
        min_notice=120,
        max_days_ahead=30,
        daily_cap=None,
        weekly_cap=None,
        auto_accept=False,
        weekly_hours={day: [(0, 1440)] for day in range(7)},
    )
    mentor_ctx = chromium.new_context(viewport={"width": 1280, "height": 800})
    learner_ctx = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        maya, alice = mentor_ctx.new_page(), learner_ctx.new_page()
        log_in(maya, base, mentor.email)  # she stays on her dashboard, as mentors do
        expect(maya.locator("[data-notifications-socket]")).to_have_attribute("data-live", "true")

        # The learner picks the 60-minute length and the first free time on the profile.
        log_in(alice, base, learner.email)
        alice.goto(f"{base}/mentors/{mentor.pk}/")
        alice.get_by_role("link", name="60 min").click()
        expect(alice.get_by_text("Times are in your time zone, Asia/Kolkata.")).to_be_visible()
        alice.locator(".slot-picker .slot-list a").first.click()
        expect(alice.get_by_role("heading", name="With Maya Mentor")).to_be_visible()
        alice.get_by_label("What do you want to work on?").fill("My first open-source pull request.")
        alice.get_by_role("button", name="Send the request").click()
        expect(alice.get_by_text("Your request is sent.")).to_be_visible()
        asked = SessionRequest.objects.get(learner=learner)
        assert (asked.mentor_id, asked.duration_minutes, asked.status) == (mentor.pk, 60, "pending")
        assert asked.starts_at - timezone.now() >= timedelta(minutes=119)

        # The mentor's dashboard shows the request without a reload; she accepts it.
        alice.goto(f"{base}/dashboard/")
        expect(alice.locator("[data-notifications-socket]")).to_have_attribute("data-live", "true")
        accept = maya.get_by_role("button", name="Accept Alice Learner's request")
        expect(accept).to_be_visible(timeout=15_000)
        expect(maya.locator("[data-live-region] .request-agenda")).to_have_text("My first open-source pull request.")
        accept.click()
        expect(maya.get_by_text("Accepted: your 1:1 with Alice Learner is booked")).to_be_visible()
        asked.refresh_from_db()
        session = Session.objects.get(pk=asked.session_id)
        assert session.private and session.starts_at == asked.starts_at
        assert Booking.objects.filter(session=session, learner=learner, status="active").count() == 1

        # The learner's dashboard, open all along, lists the session now.
        expect(alice.locator("[data-live-region]").get_by_text(session.title).first).to_be_visible(timeout=15_000)

        # The mentor proposes another time (the second day shown, its first free slot).
        maya.goto(f"{base}/sessions/{session.pk}/")
        maya.get_by_role("link", name="Propose a new time").click()
        day = maya.locator("details.reschedule-day").nth(1)  # the first three days are open
        day.locator("label.choice").first.click()
        expect(day.locator("input[type=radio]").first).to_be_checked()
        maya.get_by_label("Message").fill("A clash came up; does this work?")
        maya.get_by_role("button", name="Propose this time").click()
        expect(maya.locator(".message-success")).to_contain_text("You proposed")
        proposal = RescheduleProposal.objects.get(session=session, status="pending")

        # The learner's dashboard shows the proposal live; she answers it.
        waiting = alice.locator("[data-live-region]").get_by_text("New times to answer")
        expect(waiting).to_be_visible(timeout=15_000)
        maya.goto(f"{base}/dashboard/")
        expect(maya.locator("[data-notifications-socket]")).to_have_attribute("data-live", "true")
        assert alice.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing sideways
        alice.get_by_role("link", name=re.compile("Answer the new time")).click()
        alice.get_by_role("button", name="Accept the new time").click()
        expect(alice.get_by_text("Done: the session now starts")).to_be_visible()
        session.refresh_from_db()
        assert session.starts_at == proposal.starts_at != asked.starts_at
        # The mentor's dashboard follows: the new day and time in her zone, with no reload.
        moved = timezone.localtime(session.starts_at, ZoneInfo("Europe/Berlin")).strftime("%a %-d %b, %H:%M")
        expect(maya.locator("[data-live-region]").get_by_text(moved).first).to_be_visible(timeout=15_000)

        # At the time (the clock moved on: the session now starts in five minutes) both join the call.
        start = timezone.now() + timedelta(minutes=5)
        Session.objects.filter(pk=session.pk).update(starts_at=start, ends_at=start + timedelta(minutes=60))
        join(maya, base, session)
        join(alice, base, session)
        wait_for_video(maya, ["Alice Learner"])
        wait_for_video(alice, ["Maya Mentor"])
    finally:
        mentor_ctx.close()
        learner_ctx.close()
