"""One source for the site's absolute URL (SITE_URL), a sitemap with mentors and sessions, the
favicon, the session chooser and a course page that lists each session once."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file

from cms_pages.models import SiteChrome
from cms_pages.tests.factories import make_catalog, make_course
from conftest import make_user
from mentoring.models import Session
from mentoring.tests.factories import make_session, past_session, skill

SITE = "https://learn.example.org"


@pytest.fixture
def on_site_url(settings):
    settings.SITE_URL = SITE  # the Wagtail Site record still says 127.0.0.1:8000: it must not matter


@pytest.mark.django_db
def test_canonical_og_and_sitemap_urls_all_come_from_site_url(client, on_site_url, mentor):
    chrome = SiteChrome.load()
    chrome.social_image = Image.objects.create(title="Share", file=get_test_image_file())
    chrome.save()
    course = make_course(make_catalog(), "Django basics", "django-basics")
    course.hero_image = Image.objects.create(title="Hero", file=get_test_image_file())
    course.hero_image_alt = "A laptop"
    course.save_revision().publish()
    absolute = {}
    for path in ["/", "/courses/django-basics/", "/mentors/", f"/mentors/{mentor.pk}/"]:
        html = client.get(path, HTTP_HOST="127.0.0.1").text
        for tag in ('rel="canonical" href', 'property="og:url" content', 'property="og:image" content'):
            found = re.search(f'{tag}="([^"]+)"', html)
            assert found, (path, tag)
            absolute[(path, tag)] = found.group(1)
    robots = client.get("/robots.txt").text
    sitemap = client.get("/sitemap.xml").text
    locations = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    urls = [*absolute.values(), *locations, re.search(r"Sitemap: (\S+)", robots).group(1)]
    wrong = [u for u in urls if not u.startswith(f"{SITE}/")]
    print(f"[seo] absolute URLs checked: {len(urls)}, not on SITE_URL {len(wrong)}")
    assert wrong == [] and len(locations) >= 3
    assert absolute[("/courses/django-basics/", 'rel="canonical" href')] == f"{SITE}/courses/django-basics/"
    assert absolute[("/", 'rel="canonical" href')] == f"{SITE}/"


@pytest.mark.django_db
def test_sitemap_lists_approved_mentors_and_public_upcoming_sessions_only(client, mentor):
    newcomer = make_user("new@example.com", "Nina New", "mentor", approved=False)
    open_session = make_session(mentor, title="Open session")
    private = make_session(mentor, title="Private", starts_in=timedelta(days=2))
    cancelled = make_session(mentor, title="Cancelled", starts_in=timedelta(days=3))
    Session.objects.filter(pk=private.pk).update(private=True)
    Session.objects.filter(pk=cancelled.pk).update(status=Session.Status.CANCELLED)
    past = past_session(mentor)
    unlisted = make_session(newcomer, title="Unlisted mentor's")
    sitemap = client.get("/sitemap.xml").text
    assert f"/mentors/{mentor.pk}/</loc>" in sitemap and f"/mentors/{newcomer.pk}/</loc>" not in sitemap
    assert f"/sessions/{open_session.pk}/</loc>" in sitemap
    for hidden in (private, cancelled, past, unlisted):
        assert f"/sessions/{hidden.pk}/</loc>" not in sitemap, hidden.title


@pytest.mark.django_db
def test_favicon_ico_leads_to_the_site_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("/img/favicon.svg")
    icon = client.get(response["Location"])
    assert icon.status_code == 200 and "svg" in icon["Content-Type"]
    assert re.search(r'<link rel="icon" href="[^"]+favicon\.svg"', client.get("/").text)


@pytest.mark.django_db
def test_session_chooser_shows_date_mentor_and_seats_and_searches(client, admin_user, mentor, learner):
    admin_user.time_zone = "Europe/Berlin"
    admin_user.save(update_fields=["time_zone"])
    session = make_session(mentor, title="Python testing with pytest", capacity=3, skills=[skill("Python")])
    make_session(mentor, title="Design critique", starts_in=timedelta(days=2))
    from mentoring.services.bookings import booking_create

    booking_create(session_id=session.pk, learner=learner)
    client.force_login(admin_user)
    page = client.get("/cms/session_chooser/")
    assert page.status_code == 200
    html = json.loads(page.content)["html"] if page["Content-Type"].startswith("application/json") else page.text
    assert "Maya Mentor" in html and "2 of 3 left" in html and "Design critique" in html
    assert "CET" in html  # the start, in the editor's time zone
    found = client.get("/cms/session_chooser/results/", {"q": "pytest"})
    text = json.loads(found.content)["html"] if found["Content-Type"].startswith("application/json") else found.text
    assert "Python testing with pytest" in text and "Design critique" not in text
    by_mentor = client.get("/cms/session_chooser/results/", {"q": "maya python"}).text
    assert "Python testing with pytest" in by_mentor and "Design critique" not in by_mentor
    for hostile in (".*[(", "x" * 5000, "\ud800"):
        assert client.get("/cms/session_chooser/results/", {"q": hostile.encode("utf-8", "replace")}).status_code == 200


@pytest.mark.django_db
def test_the_session_chooser_never_lists_a_private_one_to_one(client, admin_user, mentor):
    make_session(mentor, title="Open group session")
    private = make_session(mentor, title="Private hour with Alice", capacity=1, starts_in=timedelta(days=3))
    private.private = True
    private.save(update_fields=["private"])
    client.force_login(admin_user)
    page = client.get("/cms/session_chooser/")
    html = json.loads(page.content)["html"] if page["Content-Type"].startswith("application/json") else page.text
    assert "Open group session" in html and "Private hour with Alice" not in html


@pytest.mark.django_db
def test_a_course_page_lists_each_session_once(client, mentor):
    python = skill("Python")
    course = make_course(make_catalog(), "Testing", "testing", skills=[python])
    sessions = [
        make_session(mentor, title=f"Pytest lab {i}", skills=[python], starts_in=timedelta(days=i + 1))
        for i in range(3)
    ]

    def book_buttons(html):
        return {s.title: html.count(f'aria-label="Book “{s.title}”"') for s in sessions}

    # No Sessions block: the side box lists them.
    assert set(book_buttons(client.get("/courses/testing/").text).values()) == {1}
    # A block with the matching sessions: each once, in the block; the side box does not repeat them.
    block = {"heading": "Upcoming labs", "pinned": [], "include_matching": True}
    course.body = json.dumps([{"type": "course_sessions", "value": block}])
    course.save_revision().publish()
    html = client.get("/courses/testing/").text
    assert set(book_buttons(html).values()) == {1} and "More live sessions" in html
    # Only one pinned: it shows in the block, the other two beside it.
    block.update(pinned=[sessions[1].pk], include_matching=False)
    course.body = json.dumps([{"type": "course_sessions", "value": block}])
    course.save_revision().publish()
    assert set(book_buttons(client.get("/courses/testing/").text).values()) == {1}
