"""``mentoring.web``: the one place that turns domain errors into answers. Directly on small views,
then through the site's own pages."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django import forms
from django.contrib.messages import ERROR, get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from mentoring.errors import MentoringError, NotFound, SessionFull
from mentoring.models import Booking, Session
from mentoring.services.bookings import booking_create
from mentoring.tests.factories import make_session
from mentoring.web import domain_errors, form_refusals


def request(*, accept: str | None = None):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    made = RequestFactory().post("/somewhere/", **headers)
    SessionMiddleware(lambda r: HttpResponse()).process_request(made)
    made._messages = FallbackStorage(made)
    return made


def shown(made) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in get_messages(made)]


def raising(error: Exception):
    def view(request, **kwargs):
        raise error

    return view


def test_not_found_is_the_404_page_with_its_message():
    with pytest.raises(Http404, match="No such session."):
        domain_errors(raising(NotFound("No such session.")))(request(), session_id=7)
    with pytest.raises(Http404, match="No such booking."):  # the same with options
        domain_errors(redirect_to="dashboard", json_when_asked=True)(raising(NotFound("No such booking.")))(
            request(accept="application/json")
        )


def test_a_refusal_is_an_error_message_on_the_named_page():
    made = request()
    response = domain_errors(redirect_to="session_detail")(raising(SessionFull()))(made, session_id=7)
    assert (response.status_code, response["Location"]) == (
        302,
        "/sessions/7/",
    )  # reversed with the view's URL arguments
    assert shown(made) == [(ERROR, SessionFull().message)]


def test_the_page_can_be_worked_out_from_the_request():
    made = request()
    view = domain_errors(redirect_to=lambda request, entry_id: f"/place/{entry_id}/")(raising(MentoringError("No.")))
    response = view(made, entry_id=3)
    assert response["Location"] == "/place/3/" and shown(made) == [(ERROR, "No.")]


def test_a_script_that_asks_for_json_gets_json():
    view = domain_errors(redirect_to="dashboard", json_when_asked=True)(raising(MentoringError("Say which one.")))
    made = request(accept="application/json")
    response = view(made)
    assert response.status_code == 400 and json.loads(response.content) == {"error": "Say which one."}
    assert shown(made) == []  # the script shows it; nothing waits for the next page
    page = request()  # the same view, from a form
    assert view(page)["Location"] == "/dashboard/" and shown(page) == [(ERROR, "Say which one.")]


def test_a_refusal_where_no_page_is_named_is_a_bug_not_a_silent_redirect():
    with pytest.raises(MentoringError):
        domain_errors(raising(MentoringError("Nowhere to show this.")))(request())


def test_success_passes_through_untouched():
    made = request()
    response = domain_errors(redirect_to="dashboard")(lambda request: HttpResponse("fine"))(made)
    assert response.content == b"fine" and shown(made) == []


class TitleForm(forms.Form):
    title = forms.CharField(required=False)


def test_form_refusals_put_the_message_on_the_field_or_above_the_form():
    form = TitleForm({"title": "x"})
    assert form.is_valid()
    with form_refusals(form, fields={"title_text": "title"}):
        raise MentoringError("Title is too odd.", code="title_text")
    with form_refusals(form, fields={"title_text": "title"}):
        raise MentoringError("Something else.", code="other")
    assert form.errors == {"title": ["Title is too odd."], "__all__": ["Something else."]}
    with pytest.raises(NotFound), form_refusals(form):  # not a refusal: it goes on to domain_errors
        raise NotFound("No such session.")


# --------------------------------------------------------------------------- through the site
@pytest.mark.django_db
def test_pages_answer_missing_things_with_the_404_page(client, learner):
    client.force_login(learner)
    for url in ("/sessions/999999/", "/mentors/999999/", "/calendar/feed/nope.ics", "/waitlist/999999/leave/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "We couldn't find that page" in response.text, url  # Django's 404 page: the site's 404.html


@pytest.mark.django_db
def test_a_refused_booking_shows_its_message_on_the_session_page(client, learner, other_learner, mentor):
    session = make_session(mentor, capacity=1)
    booking_create(session_id=session.pk, learner=other_learner)
    client.force_login(learner)
    response = client.post(f"/sessions/{session.pk}/book/")
    assert (response.status_code, response["Location"]) == (302, f"/sessions/{session.pk}/")
    assert [m.message for m in get_messages(response.wsgi_request)] == [SessionFull().message]
    assert not Booking.objects.filter(learner=learner).exists()


@pytest.mark.django_db
def test_a_refused_cancellation_goes_back_to_the_session_page(client, learner, mentor):
    session = make_session(mentor, starts_in=timedelta(minutes=5), capacity=2)
    booking = booking_create(session_id=session.pk, learner=learner)
    Session.objects.filter(pk=session.pk).update(starts_at=session.starts_at - timedelta(minutes=10))  # it has started
    client.force_login(learner)
    response = client.post(f"/bookings/{booking.pk}/cancel/", {"confirmed": "yes"})
    assert (response.status_code, response["Location"]) == (302, f"/sessions/{session.pk}/")
    assert [m.message for m in get_messages(response.wsgi_request)] == [
        "This session has already started; it can no longer be cancelled."
    ]
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.ACTIVE


@pytest.mark.django_db
def test_a_refused_dismissal_answers_a_script_in_json(client, learner):
    client.force_login(learner)
    bad = {"kind": "session", "id": "x"}
    script = client.post("/recommendations/not-interested/", bad, HTTP_ACCEPT="application/json")
    assert script.status_code == 400 and script.json() == {"error": "Say which one you are not interested in."}
    page = client.post("/recommendations/not-interested/", {**bad, "next": "/sessions/"})
    assert page["Location"] == "/sessions/"
    assert [m.message for m in get_messages(page.wsgi_request)] == ["Say which one you are not interested in."]
