"""One intent, one effect, one true message (portal/once.py), and stale pages (portal/views.csrf_failure):
a form sent twice is done once and both answers tell the outcome; a corrected or changed form is a new
attempt; a form from a stale tab gets its page afresh instead of a 403 or a 405."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from mentoring.models import Booking, Report, Session
from mentoring.services.bookings import booking_create
from mentoring.tests.factories import make_session
from mentoring.tests.test_views import session_form
from portal.models import FormSubmission
from portal.once import form_submissions_forget

pytestmark = pytest.mark.django_db

TOKEN = "a-one-time-token-0001"


def shown(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_a_new_session_sent_twice_is_published_once_and_both_answers_say_so(client, mentor):
    client.force_login(mentor)
    form = {**session_form(title="Pairing hour"), "once": TOKEN}
    first = client.post("/sessions/new/", form)
    second = client.post("/sessions/new/", form, follow=True)
    assert Session.objects.filter(title="Pairing hour").count() == 1
    assert first.status_code == 302 and second.redirect_chain[0][0] == first["Location"]
    assert shown(second) == ["Your session is published. Learners can book it now."]


def test_the_same_token_with_other_data_or_after_a_refusal_is_a_new_attempt(client, mentor):
    client.force_login(mentor)
    refused = client.post("/sessions/new/", {**session_form(title=""), "once": TOKEN})
    assert refused.status_code == 200 and not FormSubmission.objects.exists()  # a form to correct keeps no claim
    client.post("/sessions/new/", {**session_form(title="Corrected"), "once": TOKEN})
    later = (timezone.now() + timedelta(days=9)).strftime("%Y-%m-%dT10:00")
    client.post(
        "/sessions/new/", {**session_form(title="Changed", starts_at=later), "once": TOKEN}
    )  # Back, edited, sent
    assert sorted(Session.objects.values_list("title", flat=True)) == ["Changed", "Corrected"]


def test_a_report_sent_twice_is_filed_once_and_counts_once(client, learner, mentor):
    session = make_session(mentor)
    booking_create(session_id=session.pk, learner=learner)
    client.force_login(learner)
    form = {"reason": "other", "text": "The mentor did not come.", "once": TOKEN}
    answers = [client.post(f"/sessions/{session.pk}/report/", form, follow=True) for _ in range(3)]
    del form["once"]  # and from a page without a token (an old tab): the same report within minutes is the same
    answers.append(client.post(f"/sessions/{session.pk}/report/", form, follow=True))
    assert Report.objects.count() == 1
    assert all(shown(a) == ["Thank you. Our moderators will look at your report."] for a in answers)


def test_the_calls_report_sent_twice_answers_the_same_json(client, learner, mentor):
    session = make_session(mentor, starts_in=timedelta(minutes=2))
    booking_create(session_id=session.pk, learner=learner)
    client.force_login(learner)
    url = f"/sessions/{session.room_id}/room/report/"
    form = {"reason": "technical", "text": "No sound", "reported_user": "", "once": TOKEN}
    first, second = (client.post(url, form, HTTP_ACCEPT="application/json") for _ in range(2))
    assert (first.status_code, second.status_code) == (201, 201)
    assert (
        json.loads(first.content) == json.loads(second.content) and "Thank you" in json.loads(second.content)["message"]
    )
    assert Report.objects.count() == 1


def test_a_password_reset_sent_twice_sends_one_email(learner):
    browser = Client()
    form = {"email": learner.email, "once": TOKEN}
    first, second = (browser.post("/accounts/password/reset/", form) for _ in range(2))
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert len(mail.outbox) == 1


def test_a_token_that_is_not_one_is_no_token(client, mentor):
    client.force_login(mentor)
    for day, junk in enumerate(("x" * 5000, "short", "é" * 20, "<script>"), start=3):
        starts = (timezone.now() + timedelta(days=day)).strftime("%Y-%m-%dT10:00")
        response = client.post("/sessions/new/", {**session_form(title=f"Junk {day}", starts_at=starts), "once": junk})
        assert response.status_code == 302
    assert not FormSubmission.objects.exists()


def test_log_out_pressed_twice_says_signed_out_both_times(client, learner):
    client.force_login(learner)
    first, second = (client.post("/accounts/logout/", follow=True) for _ in range(2))
    assert shown(first) == shown(second) == ["You have signed out."]


def test_repeats_are_forgotten_after_a_day(client, mentor):
    client.force_login(mentor)
    client.post("/sessions/new/", {**session_form(), "once": TOKEN})
    assert form_submissions_forget(timezone.now()) == 0
    assert form_submissions_forget(timezone.now() + timedelta(days=1, minutes=1)) == 1


# --------------------------------------------------------------------------- stale tabs
STALE = {"csrfmiddlewaretoken": "x" * 32}  # a token from before the session changed


def stale_client(user=None) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.get("/accounts/login/")  # a CSRF cookie, as any page gives
    if user is not None:
        browser.force_login(user)
    return browser


def test_a_login_form_from_a_stale_tab_shows_the_person_signed_in(learner):
    browser = stale_client(learner)
    response = browser.post(
        "/accounts/login/", {**STALE, "login": learner.email, "password": "whatever", "next": "/sessions/"}, follow=True
    )
    assert response.redirect_chain[0] == ("/sessions/", 302)
    assert shown(response) == [f"You are signed in as {learner.display_name}."]


def test_a_stale_cancel_asks_again_and_changes_nothing(learner, mentor):
    session = make_session(mentor, title="Kept seat")
    booking = booking_create(session_id=session.pk, learner=learner)
    browser = stale_client(learner)
    response = browser.post(f"/bookings/{booking.pk}/cancel/", {**STALE, "confirmed": "yes"}, follow=True)
    assert response.status_code == 200 and "Give up your seat on “Kept seat”?" in response.text
    assert any("out of date" in m for m in shown(response))
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.ACTIVE
    script = browser.post(f"/sessions/{session.room_id}/room/report/", STALE, HTTP_ACCEPT="application/json")
    assert script.status_code == 403 and "out of date" in script.json()["error"]


def test_post_only_actions_reached_by_get_show_their_page_not_405(client, learner, mentor):
    session = make_session(mentor)
    booking = booking_create(session_id=session.pk, learner=learner)
    client.force_login(learner)
    for path in (f"/sessions/{session.pk}/book/", f"/sessions/{session.pk}/waitlist/"):
        assert client.get(path)["Location"] == f"/sessions/{session.pk}/"
    assert client.get("/notifications/read/")["Location"] == "/notifications/"
    assert client.get("/recommendations/not-interested/")["Location"] == "/dashboard/"
    confirm = client.get(f"/bookings/{booking.pk}/cancel/")
    assert confirm.status_code == 200 and re.search(r'name="confirmed" value="yes"', confirm.text)
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.ACTIVE


def _signup_browser(csrf: str) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["csrftoken"] = csrf
    return browser


def test_a_sign_up_sent_twice_signs_in_its_second_answer_once_and_only_with_the_password():
    csrf = "c" * 32
    form = {
        "csrfmiddlewaretoken": csrf,
        "display_name": "Grace Hopper",
        "email": "grace@example.com",
        "password1": "correct-horse-battery-7",
        "password2": "correct-horse-battery-7",
        "role": "learner",
        "time_zone": "UTC",
        "once": TOKEN,
    }
    first, second, third = (_signup_browser(csrf) for _ in range(3))  # the browser dropped each earlier answer
    assert first.post("/accounts/signup/", form).status_code == 302
    replay = second.post("/accounts/signup/", form)
    assert replay["Location"] == "/dashboard/" and second.get("/dashboard/").status_code == 200
    # A third copy of the request (a log, a shared capture) signs in nobody, and says so.
    third_answer = third.post("/accounts/signup/", form, follow=True)
    assert third_answer.redirect_chain[0][0].startswith("/accounts/login/")
    assert shown(third_answer) == ["This form was sent already. Sign in to continue."]
    assert third.get("/dashboard/").status_code == 302
    from portal.accounts.models import User

    assert User.objects.filter(email="grace@example.com").count() == 1


def test_a_sign_up_second_click_with_the_fresh_cookie_shows_the_person_signed_in(learner):
    browser = stale_client(learner)
    response = browser.post("/accounts/signup/", {**STALE, "email": learner.email}, follow=True)
    assert response.redirect_chain[0][0] == "/dashboard/" and shown(response) == [
        f"You are signed in as {learner.display_name}."
    ]


def test_a_different_session_at_the_same_time_is_refused_not_called_published(client, mentor):
    client.force_login(mentor)
    client.post("/sessions/new/", session_form(title="Same slot"))
    other = client.post("/sessions/new/", session_form(title="Same slot", description="Another plan"))
    assert other.status_code == 200 and "You already have a session at that time." in other.text
    assert Session.objects.filter(title="Same slot").count() == 1
