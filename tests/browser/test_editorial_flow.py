"""Editors run the public face alone: edit in Wagtail, submit, a moderator approves, visitors see it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from cms_pages.models import CourseIndexPage, CoursePage, SiteChrome
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


# Wagtail's editor takes its "unchanged" snapshot of the form 2 s after loading and counts only edits
# made after it (a person is never faster); the test waits for that moment before typing.
WATCH_EDITS = "document.addEventListener('w-unsaved:watch-edits', () => { window.__editsWatched = true; });"


def editor_context(chromium):
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(WATCH_EDITS)
    return ctx


def open_preview(page, selector: str, text: str) -> None:
    """Open Wagtail's live preview side panel (Wagtail may remember it open), wait for its first render
    and for the editor to watch for edits."""
    page.wait_for_function("window.__editsWatched === true")
    toggle = page.get_by_role("button", name="Toggle preview")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    preview_shows(page, selector, text)


def preview_shows(page, selector: str, text: str) -> None:
    """Wait until the framed preview shows ``text``. Wagtail notices an edit by polling the form, autosaves
    the draft, then reloads the preview: seconds on a busy machine, hence the longer wait."""
    expect(page.frame_locator("#w-preview-iframe").locator(selector).first).to_contain_text(text, timeout=10_000)


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

    ctx = editor_context(chromium)
    try:
        page = ctx.new_page()
        cms_login(page, live_server_url, editor.email)
        page.goto(f"{live_server_url}/cms/pages/{home.pk}/edit/")
        open_preview(page, "h1", home.hero_heading)
        page.get_by_role("textbox", name="Hero heading").fill("Grow with mentors who care")
        preview_shows(page, "h1", "Grow with mentors who care")
        submit_for_moderation(page)
        page.goto(f"{live_server_url}/cms/pages/{course.pk}/edit/")
        open_preview(page, "main", "The old summary.")
        page.get_by_role("textbox", name="Summary").fill("A brand new summary from the editor.")
        preview_shows(page, "main", "A brand new summary from the editor.")
        submit_for_moderation(page)
        print("[preview] page types previewed in the side panel: 2, panel shows the edit: 2")
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


def test_editor_changes_menus_and_footer_a_moderator_approves_and_only_then_visitors_see_it(live_server_url, chromium):
    editor = make_user("erin@example.com", "Erin Editor")
    editor.groups.add(Group.objects.get(name="Editors"))
    moderator = make_user("mo@example.com", "Mo Moderator")
    moderator.groups.add(Group.objects.get(name="Moderators"))
    chrome = SiteChrome.load()
    edit_url = f"{live_server_url}/cms/snippets/cms_pages/sitechrome/edit/{chrome.pk}/"

    ctx = editor_context(chromium)
    try:
        page = ctx.new_page()
        cms_login(page, live_server_url, editor.email)
        page.get_by_role("button", name="Settings").click()
        page.get_by_role("link", name="Menus and footer").click()
        page.get_by_role("link", name=re.compile("Menus and footer of PeerLearn")).click()
        expect(page).to_have_url(edit_url)
        open_preview(page, "footer", chrome.footer_text)
        page.get_by_role("textbox", name="Site name").fill("PeerLearn Academy")
        page.get_by_role("textbox", name="Footer text").fill("© PeerLearn Academy, reviewed by moderators.")
        preview_shows(page, "footer", "reviewed by moderators")
        submit_for_moderation(page)

        anon = chromium.new_context().new_page()
        anon.goto(live_server_url + "/mentors/")
        expect(anon.get_by_role("contentinfo")).not_to_contain_text("reviewed by moderators")
        expect(anon.get_by_role("banner")).not_to_contain_text("PeerLearn Academy")

        mod = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
        cms_login(mod, live_server_url, moderator.email)
        mod.goto(edit_url)
        approve(mod)

        anon.goto(live_server_url + "/mentors/")
        expect(anon.get_by_role("contentinfo")).to_contain_text("reviewed by moderators")
        expect(anon.get_by_role("banner")).to_contain_text("PeerLearn Academy")
        print("[chrome] draft seen publicly before approval: 0, after approval: 1")
    finally:
        ctx.close()
