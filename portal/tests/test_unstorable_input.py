"""Input PostgreSQL cannot store (NUL) is refused at the door with 400, wherever it comes in: the
address, a query parameter (name or value), a cookie, or a form field (name or value; Django itself
drops NUL from an upload's file name). Nothing is stored. Odd but storable text (invalid UTF-8, lone surrogates) never gives a 5xx.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, reverse
from django.urls.converters import StringConverter
from django.utils import timezone
from wagtail.models import Site

from cms_pages.models import CourseIndexPage, CoursePage
from mentoring import urls as mentoring_urls
from mentoring.forms import DirectoryFilterForm, SessionFilterForm
from mentoring.models import Booking
from mentoring.services.availability import availability_update, slots_free
from mentoring.services.bookings import booking_create
from mentoring.services.profiles import calendar_feed_get
from mentoring.services.requests import request_create
from mentoring.services.reschedule import reschedule_propose
from mentoring.services.series import series_create
from mentoring.tests.factories import make_session, past_session, skill
from signaling import urls as signaling_urls

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
NUL = "%00"
# Invalid UTF-8 (an encoded lone surrogate, a stray byte): Django decodes them to U+FFFD, which stores.
ODD = ("%ED%A0%80", "%FF")
OTHER_PAGES = [
    "/",
    "/courses/",
    "/courses/django-basics/",
    "/search/",
    "/profile/",
    "/sitemap.xml",
    "/robots.txt",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/cms/login/",
    "/_util/login/",
    "/documents/1/notes.pdf",
    "/static/css/site.css",
]
STORED_APPS = ("accounts", "mentoring", "cms_pages", "sessions", "wagtailcore", "account", "mfa")


def query_names() -> list[str]:
    """Every query parameter a view of ours reads, found in the source, plus the filter forms' fields."""
    names = {"page"} | set(DirectoryFilterForm.base_fields) | set(SessionFilterForm.base_fields)
    for folder in ("mentoring", "cms_pages", "signaling", "portal"):
        for source in (ROOT / folder).rglob("*.py"):
            if "tests" not in source.parts:
                names |= set(re.findall(r"request\.GET\.get\(\s*[\"'](\w+)", source.read_text()))
    return sorted(names)


@pytest.fixture
def site_data(learner, mentor):
    index = CourseIndexPage(title="Courses", slug="courses", intro="All courses")
    Site.objects.get(is_default_site=True).root_page.add_child(instance=index)
    index.save_revision().publish()
    course = CoursePage(title="Django basics", slug="django-basics", summary="Basics", level="beginner")
    course.skills = [skill("Python")]
    index.add_child(instance=course)
    course.save_revision().publish()
    upcoming = make_session(mentor, capacity=3)
    booking = booking_create(session_id=upcoming.pk, learner=learner)
    finished = past_session(mentor)
    Booking.objects.create(session=finished, learner=learner)
    # The booking loop's rows: hours for 1:1 requests, a request waiting, a 1:1 with a new time proposed, a series.
    availability_update(
        mentor=mentor,
        time_zone="UTC",
        session_lengths=[60],
        buffer_before=0,
        buffer_after=0,
        min_notice=0,
        max_days_ahead=60,
        daily_cap=None,
        weekly_cap=None,
        auto_accept=False,
        weekly_hours={day: [(0, 1440)] for day in range(7)},
    )
    slot = slots_free(mentor=mentor, duration_minutes=60, now=timezone.now() + timedelta(days=5))[0]
    request = request_create(
        mentor_id=mentor.pk, learner=learner, starts_at=slot.starts_at, duration_minutes=60, agenda="Help"
    )
    one_to_one = make_session(mentor, starts_in=timedelta(days=3), capacity=1, title="One to one")
    booking_create(session_id=one_to_one.pk, learner=learner)
    new_time = slots_free(mentor=mentor, duration_minutes=60, now=timezone.now() + timedelta(days=10))[0]
    proposal = reschedule_propose(session_id=one_to_one.pk, user=mentor, starts_at=new_time.starts_at)
    series = series_create(
        mentor=mentor,
        title="Weekly review",
        description="",
        skills=[],
        starts_at=timezone.now() + timedelta(days=20),
        duration_minutes=60,
        capacity=3,
        frequency="weekly",
        occurrences=3,
    )
    return {
        "request_id": request.pk,
        "proposal_id": proposal.pk,
        "series_id": series.pk,
        "one_to_one_id": one_to_one.pk,
        "slot": slot.starts_at.isoformat(),
        "user_id": mentor.pk,
        "session_id": upcoming.pk,
        "room_id": upcoming.room_id,
        "booking_id": booking.pk,
        "entry_id": 1,
        "token": calendar_feed_get(user=learner).token,
        "finished_id": finished.pk,
    }


def our_patterns() -> list[URLPattern]:
    patterns = [*mentoring_urls.urlpatterns, *signaling_urls.urlpatterns]
    assert all(isinstance(pattern, URLPattern) for pattern in patterns)
    return patterns


