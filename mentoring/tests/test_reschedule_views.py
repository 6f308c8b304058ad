"""Rescheduling through the pages: the slot list, proposing, answering, and every hostile input
refused with a message and nothing changed."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from mentoring.models import Notification, RescheduleProposal, Session
from mentoring.services.reschedule import reschedule_propose
from mentoring.tests.factories import make_booking, make_session
from mentoring.tests.services.test_reschedule import at, open_hours

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_to_one(mentor, learner):
    open_hours(mentor)
    session = make_session(mentor, starts_at=at(3, 10), duration=60, capacity=1)
    make_booking(session, learner)
    session.refresh_from_db()
    return session


def url(session) -> str:
    return f"/sessions/{session.pk}/reschedule/"


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --------------------------------------------------------------------------- the slot list
def test_the_learner_sees_free_times_by_day_in_their_zone(client, one_to_one, learner):
    client.force_login(learner)
    response = client.get(url(one_to_one))
    assert response.status_code == 200
    html = response.text
    assert "Propose a new time" in html and "Asia/Kolkata" in html
    # 10:00 UTC is 15:30 in Kolkata; the mentor's hours 08:00-20:00 UTC are 13:30-01:30 there.
    assert f'value="{at(4, 10).isoformat()}"' in html
    assert re.search(r">15:30<", html)
    # The session's current time is not offered.
    assert f'value="{at(3, 10).isoformat()}"' not in html
    days = response.context["days"]
    assert len(days) >= 20 and all(day.slots for day in days)
    assert all(timezone.localtime(s, timezone.get_fixed_timezone(330)).date() == d.day for d in days for s in d.slots)


def test_the_learners_other_sessions_are_left_out_for_them(client, one_to_one, learner):
    from conftest import make_user

    elsewhere = make_session(make_user("olga@example.com", "Olga", "mentor"), starts_at=at(4, 15), capacity=2)
    make_booking(elsewhere, learner)
    client.force_login(learner)
    html = client.get(url(one_to_one)).text
    assert f'value="{at(4, 15).isoformat()}"' not in html
    assert f'value="{at(4, 14, 30).isoformat()}"' not in html  # would overlap it too
    assert f'value="{at(4, 16).isoformat()}"' in html


def test_the_mentor_sees_the_page_too(client, one_to_one, mentor):
    client.force_login(mentor)
    response = client.get(url(one_to_one))
    assert response.status_code == 200 and "with Alice Learner" in response.text


def test_no_free_times_says_so_and_offers_edit_to_the_mentor(client, mentor, learner):
    open_hours(mentor, lengths=(30,), start_hour=10, end_hour=11)
    session = make_session(mentor, starts_at=at(3, 10), duration=90)  # longer than any day's hours
    make_booking(session, learner)
    client.force_login(mentor)
    response = client.get(url(session))
    assert response.status_code == 200
    assert "No free times in the next" in response.text and "Change the time with Edit instead" in response.text


# --------------------------------------------------------------------------- proposing
def test_proposing_a_listed_time(client, one_to_one, learner, mentor):
    client.force_login(learner)
    response = client.post(url(one_to_one), {"starts_at": at(4, 10).isoformat(), "message": "Work trip."}, follow=True)
    assert response.redirect_chain[-1][0] == f"/sessions/{one_to_one.pk}/"
    proposal = RescheduleProposal.objects.get()
    assert (proposal.starts_at, proposal.message, proposal.proposed_by) == (at(4, 10), "Work trip.", learner)
    assert any("You proposed" in m for m in messages_of(response))
    assert "You proposed a new time" in response.text and "Withdraw it" in response.text
    assert Notification.objects.filter(user=mentor, kind="reschedule_proposed").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"starts_at": "tomorrow at noon"}, "Choose one of the free times listed."),
        ({"starts_at": ""}, "Choose one of the free times listed."),
        ({"starts_at": "2030-01-01T10:00"}, "Choose one of the free times listed."),  # no zone
        ({"starts_at": "9999-12-31T23:59:59-12:00"}, "Choose one of the free times listed."),
        ({"starts_at": "0001-01-01T00:00:00+14:00"}, "Choose one of the free times listed."),
        ({"starts_at": "2030-01-01T10:00\x07+00:00"}, "Choose one of the free times listed."),
        ({"starts_at": "x" * 5000}, "Ensure this value has at most 64 characters"),
        ({"starts_at": "NOW", "message": "ok"}, "Choose one of the free times listed."),
        ({"starts_at": "２０３０-01-01T10:00+00:00"}, "Choose one of the free times listed."),  # full-width digits
        ({"starts_at": ["2030-01-01T10:00+00:00", "x"]}, "Choose one of the free times listed."),
    ],
)
def test_hostile_times_are_refused(client, one_to_one, learner, data, message):
    client.force_login(learner)
    response = client.post(url(one_to_one), data)
    assert response.status_code == 200
    assert message in response.text
    assert not RescheduleProposal.objects.exists()


def test_a_time_that_is_not_a_free_slot_is_refused_at_the_field(client, one_to_one, mentor, learner):
    make_session(mentor, starts_at=at(4, 15), title="Group hour", capacity=3)
    client.force_login(learner)
    for starts_at, message in (
        (at(4, 3), "outside the mentor&#x27;s hours"),
        (at(4, 15), "no longer free"),
        (at(200, 10), "days ahead"),
        (at(3, 10), "current time"),
    ):
        response = client.post(url(one_to_one), {"starts_at": starts_at.isoformat()})
        assert response.status_code == 200
        assert message in response.text, starts_at
    assert not RescheduleProposal.objects.exists()


def test_nul_anywhere_is_refused_before_the_view(client, one_to_one, learner):
    # The site refuses NUL in any form field with its 400 page (PostgreSQL cannot store it).
    client.force_login(learner)
    for data in (
        {"starts_at": at(4, 10).isoformat(), "message": "hi\x00there"},
        {"starts_at": at(4, 10).isoformat() + "\x00"},
    ):
        response = client.post(url(one_to_one), data)
        assert response.status_code == 400 and "We couldn" in response.text
    assert not RescheduleProposal.objects.exists()


def test_control_characters_in_the_message_are_refused_at_the_field(client, one_to_one, learner):
    client.force_login(learner)
    response = client.post(url(one_to_one), {"starts_at": at(4, 10).isoformat(), "message": "bell\x07 \x1b[31m"})
    assert response.status_code == 200
    assert "not invisible control characters" in response.text
    assert not RescheduleProposal.objects.exists()


def test_a_second_proposal_goes_back_to_the_session_page(client, one_to_one, learner, mentor):
    reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    client.force_login(mentor)
    response = client.get(url(one_to_one), follow=True)
    assert response.redirect_chain[-1][0] == f"/sessions/{one_to_one.pk}/"
    assert any("already proposed" in m for m in messages_of(response))


def test_a_group_session_is_not_proposed(client, mentor, learner):
    open_hours(mentor)
    group = make_session(mentor, starts_at=at(3, 10), capacity=3)
    make_booking(group, learner)
    client.force_login(learner)
    response = client.get(url(group), follow=True)
    assert response.redirect_chain[-1][0] == f"/sessions/{group.pk}/"
    assert any("Group sessions are not rescheduled" in m for m in messages_of(response))
    assert "Propose a new time" not in response.text
    response = client.post(url(group), {"starts_at": at(4, 10).isoformat()})
    assert response.status_code == 302 and not RescheduleProposal.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "other_learner", "admin_user"])
def test_outsiders_get_404(client, one_to_one, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(url(one_to_one)).status_code == 404
    assert client.post(url(one_to_one), {"starts_at": at(4, 10).isoformat()}).status_code == 404
    assert client.get("/sessions/987654/reschedule/").status_code == 404
    assert not RescheduleProposal.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, one_to_one):
    response = client.get(url(one_to_one))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.post(url(one_to_one), {"starts_at": at(4, 10).isoformat()})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not RescheduleProposal.objects.exists()


# --------------------------------------------------------------------------- the session page
def test_the_session_page_offers_the_link_to_participants_of_a_one_to_one(
    client, one_to_one, mentor, learner, outsider
):
    for person in (mentor, learner):
        client.force_login(person)
        assert "Propose a new time" in client.get(f"/sessions/{one_to_one.pk}/").text
    client.force_login(outsider)
    assert "Propose a new time" not in client.get(f"/sessions/{one_to_one.pk}/").text


def test_the_pending_box_asks_the_other_side_in_their_zone(client, one_to_one, mentor, learner, outsider):
    reschedule_propose(session_id=one_to_one.pk, user=mentor, starts_at=at(4, 10), message="Conference <b>day</b>")
    client.force_login(learner)
    html = client.get(f"/sessions/{one_to_one.pk}/").text
    assert "Maya Mentor proposes" in html and "(your zone)" in html
    assert "15:30" in html  # 10:00 UTC in Asia/Kolkata
    assert "Accept the new time" in html and "Decline" in html and "Withdraw it" not in html
    assert "Conference &lt;b&gt;day&lt;/b&gt;" in html
    assert "Propose a new time</a>" not in html  # one at a time
    client.force_login(mentor)
    html = client.get(f"/sessions/{one_to_one.pk}/").text
    assert "You proposed a new time" in html and "Withdraw it" in html and "Accept the new time" not in html
    client.force_login(outsider)
    html = client.get(f"/sessions/{one_to_one.pk}/").text
    assert "proposes" not in html and "Conference" not in html


# --------------------------------------------------------------------------- answering
def test_accepting_through_the_page(client, one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    client.force_login(mentor)
    response = client.post(f"/reschedules/{proposal.pk}/accept/", {"once": "a" * 22}, follow=True)
    assert response.redirect_chain[-1][0] == f"/sessions/{one_to_one.pk}/"
    assert any("now starts" in m for m in messages_of(response))
    session = Session.objects.get(pk=one_to_one.pk)
    assert session.starts_at == at(4, 10) and session.ics_sequence == 1
    # The same form sent again (a double click): the first outcome, nothing more.
    again = client.post(f"/reschedules/{proposal.pk}/accept/", {"once": "a" * 22})
    assert again.status_code == 302
    assert Session.objects.get(pk=one_to_one.pk).ics_sequence == 1
    assert Notification.objects.filter(kind="reschedule_accepted").count() == 2


def test_a_get_to_an_answer_changes_nothing(client, one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    client.force_login(mentor)
    for action in ("accept", "decline", "withdraw"):
        response = client.get(f"/reschedules/{proposal.pk}/{action}/")
        assert response.status_code == 302 and response["Location"] == f"/sessions/{one_to_one.pk}/"
    assert RescheduleProposal.objects.get().status == "pending"


def test_declining_with_a_message(client, one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    client.force_login(mentor)
    response = client.post(f"/reschedules/{proposal.pk}/decline/", {"message": "Busy then, sorry."})
    assert response.status_code == 302
    assert RescheduleProposal.objects.get().status == "declined"
    assert "Busy then, sorry." in Notification.objects.get(user=learner, kind="reschedule_declined").text


@pytest.mark.parametrize("message", ["bell\x07here", "x" * 301])
def test_a_hostile_decline_message_changes_nothing(client, one_to_one, mentor, learner, message):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    client.force_login(mentor)
    response = client.post(f"/reschedules/{proposal.pk}/decline/", {"message": message}, follow=True)
    assert response.redirect_chain[-1][0] == f"/sessions/{one_to_one.pk}/"
    assert any(m.startswith("Message:") or "300 characters" in m for m in messages_of(response))
    assert RescheduleProposal.objects.get().status == "pending"
    response = client.post(f"/reschedules/{proposal.pk}/decline/", {"message": "nul\x00"})
    assert response.status_code == 400
    assert RescheduleProposal.objects.get().status == "pending"


def test_withdrawing_through_the_page(client, one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    client.force_login(mentor)
    response = client.post(f"/reschedules/{proposal.pk}/withdraw/", follow=True)
    assert any("Only the person who proposed" in m for m in messages_of(response))
    client.force_login(learner)
    response = client.post(f"/reschedules/{proposal.pk}/withdraw/", follow=True)
    assert any("You withdrew" in m for m in messages_of(response))
    assert RescheduleProposal.objects.get().status == "withdrawn"


def test_the_proposer_accepting_gets_a_message_not_a_change(client, one_to_one, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    client.force_login(learner)
    response = client.post(f"/reschedules/{proposal.pk}/accept/", follow=True)
    assert any("You proposed this time" in m for m in messages_of(response))
    assert RescheduleProposal.objects.get().status == "pending"


def test_a_slot_taken_meanwhile_is_a_clear_message(client, one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    make_session(mentor, starts_at=at(4, 10), title="Meanwhile", capacity=3)
    client.force_login(mentor)
    response = client.post(f"/reschedules/{proposal.pk}/accept/", follow=True)
    assert any("no longer free" in m and "propose another time" in m for m in messages_of(response))
    assert RescheduleProposal.objects.get().status == "pending"


@pytest.mark.parametrize("who", ["outsider", "other_learner", "admin_user"])
def test_someone_elses_proposal_is_404(client, one_to_one, learner, request, who):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    client.force_login(request.getfixturevalue(who))
    for action in ("accept", "decline", "withdraw"):
        assert client.post(f"/reschedules/{proposal.pk}/{action}/").status_code == 404
        assert client.get(f"/reschedules/{proposal.pk}/{action}/").status_code == 404
        assert client.post(f"/reschedules/{proposal.pk + 999}/{action}/").status_code == 404
    assert RescheduleProposal.objects.get().status == "pending"


def test_anonymous_answers_are_sent_to_log_in(client, one_to_one, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    response = client.post(f"/reschedules/{proposal.pk}/accept/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert RescheduleProposal.objects.get().status == "pending"


# --------------------------------------------------------------------------- the dashboard
def test_the_dashboard_lists_new_times_to_answer_for_both_roles(client, one_to_one, mentor, learner):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    client.force_login(mentor)
    html = client.get("/dashboard/").text
    assert "New times to answer" in html and "Alice Learner proposes" in html
    client.force_login(learner)
    assert "New times to answer" not in client.get("/dashboard/").text  # their own proposal
    proposal.status = RescheduleProposal.Status.WITHDRAWN
    proposal.save(update_fields=["status"])
    reschedule_propose(session_id=one_to_one.pk, user=mentor, starts_at=at(5, 10))
    html = client.get("/dashboard/").text
    assert "New times to answer" in html and "Maya Mentor proposes" in html


def test_admin_lists_proposals_read_only(client, one_to_one, learner, admin_user):
    proposal = reschedule_propose(session_id=one_to_one.pk, user=learner, starts_at=at(4, 10))
    client.force_login(admin_user)
    assert client.get("/admin/mentoring/rescheduleproposal/").status_code == 200
    assert client.get(f"/admin/mentoring/rescheduleproposal/{proposal.pk}/change/").status_code == 200
    assert client.get("/admin/mentoring/rescheduleproposal/add/").status_code == 403
