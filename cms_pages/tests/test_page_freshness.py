"""No public page is ever served stale: every change that affects a page shows on the next anonymous
visit, whichever process made the change."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from django.utils import timezone
from wagtail.models import Revision

from cms_pages.models import StandardPage
from cms_pages.selectors import home_page_get
from cms_pages.tests.factories import make_catalog, make_course
from conftest import make_user
from mentoring.services.bookings import booking_cancel, booking_create
from mentoring.services.sessions import session_update
from mentoring.tests.factories import make_session, skill
from tests.servers import DaphneProcess, database_url

ROOT = Path(__file__).resolve().parents[2]


def _fetch(url: str) -> tuple[str, str]:
    """The page's text and its X-Page-Cache header (hit or miss)."""
    try:
        with urlopen(url, timeout=20) as response:  # noqa: S310 - the test server
            return response.read().decode(), response.headers["X-Page-Cache"]
    except HTTPError as error:
        raise AssertionError(f"{url}: {error.code} {error.read().decode()[:300]}") from None


def _sessions_block(session) -> str:
    return json.dumps(
        [
            {
                "type": "course_sessions",
                "value": {"heading": "Live now", "pinned": [session.pk], "include_matching": False},
            }
        ]
    )


def _publish(page, **fields):
    for name, value in fields.items():
        setattr(page, name, value)
    page.save_revision().publish()


@pytest.mark.django_db
def test_every_change_shows_on_the_next_anonymous_visit_of_every_page_type(client, mentor):
    python = skill("Python")
    session = make_session(mentor, title="Pairing on pytest", capacity=5, skills=[python])
    learners = {
        name: make_user(f"{name[:4]}@example.com", name) for name in ("home", "standard (live block)", "course")
    }
    home = home_page_get()
    _publish(home, body=_sessions_block(session))
    about = StandardPage(title="About", slug="about", intro="About us")
    home.add_child(instance=about)
    _publish(about, body=_sessions_block(session))
    plain = StandardPage(title="FAQ", slug="faq", intro="Questions")
    home.add_child(instance=plain)
    _publish(plain)
    catalog = make_catalog()
    course = make_course(catalog, "Testing in Python", "testing", skills=[python])
    short_lived = make_course(catalog, "Short-lived", "short-lived")
    urls = {"home": "/", "standard (live block)": "/about/", "standard": "/faq/", "catalog": "/courses/"}
    urls["course"] = "/courses/testing/"
    state = {"bookings": {}, "counter": 0}

    def seats_shown():
        session.refresh_from_db()
        words = f"{session.seats_left} seat{'s' if session.seats_left != 1 else ''} left"
        return lambda text, status: words in text

    def publish(name):
        state["counter"] += 1
        marker = f"Edition {state['counter']}"
        page = {"home": home, "standard (live block)": about, "standard": plain, "course": course}.get(name)
        if page is None:  # the catalog shows its courses: a newly published one
            make_course(catalog, marker, f"edition-{state['counter']}")
        elif name == "home":
            _publish(page, hero_heading=marker)
        elif name == "course":
            _publish(page, summary=marker)
        else:
            _publish(page, intro=marker)
        return lambda text, status: marker in text

    def unpublish(name):
        if name == "catalog":
            short_lived.unpublish()
            return lambda text, status: "Short-lived" not in text
        page = {"standard (live block)": about, "standard": plain, "course": course}[name]
        page.specific.unpublish()
        return lambda text, status: status == 404

    def book(name):
        state["bookings"][name] = booking_create(session_id=session.pk, learner=learners[name])
        return seats_shown()

    def cancel(name):
        booking_cancel(booking_id=state["bookings"][name].pk, learner=learners[name])
        return seats_shown()

    def edit_session(name):
        state["counter"] += 1
        title = f"Pairing, take {state['counter']}"
        session.refresh_from_db()
        session_update(
            session_id=session.pk,
            mentor=mentor,
            title=title,
            description=session.description,
            skills=[python],
            starts_at=session.starts_at,
            duration_minutes=session.duration_minutes,
            capacity=session.capacity,
        )
        return lambda text, status: title in text

    live = ["home", "standard (live block)", "course"]  # the pages that show the session's seats
    changes = {
        "publish": (publish, list(urls)),
        "booking": (book, live),
        "cancellation": (cancel, live),
        "session edit": (edit_session, live),
        "unpublish": (unpublish, ["catalog", "standard", "standard (live block)", "course"]),
    }
    checked, stale = 0, []
    for change, (apply, names) in changes.items():
        for name in names:
            for _ in range(2):  # a cacheable page is in the cache now
                assert client.get(urls[name]).status_code == 200
            shows = apply(name)
            response = client.get(urls[name])
            checked += 1
            if not shows(response.content.decode(), response.status_code):
                stale.append((name, change, response.get("X-Page-Cache")))
    print(f"[cache] pages x changes: {checked}, stale {len(stale)}")
    assert checked == 18 and stale == []
    # Still cached where nothing live is shown: the plain pages are served from the cache.
    client.get("/courses/")
    assert client.get("/courses/")["X-Page-Cache"] == "hit"
    assert "X-Page-Cache" not in client.get("/")  # the home page shows live seats: rendered each time


