"""The mentor's availability page, through HTTP: who may see it, saving rules and date overrides, and
hostile input refused with a message while nothing changes."""

from __future__ import annotations

import html
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from mentoring.models import Availability, DateOverride, WeeklyHours
from portal.dates import safe_localtime

pytestmark = pytest.mark.django_db

URL = "/availability/"
# A NUL anywhere in a form is refused before any view runs (portal.middleware), with the site's 400 page.
NUL_REFUSED = "such as a NUL character"


def rules_form(**overrides) -> dict:
    data = {
        "action": "rules",
        "time_zone": "Europe/Berlin",
        "monday": "09:00-12:00, 13:00-17:30",
        "tuesday": "09:00-12:00",
        "wednesday": "",
        "thursday": "",
        "friday": "14:00-24:00",
        "saturday": "",
        "sunday": "",
        "session_lengths": ["30", "60"],
        "buffer_before": "10",
        "buffer_after": "15",
        "min_notice_hours": "12",
        "max_days_ahead": "30",
        "daily_cap": "4",
        "weekly_cap": "",
        "auto_accept": "on",
    }
    data.update(overrides)
    return data


def state(mentor) -> tuple:
    availability = Availability.objects.filter(mentor=mentor).first()
    if availability is None:
        return (None,)
    return (
        availability.time_zone,
        availability.session_lengths,
        availability.buffer_before,
        availability.buffer_after,
        availability.min_notice,
        availability.max_days_ahead,
        availability.daily_cap,
        availability.weekly_cap,
        availability.auto_accept,
        list(
            WeeklyHours.objects.filter(availability=availability).values_list("weekday", "start_minute", "end_minute")
        ),
        list(DateOverride.objects.filter(availability=availability).values_list("date", "start_minute", "end_minute")),
    )


def expected_preview(hours: dict, *, notice: timedelta, zone: str = "Europe/Berlin", count: int = 8) -> list[str]:
    now = timezone.now()
    earliest = now + notice
    day, found = safe_localtime(earliest, zone).date(), []
    while len(found) < count:
        for start, end in hours.get(day.weekday(), []):
            for minute in range(start, end - 30 + 1, 30):
                local = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)) + timedelta(minutes=minute)
                if local >= earliest:
                    year = "" if local.year == safe_localtime(now, zone).year else f" {local.year}"
                    finish = safe_localtime(local + timedelta(minutes=30), zone)
                    found.append(f"{local:%a} {local.day} {local:%b}{year}, {local:%H:%M}–{finish:%H:%M}")
        day += timedelta(days=1)
    return found[:count]


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_only_mentors_see_the_page(client, mentor, learner, outsider):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    for person in (learner, outsider):
        client.force_login(person)
        assert client.get(URL).status_code == 404
        assert client.post(URL, rules_form()).status_code == 404
    assert not Availability.objects.exists()

    client.force_login(mentor)
    response = client.get(URL)
    page = text(response)
    assert response.status_code == 200
    assert "Your availability for 1:1 requests" in page and "No free slots yet." in page
    # A first visit starts in the mentor's own zone.
    assert '<option value="America/New_York" selected>' in response.content.decode()


def test_mentor_saves_rules_and_sees_the_next_free_slots(client, mentor):
    client.force_login(mentor)
    response = client.post(URL, rules_form())
    assert response.status_code == 302 and response["Location"] == URL
    assert state(mentor) == (
        "Europe/Berlin",
        [30, 60],
        10,
        15,
        12 * 60,
        30,
        4,
        None,
        True,
        [(0, 540, 720), (0, 780, 1050), (1, 540, 720), (4, 840, 1440)],
        [],
    )
    response = client.get(URL)
    page = text(response)
    assert "Your availability is saved." in page
    assert "Mon, Tue, Fri · 30 or 60 min · Europe/Berlin · accepted automatically" in page
    assert "30-minute slots, in Europe/Berlin" in page
    preview = page.split('data-testid="preview">')[1].split("</ul>")[0]
    assert preview.count("<li>") == 8
    # The first 8 half hours of Monday, Tuesday and Friday at least 12 hours from now, in Berlin.
    assert [item.split("</li>")[0] for item in preview.split("<li>")[1:]] == expected_preview(
        {0: [(540, 720), (780, 1050)], 1: [(540, 720)], 4: [(840, 1440)]}, notice=timedelta(hours=12)
    )
    # The form shows what was saved.
    assert 'value="09:00-12:00, 13:00-17:30"' in response.content.decode()
    # The dashboard links here with the summary.
    dashboard = text(client.get("/dashboard/"))
    assert "Your availability for 1:1 requests" in dashboard and f'href="{URL}"' in dashboard
    assert "Mon, Tue, Fri · 30 or 60 min" in dashboard