def our_urls(values: dict) -> list[str]:
    """Every address of the mentoring and signaling apps, with real ids, plus the site's other pages."""
    urls = [reverse(p.name, kwargs={name: values[name] for name in p.pattern.converters}) for p in our_patterns()]
    return urls + OTHER_PAGES


def nul_in_path_parameters(values: dict) -> list[str]:
    """The addresses whose text parameters (``<str:token>``) take a NUL, which then reaches a lookup."""
    urls = []
    for pattern in our_patterns():
        for name, converter in pattern.pattern.converters.items():
            if isinstance(converter, StringConverter):
                kwargs = {key: values[key] for key in pattern.pattern.converters}
                urls.append(reverse(pattern.name, kwargs={**kwargs, name: "NUL"}).replace("NUL", f"a{NUL}b"))
    assert urls  # the calendar feed's token at least
    return urls


def post_forms(values: dict, mentor_id: int) -> list[tuple[str, dict]]:
    """The site's main forms, each with valid-looking data."""
    session_form = {
        "title": "Query tuning",
        "description": "Bring a slow page.",
        "starts_at": "2099-01-01T10:00",
        "duration_minutes": "60",
        "capacity": "2",
    }
    report = {"reason": "other", "text": "Something happened."}
    return [
        (
            "/accounts/signup/",
            {
                "email": "new@example.com",
                "password1": "a-long-password-9",
                "password2": "a-long-password-9",
                "display_name": "New Person",
                "role": "learner",
                "time_zone": "UTC",
            },
        ),
        ("/accounts/login/", {"login": "alice@example.com", "password": "correct-horse-battery-9"}),
        ("/accounts/password/reset/", {"email": "alice@example.com"}),
        ("/profile/", {"display_name": "Alice", "time_zone": "UTC", "role-goals": "Learn", "role-headline": "Hi"}),
        ("/sessions/new/", session_form),
        (f"/sessions/{values['session_id']}/edit/", session_form),
        (f"/sessions/{values['session_id']}/cancel/", {"reason": "Ill"}),
        (f"/sessions/{values['session_id']}/book/", {"confirm": "1"}),
        (f"/sessions/{values['session_id']}/waitlist/", {"confirm": "1"}),
        (f"/sessions/{values['finished_id']}/feedback/", {"rating": "5", "comment": "Great"}),
        (f"/sessions/{values['finished_id']}/report/", report),
        (f"/sessions/{values['room_id']}/room/report/", report),
        (f"/mentors/{mentor_id}/report/", report),
        (f"/bookings/{values['booking_id']}/cancel/", {"confirm": "1"}),
        (
            "/recommendations/not-interested/",
            {"kind": "session", "id": str(values["session_id"]), "next": "/dashboard/"},
        ),
        ("/notifications/read/", {"all": "1"}),
        ("/calendar/", {"regenerate": "1"}),
        ("/search/", {"q": "python"}),
        (f"/mentors/{mentor_id}/request/", {"start": values["slot"], "length": "60", "agenda": "Help with tests"}),
        (f"/requests/{values['request_id']}/accept/", {"confirmed": "yes"}),
        (f"/requests/{values['request_id']}/decline/", {"confirmed": "yes", "message": "Busy"}),
        (f"/requests/{values['request_id']}/withdraw/", {"confirmed": "yes"}),
        (f"/sessions/{values['one_to_one_id']}/reschedule/", {"starts_at": values["slot"], "message": "Later?"}),
        (f"/reschedules/{values['proposal_id']}/accept/", {"confirmed": "yes"}),
        (f"/reschedules/{values['proposal_id']}/decline/", {"confirmed": "yes", "message": "No"}),
        (f"/series/{values['series_id']}/book/", {"session": str(values["session_id"])}),
        (
            "/availability/",
            {
                "action": "rules",
                "time_zone": "UTC",
                "monday": "09:00-12:00",
                "session_lengths": "60",
                "buffer_before": "0",
                "buffer_after": "0",
                "min_notice_hours": "4",
                "max_days_ahead": "30",
            },
        ),
        ("/availability/", {"action": "override_add", "date": "2099-01-01", "hours": "10:00-11:00"}),
    ]


def nul_requests(values: dict, mentor_id: int) -> list[tuple[str, str, dict]]:
    """(method, url, client kwargs) with a NUL somewhere, one place per request."""
    requests = [("get", url, {}) for url in nul_in_path_parameters(values)]
    for url in our_urls(values):
        requests.append(("get", url[:-1] + NUL + url[-1], {}))  # in the address
        requests.extend(("get", f"{url}?{name}=a{NUL}b", {}) for name in query_names())  # in each parameter
        requests.append(("get", f"{url}?x{NUL}y=1", {}))  # in a parameter's name
        requests.append(("get", url, {"HTTP_COOKIE": 'tracker="ab\\000cd"'}))  # a quoted cookie spells NUL \000
        requests.append(("get", url, {"session_cookie": '"abcdefgh\\000ijkl"'}))  # looked up in the database
    for url, data in post_forms(values, mentor_id):
        for encoding in ("multipart", "urlencoded"):
            variants = [{**data, field: data[field] + "\x00"} for field in data] + [{**data, "x\x00": "1"}]
            for variant in variants:
                if encoding == "multipart":
                    requests.append(("post", url, {"data": variant}))
                else:
                    body = "&".join(f"{quote(key)}={quote(value)}" for key, value in variant.items())
                    requests.append(("post", url, {"data": body, "content_type": "application/x-www-form-urlencoded"}))
        requests.append(("post", url, {"data": data, "upload": "fi\x00le"}))  # in a file field's name
    return requests


