"""Hostile input through the site's forms, query parameters, path parameters and API, as each persona.

Every value in the corpus is one that no field may store: NUL, control characters, bytes that are
not UTF-8 (a lone surrogate's encoding), a value far over any length limit, and, for typed fields,
extreme or malformed numbers and dates. Each form is read from its page as a browser reads it (its
inputs and their current values), then submitted with one field replaced at a time. The answer must
never be a 5xx, and nothing stored may change. (The call protocol's fields have their own corpus in
signaling/tests/; stored extreme values that other people see, in mentoring/tests/test_extreme_dates.py.)
"""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone

from mentoring.models import (
    Availability,
    Booking,
    DateOverride,
    Feedback,
    MentorProfile,
    Notification,
    Report,
    RescheduleProposal,
    Session,
    SessionRequest,
    WeeklyHours,
)
from mentoring.services.availability import availability_update, slots_free
from mentoring.tests.factories import make_booking, make_session
from portal.accounts.models import User

TEXT = ["\x00", "a\x00b", "x\x1b[2J", "bell\x07", "del\x7f", "A" * 100_001]
RAW_BYTES = ["%ED%A0%80", "%FF%FE", "%C0%AF"]  # a lone surrogate's UTF-8 encoding, and bytes that are not UTF-8
NUMBERS = ["-1", "99999999999999999999", "1e309", "NaN", "abc", "0x10", "[]"]
DATES = ["9999-12-31T23:59", "0001-01-01T00:00", "2001-01-01T10:00", "10000-01-01T00:00", "abc"]
GET_PARAMS = {
    "/mentors/": ["q", "skill", "language", "page"],
    "/sessions/": ["q", "skill", "page"],
    "/courses/": ["skill", "level", "page"],
    "/search/": ["q", "page"],
    "/api/recommendations/": ["kind", "limit"],
    "/notifications/": ["page"],
    "/dashboard/": ["page"],
    "/call-check/": ["next"],
    "/accounts/login/": ["next"],
}


