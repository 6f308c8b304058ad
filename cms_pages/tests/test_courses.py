from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import PageViewRestriction
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from cms_pages.models import CourseIndexPage, CoursePage, HomePage, SiteChrome, StandardPage
from cms_pages.selectors import home_page_get
from cms_pages.tests.factories import make_catalog, make_course
from conftest import make_user
from mentoring.models import Session
from mentoring.services.bookings import booking_create
from mentoring.services.sessions import session_cancel
from mentoring.tests.factories import make_session, skill


class CourseTreeTests(WagtailPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.admin = make_user("root@example.com", "Root", is_staff=True, is_superuser=True)

    def setUp(self):
        self.client.force_login(self.admin)

    def test_tree_rules(self):
        self.assertAllowedParentPageTypes(CourseIndexPage, {HomePage})
        self.assertAllowedSubpageTypes(CourseIndexPage, {CoursePage})
        self.assertAllowedParentPageTypes(CoursePage, {CourseIndexPage})
        self.assertAllowedSubpageTypes(CoursePage, set())
        self.assertCanNotCreateAt(HomePage, CoursePage)
        self.assertCanNotCreateAt(StandardPage, CourseIndexPage)

    def test_course_created_through_the_admin_form(self):
        index = make_catalog()
        python = skill("Python")
        data = nested_form_data(
            {
                "title": "Python 101",
                "slug": "python-101",
                "summary": "Start here.",
                "level": "beginner",
                "estimated_effort": "2 weeks",
                "hero_image_alt": "",
                "body": streamfield([("paragraph", rich_text("<p>Hello</p>"))]),
            }
        )
        data["skills"] = [python.pk]
        self.assertCanCreate(index, CoursePage, data)
        course = CoursePage.objects.get(slug="python-101")
        assert list(course.skills.all()) == [python]

    def test_hero_image_needs_alt_text(self):
        index = make_catalog()
        image = Image.objects.create(title="x", file=get_test_image_file())
        response = self.client.post(
            f"/cms/pages/add/cms_pages/coursepage/{index.pk}/",
            nested_form_data(
                {
                    "title": "No alt",
                    "slug": "no-alt",
                    "summary": "s",
                    "level": "beginner",
                    "hero_image": image.pk,
                    "hero_image_alt": "",
                    "body": streamfield([]),
                    "action-publish": "1",
                }
            ),
        )
        assert response.status_code == 200
        assert "Describe the hero image" in response.text
        assert not CoursePage.objects.filter(slug="no-alt").exists()


@pytest.mark.django_db
def test_course_page_lists_exactly_the_open_matching_sessions_with_bounded_queries(
    client, mentor, learner, other_learner
):
    python, design = skill("Python"), skill("UX Design")
    course = make_course(make_catalog(), skills=[python])
    yes_skill = make_session(mentor, title="Matches by skill", skills=[python], starts_in=timedelta(days=1))
    yes_link = make_session(mentor, title="Linked to course", skills=[design], starts_in=timedelta(days=2))
    Session.objects.filter(pk=yes_link.pk).update(course=course)
    no_other = make_session(mentor, title="Other skill", skills=[design], starts_in=timedelta(days=3))
    no_full = make_session(mentor, title="Full one", skills=[python], starts_in=timedelta(days=4), capacity=1)
    booking_create(session_id=no_full.pk, learner=learner)
    no_cancelled = make_session(mentor, title="Cancelled one", skills=[python], starts_in=timedelta(days=5))
    session_cancel(session_id=no_cancelled.pk, actor=mentor)
    past = Session.objects.create(
        mentor=mentor,
        title="Past one",
        starts_at=timezone.now() - timedelta(days=1),
        duration_minutes=60,
        ends_at=timezone.now() - timedelta(days=1) + timedelta(minutes=60),
        capacity=2,
    )
    past.skills.set([python])

    response = client.get(course.url)
    assert [s.title for s in response.context["course_sessions"]] == ["Matches by skill", "Linked to course"]
    assert (
        "Other skill" not in response.text and "Full one" not in response.text and "Cancelled one" not in response.text
    )
    assert [m.user for m in response.context["course_mentors"]] == []  # the mentor lists no skills yet
    mentor.mentor_profile.skills.set([python])
    assert [m.user for m in client.get(course.url).context["course_mentors"]] == [mentor]
    assert f'href="/sessions/{yes_skill.pk}/"' in client.get(course.url).text

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(course.url).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for i in range(40):
        make_session(mentor, title=f"More {i}", skills=[python], starts_in=timedelta(days=10, hours=2 * i))
    assert queries() == few
    assert no_other.pk not in [s.pk for s in client.get(course.url).context["course_sessions"]]


@pytest.mark.django_db
def test_every_page_type_renders_with_every_block(client, mentor):
    python = skill("Python")
    index = make_catalog()
    course = make_course(index, skills=[python])
    pinned = make_session(mentor, title="Pinned session", skills=[skill("SQL")])
    image = Image.objects.create(title="Cover", file=get_test_image_file())
    body = [
        ("heading", {"text": "H", "size": "h3"}),
        ("paragraph", "<p>Para</p>"),
        ("image", {"image": {"image": image, "alt_text": "A cover", "decorative": False}, "caption": ""}),
        ("quote", {"text": "Q", "attribution": ""}),
        ("call_to_action", {"heading": "Go", "text": "", "button_label": "Go", "button_page": index, "button_url": ""}),
        ("course_sessions", {"heading": "Sessions for this course", "pinned": [pinned], "include_matching": True}),
    ]
    course.body = body
    course.hero_image, course.hero_image_alt = image, "Hero alt"
    course.save_revision().publish()
    standard = StandardPage(title="Std", slug="std", body=body)
    home_page_get().add_child(instance=standard)
    standard.save_revision().publish()
    h = home_page_get()
    h.body = body
    h.save_revision().publish()
    make_session(mentor, title="Matching session", skills=[python], starts_in=timedelta(days=3))

    for url in ["/", "/std/", "/courses/", course.url]:
        response = client.get(url)
        assert response.status_code == 200, url
        if url != "/courses/":
            assert 'alt="A cover"' in response.text and "Pinned session" in response.text
    course_html = client.get(course.url).text
    assert course_html.index("Pinned session") < course_html.index("Matching session")  # pinned first
    assert 'alt="Hero alt"' in course_html and "srcset=" in course_html
    assert (
        '<meta property="og:image"' in course_html and f'<link rel="canonical" href="{course.full_url}">' in course_html
    )


@pytest.mark.django_db
def test_catalog_filters_by_skill_and_level_and_paginates(client):
    python, sql = skill("Python"), skill("SQL")
    index = make_catalog()
    make_course(index, "Py beginner", "py-b", [python], "beginner")
    make_course(index, "Py advanced", "py-a", [python], "advanced")
    make_course(index, "SQL beginner", "sql-b", [sql], "beginner")
    make_course(index, "Hidden draft", "draft", [python], "beginner", publish=False)

    def titles(query):
        return [c.title for c in client.get("/courses/" + query).context["page_obj"]]

    assert titles("") == ["Py advanced", "Py beginner", "SQL beginner"]
    assert titles("?skill=python") == ["Py advanced", "Py beginner"]
    assert titles("?skill=python&level=beginner") == ["Py beginner"]
    assert titles("?level=nonsense") == ["Py advanced", "Py beginner", "SQL beginner"]
    for i in range(10):
        make_course(index, f"Extra {i:02d}", f"extra-{i}", [sql])
    assert len(titles("")) == 9 and len(titles("?page=2")) == 4 and client.get("/courses/?page=999").status_code == 200


@pytest.mark.django_db
def test_drafts_private_pages_and_unpublished_revisions_stay_hidden(client):
    index = make_catalog()
    make_course(index, "Draft course", "draft-course", publish=False)
    private = make_course(index, "Private course", "private-course")
    PageViewRestriction.objects.create(page=private, restriction_type=PageViewRestriction.LOGIN)
    public = make_course(index, "Public course", "public-course")
    public.title = "Unpublished new title"
    public.save_revision()  # a draft revision, not published

    assert client.get("/courses/draft-course/").status_code == 404
    assert client.get("/courses/private-course/").status_code == 302  # to login
    assert "Unpublished new title" not in client.get("/courses/public-course/").text
    sitemap = client.get("/sitemap.xml").text
    assert "public-course" in sitemap and "draft-course" not in sitemap and "private-course" not in sitemap
    results = client.get("/search/?q=course").text
    assert "Public <mark>course</mark>" in results
    assert "Draft course" not in results and "Private course" not in results and "Unpublished new title" not in results
    catalog = client.get("/courses/").text
    assert "Draft course" not in catalog and "Private course" not in catalog


@pytest.mark.django_db
def test_a_page_scheduled_in_the_past_goes_live_with_publish_scheduled(client):
    from mentoring.periodic import periodic_run_once

    index = make_catalog()
    course = make_course(index, "Scheduled course", "scheduled", publish=False)
    course.go_live_at = timezone.now() + timedelta(hours=1)
    course.save_revision().publish()  # with a future go-live date this schedules instead of publishing
    course.refresh_from_db()
    assert not course.live
    assert periodic_run_once()["publish_scheduled"] == 0  # not yet
    with time_machine.travel(course.go_live_at + timedelta(seconds=1)):
        course.refresh_from_db()
        assert not course.live  # the go-live time has passed, but only the periodic job publishes
        assert client.get("/courses/scheduled/").status_code == 404
        results = periodic_run_once()
        assert results["publish_scheduled"] == 1
        assert client.get("/courses/scheduled/").status_code == 200
        call_command("publish_scheduled")  # and running it again changes nothing
    assert client.get("/courses/scheduled/").status_code == 200


XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.mark.django_db
def test_editor_entered_fields_are_sanitised(client):
    index = make_catalog()
    course = make_course(index, title=XSS, slug="xss")
    course.summary = XSS
    course.body = [
        ("paragraph", "<p>ok</p>" + XSS + '<a href="javascript:alert(3)">x</a>'),
        ("quote", {"text": XSS, "attribution": XSS}),
    ]
    course.save_revision().publish()
    chrome = SiteChrome.load()
    chrome.site_name = XSS
    chrome.save()
    for url in [course.url, "/courses/", "/", f"/search/?q={course.slug}", "/search/?q=%3Cscript%3E"]:
        html = client.get(url).text
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        assert "javascript:alert" not in html, url


@pytest.mark.django_db
def test_menu_links_refuse_javascript_urls():
    from django.core.exceptions import ValidationError

    from cms_pages.models import MenuItem

    item = MenuItem(setting=SiteChrome.load(), label="Bad", link_url="javascript:alert(1)")
    with pytest.raises(ValidationError, match="Links start with"):
        item.full_clean()


@pytest.mark.django_db
def test_site_chrome_menus_render_from_wagtail_settings(client):
    index = make_catalog()
    chrome = SiteChrome.load()
    chrome.site_name = "PeerLearn Academy"
    chrome.save()
    chrome.menu_items.create(label="Our courses", link_page=index, sort_order=0)
    chrome.footer_links.create(label="Contact us", link_url="mailto:hello@example.com", sort_order=0)
    chrome.save()  # a ClusterableModel keeps child rows in memory until the parent is saved
    html = client.get("/mentors/").text
    assert re.search(r'<a href="/courses/"\s*>Our courses</a>', html)
    assert '<a href="mailto:hello@example.com">Contact us</a>' in html
    assert "PeerLearn Academy" in html


@pytest.mark.django_db
def test_search_highlights_paginates_and_finds_mentors(client, mentor):
    python = skill("Python")
    mentor.mentor_profile.skills.set([python])
    index = make_catalog()
    for i in range(12):
        make_course(index, f"Python course {i:02d}", f"py-{i}", [python])
    first = client.get("/search/?q=python")
    assert first.context["total"] == 12 and len(first.context["page_obj"]) == 10
    assert "<mark>Python</mark> course" in first.text
    assert "Maya Mentor" in first.text  # mentors by skill
    assert "Maya Mentor" in client.get("/search/?q=maya").text  # and by name
    assert len(client.get("/search/?q=python&page=2").context["page_obj"]) == 2
    empty = client.get("/search/?q=zzzzqqq")
    assert "Nothing matched" in empty.text
    assert "Type a topic" in client.get("/search/").text
    assert client.get("/search/?q=" + "x" * 5000).status_code == 200


@pytest.mark.django_db
def test_robots_and_sitemap(client):
    robots = client.get("/robots.txt")
    assert (
        robots["Content-Type"].startswith("text/plain")
        and "Disallow: /cms/" in robots.text
        and "Sitemap:" in robots.text
    )
    assert client.get("/sitemap.xml").status_code == 200


@pytest.mark.django_db
def test_a_mentor_links_a_session_to_a_course_and_each_page_links_to_the_other(client, mentor):
    index = make_catalog()
    course = make_course(index, title="Django basics", slug="django-basics")
    draft = make_course(index, title="Unpublished course", slug="unpublished", publish=False)
    client.force_login(mentor)
    starts = timezone.localtime(timezone.now() + timedelta(days=3), timezone.get_fixed_timezone(-300))
    form = {
        "title": "Views and URLs, live",
        "description": "",
        "skills": [],
        "duration_minutes": "60",
        "capacity": "2",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
    }

    page = client.get("/sessions/new/").content.decode()
    assert "Django basics" in page and "Unpublished course" not in page  # only live courses are offered
    refused = client.post("/sessions/new/", {**form, "course": draft.pk})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not Session.objects.exists()

    response = client.post("/sessions/new/", {**form, "course": course.pk})
    session = Session.objects.get()
    assert response.status_code == 302 and session.course_id == course.pk
    assert course.url in client.get(f"/sessions/{session.pk}/").content.decode()  # the session links to its course
    assert f"/sessions/{session.pk}/" in client.get(course.url).content.decode()  # the course offers the session

    # A course behind a password is not offered either.
    private = make_course(index, title="Members only", slug="members-only")
    PageViewRestriction.objects.create(page=private, restriction_type="password", password="secret")
    assert "Members only" not in client.get("/sessions/new/").content.decode()

    # Editing keeps the course unless the mentor changes it, even after an editor unpublishes it;
    # the session page then no longer links to it.
    course.unpublish()
    assert course.title not in client.get(f"/sessions/{session.pk}/").content.decode()
    edit = client.get(f"/sessions/{session.pk}/edit/").content.decode()
    assert re.search(rf'<option value="{course.pk}" selected>', edit)
    client.post(f"/sessions/{session.pk}/edit/", {**form, "title": "Renamed", "course": course.pk})
    session.refresh_from_db()
    assert (session.title, session.course_id) == ("Renamed", course.pk)
    client.post(f"/sessions/{session.pk}/edit/", {**form, "course": ""})
    session.refresh_from_db()
    assert session.course_id is None


@pytest.mark.django_db
def test_catalog_cards_have_responsive_images_in_a_bounded_number_of_queries(client):
    index = make_catalog()
    added = 0

    def add_courses(count: int) -> None:
        nonlocal added
        for _ in range(count):
            added += 1
            course = make_course(index, title=f"Course {added:02d}", slug=f"course-{added}")
            course.hero_image = Image.objects.create(title=f"Cover {added}", file=get_test_image_file(size=(1200, 800)))
            course.hero_image_alt = f"Cover of course {added}"
            course.save_revision().publish()

    def queries() -> int:
        client.get("/courses/")  # the first view makes the renditions; count the next one
        with CaptureQueriesContext(connection) as ctx:
            html = client.get("/courses/").text
        assert html.count('sizes="(max-width: 700px) 100vw, 400px"') == added
        assert html.count(" 400w") == html.count(" 640w") == html.count(" 960w") == added
        return len(ctx.captured_queries)

    add_courses(2)
    few = queries()
    add_courses(6)
    assert queries() == few