def snapshot() -> dict[str, str]:
    """A digest of every row of the models people's input ends up in."""
    digests = {}
    for model in apps.get_models():
        if model._meta.app_label in STORED_APPS:
            rows = repr(list(model.objects.order_by("pk").values_list()))
            digests[model._meta.label] = hashlib.sha256(rows.encode()).hexdigest()
    return digests


def personas(learner, mentor) -> dict[str, Client]:
    clients = {"anonymous": Client(raise_request_exception=False)}
    for name, user in (("learner", learner), ("mentor", mentor)):
        clients[name] = Client(raise_request_exception=False)
        clients[name].force_login(user)
    return clients


def test_nul_anywhere_in_a_request_is_a_400_and_stores_nothing(site_data, learner, mentor):
    clients = personas(learner, mentor)
    requests = nul_requests(site_data, mentor.pk)
    before, emails_before = snapshot(), len(mail.outbox)

    answers = []
    for persona, client in clients.items():
        for method, url, kwargs in requests:
            if "HTTP_COOKIE" in kwargs and persona != "anonymous":  # keep the signed-in session cookie
                session_cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
                kwargs = {"HTTP_COOKIE": f"{session_cookie}; {kwargs['HTTP_COOKIE']}"}
            if "session_cookie" in kwargs:  # instead of the persona's own
                kwargs = {"HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={kwargs['session_cookie']}"}
            if "upload" in kwargs:
                upload = SimpleUploadedFile("notes.pdf", b"%PDF-1.4 tiny", content_type="application/pdf")
                kwargs = {"data": {**kwargs["data"], kwargs["upload"]: upload}}
            answers.append((persona, method, url, getattr(client, method)(url, **kwargs).status_code))

    changed = [label for label, digest in snapshot().items() if before.get(label) != digest]
    server_errors = [answer for answer in answers if answer[3] >= 500]
    print(
        f"[nul] {len(requests)} requests x {len(clients)} personas, 5xx {len(server_errors)}, "
        f"stored changes {len(changed) + len(mail.outbox) - emails_before}"
    )
    assert not server_errors
    assert [answer for answer in answers if answer[3] != 400] == []
    assert changed == [] and len(mail.outbox) == emails_before, (changed, [m.subject for m in mail.outbox])


def test_the_session_cookie_with_nul_is_refused_not_looked_up(site_data, learner):
    client = Client(raise_request_exception=False)
    response = client.get("/dashboard/", HTTP_COOKIE=f'{settings.SESSION_COOKIE_NAME}="abcdefgh\\000ijkl"')
    assert response.status_code == 400
    assert b"We couldn't read that request" in response.content


async def test_the_async_path_refuses_nul_in_the_query_and_the_form(async_client):
    assert (await async_client.get("/search/?q=a%00b")).status_code == 400
    assert (
        await async_client.post("/accounts/login/", {"login": "a\x00@example.com", "password": "x"})
    ).status_code == 400
    assert (await async_client.get("/robots.txt?q=python")).status_code == 200


def test_odd_but_storable_text_never_gives_a_server_error(site_data, learner, mentor):
    clients = personas(learner, mentor)
    del clients["mentor"]
    requests = [("get", path.replace(NUL, odd), {}) for path in nul_in_path_parameters(site_data) for odd in ODD]
    for url in our_urls(site_data):
        for odd in ODD:
            requests.append(("get", url[:-1] + odd + url[-1], {}))
            requests.append(("get", url + "?" + "&".join(f"{name}=a{odd}b" for name in query_names()), {}))
    for url, data in post_forms(site_data, mentor.pk):
        if url == "/accounts/password/reset/":
            continue  # a known 500, see the next test
        body = "&".join(f"{quote(key)}={quote(value)}{ODD[0]}" for key, value in data.items())
        requests.append(("post", url, {"data": body, "content_type": "application/x-www-form-urlencoded"}))

    server_errors = [
        (persona, method, url)
        for persona, client in clients.items()
        for method, url, kwargs in requests
        if getattr(client, method)(url, **kwargs).status_code >= 500
    ]
    print(
        f"[nul] invalid UTF-8 / lone surrogates: {len(requests)} requests x {len(clients)} personas, 5xx {len(server_errors)}"
    )
    assert server_errors == []


def test_password_reset_for_an_address_with_invalid_utf8_in_its_domain(site_data):
    client = Client(raise_request_exception=False)
    body = f"email=alice%40example.com{ODD[0]}"
    response = client.post("/accounts/password/reset/", body, content_type="application/x-www-form-urlencoded")
    # A clear form error, and no email attempted to an address mail cannot reach.
    assert response.status_code == 200 and "Enter a valid email address." in response.content.decode()
    assert mail.outbox == []