@pytest.fixture
def caching_daphne(live_db):
    """A Daphne of its own with the page cache on (the suite's shared one runs without)."""
    from django.db import connection

    server = DaphneProcess(
        env={"DATABASE_URL": database_url(connection.settings_dict), "PAGE_CACHE_SECONDS": "300"}
    ).start()
    yield server
    server.stop()


def test_a_scheduled_publish_in_another_process_clears_what_daphne_serves(caching_daphne):
    """`make run`'s run_periodic publishes in its own process; Daphne must not go on serving the old
    pages (it did, from its in-process cache, for up to PAGE_CACHE_SECONDS)."""
    live_server_url = caching_daphne.url

    catalog = make_catalog()
    course = make_course(catalog, "Scheduled course", "scheduled", publish=False)
    course.go_live_at = timezone.now() + timedelta(hours=1)
    course.save_revision().publish()  # scheduled, not live
    faq = StandardPage(title="FAQ", slug="faq", intro="Old answers")
    home_page_get().add_child(instance=faq)
    faq.save_revision().publish()
    faq = StandardPage.objects.get(pk=faq.pk)  # as published (live revision and all)
    faq.intro, faq.go_live_at = "New answers", timezone.now() + timedelta(hours=1)
    faq.save_revision().publish()

    for _ in range(2):
        (listing, listing_cache), (answers, answers_cache) = (
            _fetch(f"{live_server_url}/courses/"),
            _fetch(f"{live_server_url}/faq/"),
        )
    assert (listing_cache, answers_cache) == ("hit", "hit")
    assert "Scheduled course" not in listing and "Old answers" in answers

    # The go-live time comes (moved into the past rather than waited for); another process publishes.
    due = timezone.now() - timedelta(minutes=1)
    for revision in Revision.objects.filter(approved_go_live_at__isnull=False):
        revision.approved_go_live_at, revision.content["go_live_at"] = due, due.isoformat()
        revision.save(update_fields=["approved_go_live_at", "content"])
    env = caching_daphne.env
    done = subprocess.run(
        [sys.executable, "manage.py", "publish_scheduled"], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()

    (listing, listing_cache), (answers, answers_cache) = (
        _fetch(f"{live_server_url}/courses/"),
        _fetch(f"{live_server_url}/faq/"),
    )
    assert "Scheduled course" in listing and "New answers" in answers
    assert (listing_cache, answers_cache) == ("miss", "miss")


@pytest.mark.django_db
def test_a_page_made_private_is_not_served_from_the_cache(client):
    from wagtail.models import PageViewRestriction

    team = home_page_get().add_child(instance=StandardPage(title="Our team", slug="team", intro="Salaries of the team"))
    team.save_revision().publish()
    assert client.get("/team/")["X-Page-Cache"] == "miss"
    assert client.get("/team/")["X-Page-Cache"] == "hit"
    PageViewRestriction.objects.create(page=team, restriction_type=PageViewRestriction.PASSWORD, password="s3cret")
    answer = client.get("/team/")  # the password form now, not the page from the cache
    assert answer.get("X-Page-Cache") != "hit" and "Salaries of the team" not in answer.text


def test_the_page_cache_version_outlives_the_cache_default_timeout(settings, tmp_path, time_machine):
    from django.core.cache import caches

    from cms_pages.page_cache import VERSION_KEY, page_cache_bump, page_cache_version
    from portal.settings.base import page_cache_for

    settings.CACHES = {
        **settings.CACHES,
        "pages": {**page_cache_for(""), "LOCATION": tmp_path},
    }  # the file cache of `make run`
    time_machine.move_to(timezone.now())
    first = page_cache_version()
    page_cache_bump()
    page_cache_bump()  # incr: the file cache sets the value again, with the cache's default timeout
    bumped = page_cache_version()
    assert bumped > first
    time_machine.shift(timedelta(hours=2))
    assert caches["pages"].get(VERSION_KEY) == bumped  # not gone, so never back to an older number
