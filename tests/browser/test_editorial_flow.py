"""Editors run the public face alone: edit in Wagtail, submit, a moderator approves, visitors see it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from cms_pages.models import CourseIndexPage, CoursePage
from cms_pages.selectors import home_page_get
from conftest import PASSWORD, make_user
from mentoring.models import Booking
from mentoring.tests.factories import make_session, skill
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser


def cms_login(page, base: str, email: str) -> None:
    page.goto(base + "/cms/login/")  # leads to the site's own login form, then back to Wagtail
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/cms/$"))


def submit_for_moderation(page) -> None:
    # The footer's action menu: the main button is "Save draft"; submitting sits in its dropdown.
    page.locator("footer").get_by_role("button", name="More actions").click()
    page.get_by_role("button", name=re.compile("Submit to Moderators approval")).click()
    expect(page.get_by_text(re.compile("has been submitted for moderation", re.I)).first).to_be_visible()


def approve(page) -> None:
    page.locator("footer").get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Approve and Publish", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/edit/$"))  # back to the page explorer once approved


def test_editor_edits_and_submits_a_moderator_approves_and_a_visitor_sees_it(live_server_url, chromium):
    editor = make_user("erin@example.com", "Erin Editor")
    editor.groups.add(Group.objects.get(name="Editors"))
    moderator = make_user("mo@example.com", "Mo Moderator")
    moderator.groups.add(Group.objects.get(name="Moderators"))
    home = home_page_get()
    index = CourseIndexPage(title="Courses", slug="courses")
    home.add_child(instance=index)
    index.save_revision().publish()
    course = CoursePage(title="Django basics", slug="django-basics", summary="The old summary.", level="beginner")
    index.add_child(instance=course)
    course.save_revision().publish()

    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        cms_login(page, live_server_url, editor.email)
        page.goto(f"{live_server_url}/cms/pages/{home.pk}/edit/")
        page.get_by_role("textbox", name="Hero heading").fill("Grow with mentors who care")
        submit_for_moderation(page)
        page.goto(f"{live_server_url}/cms/pages/{course.pk}/edit/")
        page.get_by_role("textbox", name="Summary").fill("A brand new summary from the editor.")
        submit_for_moderation(page)
        # Submitted is not live.
        anon = chromium.new_context().new_page()
        anon.goto(live_server_url + "/")
        expect(anon.get_by_role("heading", level=1)).not_to_have_text("Grow with mentors who care")
        anon.goto(live_server_url + "/courses/django-basics/")
        expect(anon.get_by_text("The old summary.").first).to_be_visible()

        mod = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
        cms_login(mod, live_server_url, moderator.email)
        for page_id in (home.pk, course.pk):
            mod.goto(f"{live_server_url}/cms/pages/{page_id}/edit/")
            approve(mod)

        anon.goto(live_server_url + "/")
        expect(anon.get_by_role("heading", level=1)).to_have_text("Grow with mentors who care")
        anon.goto(live_server_url + "/courses/django-basics/")
        expect(anon.get_by_text("A brand new summary from the editor.").first).to_be_visible()
    finally:
        ctx.close()


def test_learner_goes_from_a_course_page_to_booking_one_of_its_sessions(live_server_url, chromium):
    django = skill("Django")
    mentor = make_user("maya@example.com", "Maya Mentor", "mentor")
    learner = make_user("alice@example.com", "Alice Learner")
    session = make_session(
        mentor, title="Django office hours", skills=[django], starts_in=timedelta(days=2), capacity=3
    )
    index = CourseIndexPage(title="Courses", slug="courses")
    home_page_get().add_child(instance=index)
    index.save_revision().publish()
    course = CoursePage(
        title="Web apps with Django", slug="web-apps", summary="Ship a Django app.", level="intermediate"
    )
    course.skills = [django]
    index.add_child(instance=course)
    course.save_revision().publish()

    ctx = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = ctx.new_page()
        log_in(page, live_server_url, learner.email)
        page.goto(live_server_url + "/courses/")
        page.get_by_role("link", name="Web apps with Django").click()
        page.get_by_role("link", name="Book “Django office hours”").first.click()
        page.get_by_role("button", name="Book a seat").click()
        expect(page.get_by_text("You have a seat.")).to_be_visible()
        assert Booking.objects.filter(session=session, learner=learner, status="active").count() == 1
    finally:
        ctx.close()