class FormReader(HTMLParser):
    """The POST forms of a page: action and the values a browser would send as the page stands."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.forms.append({"action": a.get("action") or "", "fields": {}, "checkboxes": set()})
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") == "checkbox" and a.get("value", "on") == "on":
                self.forms[-1]["checkboxes"].add(name)  # a yes/no box, not one of several choices
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                fields.setdefault(name, fields.get(name, ""))
                if a.get("type") == "radio" and not fields[name]:
                    fields[name] = a.get("value", "on")  # pick the first choice, as a person would
                return
            fields[name] = a.get("value", "")
        elif tag == "select" and name:
            self.select = name
            fields.setdefault(name, "")
        elif tag == "option" and self.select:
            if "selected" in a or not fields[self.select]:
                fields[self.select] = a.get("value", "")
        elif tag == "textarea" and name:
            self.textarea = name
            fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea and self.forms:
            self.forms[-1]["fields"][self.textarea] += data


def forms_on(client: Client, path: str) -> list[dict]:
    reader = FormReader()
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    reader.feed(response.content.decode())
    return [f for f in reader.forms if "csrfmiddlewaretoken" in f["fields"]]


def values_for(name: str, current: str) -> list[str]:
    numeric = current.lstrip("-").isdigit() or name in {
        "rating",
        "reported_user",
        "capacity",
        "duration_minutes",
        "years_experience",
        "course",
    }
    dated = "T" in current and current[:4].isdigit() or name in {"starts_at"}
    return TEXT + (NUMBERS if numeric else []) + (DATES if dated else [])


def stored() -> tuple:
    """What people stored: a change anywhere shows here."""
    return (
        list(
            Session.objects.order_by("pk").values_list(
                "title", "description", "starts_at", "ends_at", "capacity", "status"
            )
        ),
        list(User.objects.order_by("pk").values_list("email", "display_name", "time_zone", "is_active")),
        list(
            MentorProfile.objects.order_by("pk").values_list(
                "headline", "bio", "years_experience", "accepting_bookings"
            )
        ),
        Booking.objects.count(),
        Report.objects.count(),
        Feedback.objects.count(),
        Notification.objects.count(),
        list(Availability.objects.order_by("pk").values_list()),
        list(WeeklyHours.objects.order_by("pk").values_list()),
        DateOverride.objects.count(),
        SessionRequest.objects.count(),
        RescheduleProposal.objects.count(),
    )


PERSONAS = ("anonymous", "learner", "mentor", "admin")


# One test per persona: each is a minute of requests on its own, and the parts can run side by side.
@pytest.mark.django_db
@pytest.mark.parametrize("who", PERSONAS)
def test_hostile_values_in_every_form_query_and_path_change_nothing_and_never_fail(who, mentor, learner, admin_user):
    session = make_session(mentor, title="Hostile", starts_in=timedelta(days=2), capacity=3)
    past = make_session(mentor, title="Done", starts_in=timedelta(days=3), capacity=3)
    make_booking(session, learner)
    make_booking(past, learner)
    Session.objects.filter(pk=past.pk).update(
        starts_at=past.starts_at - timedelta(days=5), ends_at=past.ends_at - timedelta(days=5), status="completed"
    )
    # The booking loop: the mentor's hours, a 1:1 the learner booked (to propose a new time), a free slot.
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
    one_to_one = make_session(mentor, title="One to one", starts_in=timedelta(days=4), capacity=1)
    make_booking(one_to_one, learner)
    # Three hours ahead: a request (no auto-accept) must leave the mentor time to answer.
    slot = slots_free(mentor=mentor, duration_minutes=60, now=timezone.now() + timedelta(hours=3))[0]
    slot = slot.starts_at.isoformat()
    personas = {"anonymous": Client(), "learner": Client(), "mentor": Client(), "admin": Client()}
    personas["learner"].force_login(learner)
    personas["mentor"].force_login(mentor)
    personas["admin"].force_login(admin_user)
    form_pages = {
        "anonymous": ["/accounts/signup/", "/accounts/login/", "/accounts/password/reset/"],
        "learner": [
            "/profile/",
            f"/sessions/{past.pk}/feedback/",
            f"/sessions/{session.pk}/report/",
            f"/mentors/{mentor.pk}/report/",
            f"/mentors/{mentor.pk}/request/?start={quote(slot)}&length=60",
            f"/sessions/{one_to_one.pk}/reschedule/",
        ],
        "mentor": ["/profile/", "/sessions/new/", f"/sessions/{session.pk}/edit/", "/availability/"],
    }
    paths = [
        "/mentors/99999999999999999999/",
        "/sessions/99999999999999999999/",
        "/sessions/99999999999999999999/calendar.ics",
        "/calendar/feed/%00.ics",
        f"/calendar/feed/{'A' * 5000}.ics",
        "/calendar/feed/%ED%A0%80.ics",
        "/sessions/00000000-0000-0000-0000-000000000000/room/",
        "/requests/99999999999999999999/accept/",
        "/reschedules/99999999999999999999/accept/",
        "/series/99999999999999999999/book/",
        f"/mentors/{mentor.pk}/request/?start=%00&length=99999999999999999999",
        f"/mentors/{mentor.pk}/request/?start=9999-12-31T23:59:59%2B14:00&length=60",
        "/%00/",
        "/courses/%00/",
        "/search/%ED%A0%80/",
    ]
    # Actions whose only inputs are these fields (a valid value would rightly act, so only invalid ones).
    actions = {
        "/bookings/99999999999999999999/cancel/": {"reason": TEXT},
        f"/sessions/{session.pk}/cancel/": {"reason": TEXT},
        "/recommendations/not-interested/": {"kind": TEXT + NUMBERS, "id": TEXT + NUMBERS},
    }

    before = stored()
    tried, failures = 0, []

    changes = []

    def check(persona, method, url, response):
        nonlocal tried, before
        tried += 1
        if response.status_code >= 500:
            failures.append(f"{persona} {method} {url[:120]!r} -> {response.status_code}")
        if method == "POST" and (now := stored()) != before:
            changes.append(f"{persona} POST {url[:120]!r} -> {response.status_code}")
            before = now

    for persona, client in [(who, personas[who])]:
        for path, params in GET_PARAMS.items():
            for param in params:
                for value in [quote(v) for v in TEXT] + RAW_BYTES + NUMBERS + DATES:
                    url = f"{path}?{param}={value}"
                    check(persona, "GET", url, client.get(url))
        for url in paths:
            check(persona, "GET", url, client.get(url))
        for url, fields in actions.items():
            for field, values in fields.items():
                for value in values:
                    check(persona, "POST", f"{url} {field}", client.post(url, {field: value}))
        for page in form_pages.get(persona, []):
            for form in forms_on(client, page):
                action = form["action"] or page
                for name, current in form["fields"].items():
                    # A form's one-time token that is not one is no token: the form still does its work
                    # (portal/tests/test_once.py), so a hostile value there is not a refusal to expect.
                    if name in ("csrfmiddlewaretoken", "once"):
                        continue
                    # A yes/no checkbox sent with any value is ticked (as a browser's "on" is): ticking
                    # it is a valid choice, not a hostile value getting through.
                    if name in form["checkboxes"]:
                        continue
                    for value in values_for(name, current):
                        check(persona, "POST", f"{action} {name}", client.post(action, {**form["fields"], name: value}))
    # Admin lists take search and filter parameters too.
    for model in (
        () if who != "admin" else ("mentoring/session", "mentoring/booking", "accounts/user", "mentoring/report")
    ):
        for param in ("q", "o", "p", "status__exact", "starts_at__gte"):
            for value in [quote(v) for v in TEXT[:4]] + NUMBERS[:4] + DATES[:2]:
                url = f"/admin/{model}/?{param}={value}"
                check("admin", "GET", url, personas["admin"].get(url))

    changed = len(changes) + (stored() != before)
    print(
        f"\n[inputs] {tried} requests (corpus {len(TEXT) + len(RAW_BYTES)} text values, {len(NUMBERS)} numbers, "
        f"{len(DATES)} dates) as {who} over forms, query and path parameters, API and admin lists: "
        f"5xx {len(failures)}, stored changes {changed}"
    )
    assert failures == []
    assert changes == [], changes
    assert not changed
