"""Recurring group sessions through the pages people use: publishing a series from the session form,
its dates on a session's page, "Book all", and editing or cancelling this and all future dates."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from conftest import make_user
from mentoring.demo import demo_mentoring_seed
from mentoring.models import Booking, Notification, Session, SessionSeries
from mentoring.services.bookings import booking_create
from mentoring.services.series import series_create, series_when
from mentoring.tests.factories import make_session
from mentoring.tests.test_views import future_local, session_form
from portal.accounts.demo import demo_users_seed
from portal.models import FormSubmission

pytestmark = pytest.mark.django_db

NEW_YORK = "America/New_York"  # the mentor fixture's zone
TOKEN = "a-series-form-token-0001"


def series_form(**overrides) -> dict:
    return session_form(**{"repeat": "weekly", "occurrences": "6", "until": "", **overrides})


def shown(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def day_text(instant: datetime, zone: str) -> str:
    return f"{instant.astimezone(zoneinfo.ZoneInfo(zone)):%a %-d %b %Y, %H:%M}"


def make_series(mentor, *, occurrences=6, capacity=3, days=3, title="Study group") -> list[Session]:
    series = series_create(
        mentor=mentor,
        title=title,
        description="Every week.",
        starts_at=future_local(mentor.time_zone, days=days),
        duration_minutes=60,
        capacity=capacity,
        frequency="weekly",
        occurrences=occurrences,
    )
    return list(series.occurrences.order_by("starts_at"))


# --------------------------------------------------------------------------- publishing
def test_a_mentor_publishes_a_weekly_series_from_the_session_form(client, mentor):
    client.force_login(mentor)
    response = client.post("/sessions/new/", series_form())

    series = SessionSeries.objects.get()
    dates = list(series.occurrences.order_by("starts_at"))
    assert response.status_code == 302 and response["Location"] == f"/sessions/{dates[0].pk}/"
    assert (series.mentor, series.frequency, len(dates)) == (mentor, "weekly", 6)
    zone = zoneinfo.ZoneInfo(NEW_YORK)
    assert {(s.starts_at.astimezone(zone).hour, s.starts_at.astimezone(zone).minute) for s in dates} == {(18, 30)}
    assert {(s.title, s.capacity, s.duration_minutes) for s in dates} == {("Debugging Django queries", 3, 60)}
    page = client.get(response["Location"])
    assert shown(page) == [
        f"Your weekly series is published: 6 sessions, from {day_text(dates[0].starts_at, NEW_YORK)} "
        f"to {day_text(dates[-1].starts_at, NEW_YORK)}. Learners can book one date or all of them."
    ]


def test_a_fortnightly_series_until_a_date(client, mentor):
    client.force_login(mentor)
    first = future_local(NEW_YORK)
    until = (first + timedelta(weeks=6)).date().isoformat()
    response = client.post("/sessions/new/", series_form(repeat="fortnightly", occurrences="", until=until))
    assert response.status_code == 302
    assert Session.objects.filter(series__frequency="fortnightly").count() == 4  # weeks 0, 2, 4 and 6


def test_the_form_offers_repeat_and_a_single_session_stays_single(client, mentor):
    client.force_login(mentor)
    page = client.get("/sessions/new/").text
    for label in ("Repeat", "Does not repeat", "Every week", "Every two weeks", "Number of dates", "Until"):
        assert label in page
    response = client.post("/sessions/new/", series_form(repeat="", occurrences=""))
    assert response.status_code == 302
    assert Session.objects.get().series is None and not SessionSeries.objects.exists()


FAR = (timezone.now() + timedelta(days=3 * 365)).date().isoformat()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"occurrences": "9" * 30}, "occurrences", "A series has at most 52 dates."),
        ({"occurrences": "9" * 5000}, "occurrences", "Enter a whole number of dates"),
        ({"occurrences": "-1"}, "occurrences", "A series has at least 2 dates."),
        ({"occurrences": "0"}, "occurrences", "A series has at least 2 dates."),
        ({"occurrences": "53"}, "occurrences", "A series has at most 52 dates."),
        ({"occurrences": "six"}, "occurrences", "Enter a whole number of dates"),
        ({"occurrences": "", "until": "2027-02-30"}, "until", "Enter a date, for example"),
        ({"occurrences": "", "until": "99999-12-31"}, "until", "Enter a date, for example"),
        ({"occurrences": "", "until": "0001-01-01"}, "until", "The end date is before the first session"),
        ({"occurrences": "", "until": FAR}, "until", "A series can run up to 2 years ahead"),
        ({"repeat": "daily"}, "repeat", "Select a valid choice."),
        ({"repeat": ""}, "repeat", "Choose how often the session repeats"),
        ({"occurrences": ""}, "occurrences", "Say how many dates, or give an end date."),
        ({"until": "2027-06-01"}, "until", "not both"),
        (
            {
                "repeat": "fortnightly",
                "occurrences": "52",
                "starts_at": future_local(NEW_YORK, days=30).strftime("%Y-%m-%dT%H:%M"),
            },
            "occurrences",
            "would be more than 2 years ahead",
        ),
    ],
)
def test_hostile_or_impossible_series_fields_get_a_message_and_create_nothing(
    client, mentor, overrides, field, message
):
    client.force_login(mentor)
    response = client.post("/sessions/new/", {**series_form(**overrides), "once": TOKEN})
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field]), response.context["form"].errors
    assert not Session.objects.exists() and not SessionSeries.objects.exists()
    assert not FormSubmission.objects.exists()  # a form to correct keeps no claim


@pytest.mark.parametrize("field", ["repeat", "occurrences", "until"])
def test_a_nul_in_a_series_field_is_refused_before_the_form(client, mentor, field):
    client.force_login(mentor)
    response = client.post("/sessions/new/", {**series_form(), field: "6\x00"})
    assert response.status_code == 400 and "such as a NUL character" in response.text
    assert not Session.objects.exists() and not SessionSeries.objects.exists()


def test_a_series_that_meets_another_session_is_refused_whole_naming_the_date(client, mentor):
    client.force_login(mentor)
    third = future_local(NEW_YORK) + timedelta(weeks=2)
    make_session(mentor, starts_at=third + timedelta(minutes=30), title="One-to-one")
    response = client.post("/sessions/new/", series_form())
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1 and series_when(third, NEW_YORK) in errors[0]
    assert "Nothing was created" in errors[0]
    assert Session.objects.count() == 1 and not SessionSeries.objects.exists()


def test_a_series_form_sent_twice_creates_one_series(client, mentor):
    client.force_login(mentor)
    form = {**series_form(title="Pairing hour"), "once": TOKEN}
    first = client.post("/sessions/new/", form)
    second = client.post("/sessions/new/", form, follow=True)  # a double click: the token's replay
    assert SessionSeries.objects.count() == 1 and Session.objects.count() == 6
    assert second.redirect_chain[0][0] == first["Location"]
    assert shown(second)[0].startswith("Your weekly series is published: 6 sessions")

    del form["once"]  # an old tab without a token: the series published moments ago is the answer
    third = client.post("/sessions/new/", form, follow=True)
    assert third.redirect_chain[0][0] == first["Location"]
    assert shown(third)[0].startswith("Your weekly series is published: 6 sessions")
    assert SessionSeries.objects.count() == 1 and Session.objects.count() == 6


# --------------------------------------------------------------------------- the session page
def test_a_dates_page_lists_the_series_and_offers_book_all(client, mentor, learner):
    dates = make_series(mentor)
    booking_create(session_id=dates[2].pk, learner=learner)
    url = f"/sessions/{dates[0].pk}/"

    client.force_login(learner)
    page = client.get(url).text
    assert "Part of a weekly series: 5 more dates" in page
    for other in dates[1:]:
        assert f'href="/sessions/{other.pk}/"' in page
    assert "Book all 5 upcoming" in page  # six dates, one booked already
    assert "Booked" in page

    client.force_login(mentor)
    page = client.get(url).text
    assert "Cancel this and all future dates" in page and "Book all" not in page

    client.logout()
    page = client.get(url).text
    assert "Part of a weekly series: 5 more dates" in page and "Log in to book all dates" in page

    single = make_session(mentor, starts_in=timedelta(days=1), title="One-off")
    assert "series" not in client.get(f"/sessions/{single.pk}/").text.lower()


# --------------------------------------------------------------------------- book all
def test_book_all_books_the_free_dates_and_says_which_were_skipped(client, mentor, learner, other_learner):
    dates = make_series(mentor, capacity=1)
    booking_create(session_id=dates[1].pk, learner=other_learner)
    elsewhere = make_user("ravi@example.com", "Ravi Mentor", "mentor")
    other = make_session(elsewhere, starts_at=dates[3].starts_at + timedelta(minutes=15))
    booking_create(session_id=other.pk, learner=learner)
    client.force_login(learner)

    response = client.post(
        f"/series/{dates[0].series_id}/book/", {"session": str(dates[0].pk), "once": TOKEN}, follow=True
    )

    assert response.redirect_chain[0][0] == f"/sessions/{dates[0].pk}/"
    booked = set(
        Booking.objects.filter(learner=learner, session__series_id=dates[0].series_id).values_list(
            "session_id", flat=True
        )
    )
    assert booked == {dates[i].pk for i in (0, 2, 4, 5)}
    zone = learner.time_zone
    assert shown(response) == [
        "You are booked on 4 of 6 dates of “Study group”. A confirmation for each is on its way.",
        f"Skipped: full: {day_text(dates[1].starts_at, zone)} (you can join a date's waitlist on its page); "
        f"and at the time of another booking of yours: {day_text(dates[3].starts_at, zone)}.",
    ]
    assert (
        Notification.objects.filter(user=learner, kind="booking_confirmed").count() == 2
    )  # the 4 dates at once + the other one

    again = client.post(
        f"/series/{dates[0].series_id}/book/", {"session": str(dates[0].pk), "once": TOKEN}, follow=True
    )
    assert shown(again) == shown(response)  # sent twice: the first answer, nothing booked twice
    assert Booking.objects.filter(learner=learner).count() == 5


def test_book_all_when_nothing_can_be_booked_says_why(client, mentor, learner, other_learner):
    dates = make_series(mentor, occurrences=2, capacity=1)
    for session in dates:
        booking_create(session_id=session.pk, learner=other_learner)
    client.force_login(learner)
    response = client.post(f"/series/{dates[0].series_id}/book/", {"session": "x" * 40}, follow=True)
    assert response.redirect_chain[-1][0] == f"/sessions/{dates[0].pk}/"
    assert shown(response)[0].startswith("No date could be booked: full:")
    assert not Booking.objects.filter(learner=learner).exists()


def test_book_all_refusals_and_doors(client, mentor, learner):
    dates = make_series(mentor, occurrences=2)
    url = f"/series/{dates[0].series_id}/book/"
    assert client.post(url)["Location"].startswith("/accounts/login/")  # signed out
    client.force_login(learner)
    assert client.get(url)["Location"] == f"/sessions/{dates[0].pk}/"  # a GET books nothing
    assert client.post("/series/999999/book/").status_code == 404
    client.force_login(mentor)  # a mentor cannot book their own (or any) dates
    response = client.post(url, follow=True)
    assert shown(response) == ["Only learners can book sessions."]
    assert not Booking.objects.exists()


# --------------------------------------------------------------------------- edit this / all future
def test_editing_offers_this_one_or_all_future_ones(client, mentor, learner):
    dates = make_series(mentor)
    booking_create(session_id=dates[4].pk, learner=learner)
    client.force_login(mentor)
    page = client.get(f"/sessions/{dates[2].pk}/edit/").text
    assert "Apply the changes to" in page and "This and all future sessions of the series (4 dates)" in page

    new_start = (dates[2].starts_at + timedelta(hours=1)).astimezone(zoneinfo.ZoneInfo(NEW_YORK))
    form = session_form(
        title="Study group, new time", starts_at=new_start.strftime("%Y-%m-%dT%H:%M"), capacity="4", scope="future"
    )
    response = client.post(f"/sessions/{dates[2].pk}/edit/", form, follow=True)

    assert response.redirect_chain[0][0] == f"/sessions/{dates[2].pk}/"
    assert shown(response)[0].startswith(f"4 dates of the series updated, from {day_text(new_start, NEW_YORK)} on.")
    after = [Session.objects.get(pk=s.pk) for s in dates]
    zone = zoneinfo.ZoneInfo(NEW_YORK)
    assert [s.starts_at.astimezone(zone).hour for s in after] == [18, 18, 19, 19, 19, 19]
    assert [s.title for s in after][1:3] == ["Study group", "Study group, new time"]
    assert Notification.objects.filter(user=learner, kind="session_changed").count() == 1

    this_only = session_form(title="Just this one", starts_at=new_start.strftime("%Y-%m-%dT%H:%M"), scope="this")
    client.post(f"/sessions/{dates[2].pk}/edit/", {**this_only, "capacity": "4"})
    titles = list(
        Session.objects.filter(series_id=dates[0].series_id).order_by("starts_at").values_list("title", flat=True)
    )
    assert titles[2:4] == ["Just this one", "Study group, new time"]

    refused = client.post(f"/sessions/{dates[2].pk}/edit/", {**this_only, "scope": "everything"})
    assert refused.status_code == 200 and "scope" in refused.context["form"].errors

    single = make_session(mentor, starts_in=timedelta(days=1), title="One-off")
    assert "Apply the changes to" not in client.get(f"/sessions/{single.pk}/edit/").text


# --------------------------------------------------------------------------- cancel this / all future
def test_cancelling_this_and_all_future_dates(client, mentor, learner, other_learner):
    dates = make_series(mentor)
    booking_create(session_id=dates[5].pk, learner=learner)
    url = f"/sessions/{dates[3].pk}/cancel-future/"

    for stranger in (learner, make_user("rosa@example.com", "Rosa Mentor", "mentor")):
        client.force_login(stranger)
        assert client.post(url, {"confirmed": "yes"}).status_code == 404
    assert not Session.objects.filter(status="cancelled").exists()

    client.force_login(mentor)
    ask = client.get(url)
    assert ask.status_code == 200 and "Cancel 3 dates" in ask.text and "Reason for your learners" in ask.text
    response = client.post(url, {"confirmed": "yes", "reason": "Holidays", "once": TOKEN}, follow=True)

    statuses = list(
        Session.objects.filter(series_id=dates[0].series_id).order_by("starts_at").values_list("status", flat=True)
    )
    assert statuses == ["scheduled"] * 3 + ["cancelled"] * 3
    assert shown(response)[0].startswith(f"3 dates cancelled, from {day_text(dates[3].starts_at, NEW_YORK)} on.")
    told = Notification.objects.get(user=learner, kind="session_cancelled")
    assert "Holidays" in told.text
    again = client.post(url, {"confirmed": "yes"}, follow=True)  # another tab, no token
    assert shown(again) == ["These sessions are cancelled already."]

    one = client.post(f"/sessions/{dates[0].pk}/cancel/", {"confirmed": "yes"})  # "this one": only this one
    assert one.status_code == 302
    assert list(Session.objects.filter(series_id=dates[0].series_id, status="scheduled")) == dates[1:3]

    single = make_session(mentor, starts_in=timedelta(days=1), title="One-off")
    assert client.post(f"/sessions/{single.pk}/cancel-future/", {"confirmed": "yes"}).status_code == 404


# --------------------------------------------------------------------------- admin and demo
def test_staff_see_a_series_and_its_dates_in_the_admin(client, mentor, admin_user):
    dates = make_series(mentor, occurrences=3)
    client.force_login(admin_user)
    listing = client.get("/admin/mentoring/sessionseries/")
    assert listing.status_code == 200 and "Every week" in listing.text
    detail = client.get(f"/admin/mentoring/sessionseries/{dates[0].series_id}/change/")
    assert detail.status_code == 200 and all(f"/admin/mentoring/session/{s.pk}/change/" in detail.text for s in dates)


def test_the_demo_has_one_weekly_series_of_six_dates_once():
    demo_users_seed(password="demo-password-1")
    demo_mentoring_seed()
    demo_mentoring_seed(now=timezone.now() + timedelta(hours=3))  # run again: nothing doubled
    series = SessionSeries.objects.get()
    assert series.frequency == "weekly" and series.occurrences.count() == 6
    zone = zoneinfo.ZoneInfo(series.mentor.time_zone)
    assert {s.starts_at.astimezone(zone).hour for s in series.occurrences.all()} == {18}