def test_dashboard_says_when_availability_is_not_set(client, mentor):
    client.force_login(mentor)
    page = text(client.get("/dashboard/"))
    assert "Not set: learners cannot request a 1:1 session with you yet." in page and "Set your hours" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"monday": "25:00-26:00"}, "Monday: “25:00” is not a time of day (00:00 to 24:00)."),
        ({"tuesday": "9-8"}, "Tuesday: “9” is not a time. Write times like 09:00 or 17:30."),
        ({"tuesday": "09:00-08:00"}, "Tuesday: 09:00-08:00 ends before it starts."),
        ({"wednesday": "09:00-12:00, 11:00-13:00"}, "Wednesday: 09:00-12:00 overlaps 11:00-13:00."),
        ({"thursday": "nine to five"}, "Thursday: “nine” is not a time."),
        ({"friday": "24:00-24:00"}, "Friday: “24:00” is not a time of day"),
        ({"monday": "09:00-12:00\x00"}, NUL_REFUSED),
        ({"monday": "09:00-10:00, " * 30}, "Ensure this value has at most 200 characters"),
        ({"buffer_before": "99999999999999999999999"}, "Ensure this value is less than or equal to 120."),
        ({"buffer_after": "-5"}, "Ensure this value is greater than or equal to 0."),
        ({"max_days_ahead": "1e400"}, "Enter a whole number."),
        ({"max_days_ahead": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"min_notice_hours": "337"}, "Ensure this value is less than or equal to 336."),
        ({"daily_cap": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"daily_cap": "5", "weekly_cap": "2"}, "The weekly limit cannot be lower than the daily limit."),
        ({"time_zone": "Mars/Olympus"}, "Choose a time zone from the list, for example Europe/Berlin."),
        ({"time_zone": "Europe/Berlin\x00"}, NUL_REFUSED),
        ({"session_lengths": ["7"]}, "Choose session lengths from the list."),
        ({"session_lengths": ["abc"]}, "Choose session lengths from the list."),
    ],
)
def test_hostile_rules_get_a_message_and_change_nothing(client, mentor, overrides, message):
    client.force_login(mentor)
    assert client.post(URL, rules_form(time_zone="Asia/Tokyo")).status_code == 302
    before = state(mentor)
    response = client.post(URL, rules_form(**overrides))
    assert response.status_code == (400 if message == NUL_REFUSED else 200)
    assert message in text(response)
    assert state(mentor) == before


def test_date_overrides_add_replace_and_remove(client, mentor):
    client.force_login(mentor)
    client.post(URL, rules_form(time_zone="America/New_York"))
    today = safe_localtime(timezone.now(), "America/New_York").date()
    off, extra = today + timedelta(days=3), today + timedelta(days=5)
    response = client.post(URL, {"action": "override_add", "date": off.isoformat(), "hours": ""})
    assert response.status_code == 302
    assert "you are off" in text(client.get(URL))
    client.post(URL, {"action": "override_add", "date": extra.isoformat(), "hours": "10:00-12:00, 18:00-20:00"})
    assert list(DateOverride.objects.values_list("date", "start_minute", "end_minute")) == [
        (off, None, None),
        (extra, 600, 720),
        (extra, 1080, 1200),
    ]
    page = text(client.get(URL))
    assert "Day off" in page and "10:00-12:00, 18:00-20:00" in page
    # Setting a date again replaces it.
    client.post(URL, {"action": "override_add", "date": extra.isoformat(), "hours": "08:00-09:00"})
    assert list(DateOverride.objects.filter(date=extra).values_list("start_minute", "end_minute")) == [(480, 540)]
    response = client.post(URL, {"action": "override_remove", "date": off.isoformat()})
    assert response.status_code == 302 and not DateOverride.objects.filter(date=off).exists()
    assert "that date has its weekday's hours again" in text(client.get(URL))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date": "9999-12-31", "hours": ""}, "Choose a date from today up to a year ahead."),
        ({"date": "2001-01-01", "hours": ""}, "Choose a date from today up to a year ahead."),
        ({"date": "99999-01-01", "hours": ""}, "Enter a date like 2027-01-31."),
        ({"date": "2027-02-30", "hours": ""}, "Enter a date like 2027-01-31."),
        ({"date": "\x00", "hours": ""}, NUL_REFUSED),
        ({"date": "TODAY", "hours": "25:00-26:00"}, "is not a time of day"),
        ({"date": "TODAY", "hours": "10:00-09:00"}, "ends before it starts."),
    ],
)
def test_hostile_overrides_get_a_message_and_change_nothing(client, mentor, data, message):
    client.force_login(mentor)
    client.post(URL, rules_form())
    before = state(mentor)
    if data["date"] == "TODAY":
        data = {**data, "date": (timezone.now() + timedelta(days=2)).date().isoformat()}
    response = client.post(URL, {"action": "override_add", **data})
    assert response.status_code == (400 if message == NUL_REFUSED else 200) and message in text(response)
    assert state(mentor) == before


def test_odd_posts_change_nothing(client, mentor):
    client.force_login(mentor)
    client.post(URL, rules_form())
    before = state(mentor)
    response = client.post(URL, {"action": "override_remove", "date": "not a date"}, follow=True)
    assert "That date could not be read: nothing was removed." in text(response)
    response = client.post(URL, {"action": "drop tables"}, follow=True)
    assert "Nothing was changed" in text(response)
    assert client.get(URL + "?action=rules&monday=25:00").status_code == 200
    assert state(mentor) == before
