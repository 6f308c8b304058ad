"""1:1 requests: each rule and refusal of mentoring.services.requests, expiry, auto-accept, and the
notifications (with the calendar invite on acceptance) to both sides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.mime.base import MIMEBase

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from conftest import make_user
from mentoring.errors import MentoringError, NotFound
from mentoring.models import Booking, MentorProfile, Notification, Session, SessionRequest
from mentoring.periodic import JOBS
from mentoring.selectors import (
    mentor_sessions_open,
    session_get_public,
    sessions_open_for_booking,
    sessions_upcoming,
)
from mentoring.services.availability import availability_update, slots_free
from mentoring.services.recommendations import session_candidates
from mentoring.services.requests import (
    SlotTaken,
    request_accept,
    request_create,
    request_decline,
    request_slots,
    request_withdraw,
    requests_expire,
)
from mentoring.tests.factories import make_booking, make_session
from portal.dates import safe_localtime

pytestmark = pytest.mark.django_db

AGENDA = "Review my Django models\nand the tests."


def open_hours(mentor, *, auto_accept: bool = False, lengths=(30, 60), **rules):
    """Every day 08:00-20:00 UTC, 30 and 60 minutes, two hours' notice."""
    values = dict(
        time_zone="UTC",
        session_lengths=list(lengths),
        buffer_before=0,
        buffer_after=0,
        min_notice=120,
        max_days_ahead=30,
        daily_cap=None,
        weekly_cap=None,
        auto_accept=auto_accept,
        weekly_hours={day: [(8 * 60, 20 * 60)] for day in range(7)},
    )
    values.update(rules)
    return availability_update(mentor=mentor, **values)


@pytest.fixture
def hours(mentor):
    return open_hours(mentor)


def slot(mentor, index: int = 0, length: int = 60):
    return request_slots(mentor=mentor, duration_minutes=length)[index]


def ask(learner, mentor, index: int = 0, length: int = 60, agenda: str = AGENDA, **kwargs) -> SessionRequest:
    chosen = slot(mentor, index, length)
    return request_create(
        learner=learner,
        mentor_id=mentor.pk,
        starts_at=chosen.starts_at,
        duration_minutes=length,
        agenda=agenda,
        **kwargs,
    )


def kinds(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("kind", flat=True))


def invite_of(message) -> Calendar:
    """The one calendar invitation attached to an email (a MIME part, or Django's (name, content, type))."""
    found = []
    for attachment in message.attachments:
        if isinstance(attachment, MIMEBase):
            if attachment.get_content_type() == "text/calendar":
                found.append(attachment.get_payload(decode=True))
        elif attachment[0].endswith(".ics"):
            found.append(attachment[1])
    (ics,) = found
    return Calendar.from_ical(ics)


# --------------------------------------------------------------------------- create
def test_a_request_holds_the_slot_and_tells_both_sides(
    learner, mentor, hours, django_capture_on_commit_callbacks, settings
):
    chosen = slot(mentor)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        request = ask(learner, mentor)
    assert request.status == SessionRequest.Status.PENDING
    assert (request.starts_at, request.ends_at) == (chosen.starts_at, chosen.ends_at)
    assert request.agenda == AGENDA
    expected = min(before + timedelta(hours=settings.REQUEST_EXPIRY_HOURS), chosen.starts_at - timedelta(hours=1))
    assert abs(request.expires_at - expected) < timedelta(seconds=5)
    assert chosen.starts_at not in {s.starts_at for s in slots_free(mentor=mentor, duration_minutes=60)}
    assert kinds(mentor) == ["request_received"] and kinds(learner) == ["request_sent"]
    assert "Alice Learner asks for a 1:1" in Notification.objects.get(user=mentor).text
    assert sorted(m.to[0] for m in mail.outbox) == sorted([learner.email, mentor.email])
    assert not any(m.attachments for m in mail.outbox)  # nothing is in a calendar yet
    assert not Session.objects.exists()


def test_expiry_hours_come_from_the_setting(learner, mentor, hours, settings):
    settings.REQUEST_EXPIRY_HOURS = 2
    request = ask(learner, mentor, index=20)
    assert abs(request.expires_at - (request.created_at + timedelta(hours=2))) < timedelta(seconds=5)


def test_the_slot_taken_refusal_lists_the_next_free_slots_in_the_learners_zone(learner, other_learner, mentor, hours):
    first = ask(learner, mentor)
    with pytest.raises(SlotTaken) as refused:
        request_create(
            learner=other_learner,
            mentor_id=mentor.pk,
            starts_at=first.starts_at,
            duration_minutes=60,
            agenda="Me too",
        )
    error = refused.value
    assert error.code == "slot_taken"
    upcoming = request_slots(mentor=mentor, duration_minutes=60)[:3]
    assert [s.starts_at for s in error.next_slots] == [s.starts_at for s in upcoming]
    assert "Europe/Rome" in error.message
    for free in upcoming:
        local = safe_localtime(free.starts_at, "Europe/Rome")
        assert f"{local:%H:%M}" in error.message and f"{local.day} {local:%b}" in error.message
    assert SessionRequest.objects.count() == 1


def test_the_same_form_sent_twice_is_one_request(learner, mentor, hours):
    first = ask(learner, mentor)
    again = request_create(
        learner=learner, mentor_id=mentor.pk, starts_at=first.starts_at, duration_minutes=60, agenda=AGENDA
    )
    assert again.pk == first.pk and SessionRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("agenda", "code"),
    [("", "agenda_empty"), ("   \n  ", "agenda_empty"), ("Hi\x00there", "agenda_text"), ("x" * 1001, "agenda_long")],
)
def test_the_agenda_is_required_short_and_plain(learner, mentor, hours, agenda, code):
    with pytest.raises(MentoringError) as refused:
        ask(learner, mentor, agenda=agenda)
    assert refused.value.code == code
    assert not SessionRequest.objects.exists()


def test_an_agenda_of_exactly_1000_characters_is_fine(learner, mentor, hours):
    assert len(ask(learner, mentor, agenda="y" * 1000).agenda) == 1000


def test_refusals_of_who_asks_and_whom(learner, mentor, hours):
    other_mentor = make_user("omar@example.com", "Omar Mentor", "mentor")
    chosen = slot(mentor)
    common = dict(starts_at=chosen.starts_at, duration_minutes=60, agenda=AGENDA)
    with pytest.raises(MentoringError) as refused:
        request_create(learner=other_mentor, mentor_id=mentor.pk, **common)
    assert refused.value.code == "not_learner"
    with pytest.raises(MentoringError) as refused:
        request_create(learner=learner, mentor_id=learner.pk, **common)
    assert refused.value.code == "own"
    with pytest.raises(MentoringError) as refused:
        request_create(learner=learner, mentor_id=999_999, **common)
    assert refused.value.code == "not_accepting"
    outsider_learner = make_user("lee@example.com", "Lee Learner")
    with pytest.raises(MentoringError) as refused:
        request_create(learner=learner, mentor_id=outsider_learner.pk, **common)
    assert refused.value.code == "not_accepting"
    MentorProfile.objects.filter(user=mentor).update(review_status=MentorProfile.Review.PENDING)
    with pytest.raises(MentoringError) as refused:
        request_create(learner=learner, mentor_id=mentor.pk, **common)
    assert refused.value.code == "not_accepting"
    MentorProfile.objects.filter(user=mentor).update(
        review_status=MentorProfile.Review.APPROVED, accepting_bookings=False
    )
    with pytest.raises(MentoringError) as refused:
        request_create(learner=learner, mentor_id=mentor.pk, **common)
    assert refused.value.code == "not_accepting"
    assert not SessionRequest.objects.exists()


def test_refusals_of_the_time(learner, mentor, hours):
    chosen = slot(mentor)
    cases = [
        (chosen.starts_at, 45, "length_not_offered"),
        (chosen.starts_at + timedelta(minutes=7), 60, "outside_hours"),
        (timezone.now() + timedelta(minutes=30), 60, "too_soon"),
        (chosen.starts_at + timedelta(days=60), 60, "too_far"),
    ]
    for starts_at, length, code in cases:
        with pytest.raises(MentoringError) as refused:
            request_create(
                learner=learner, mentor_id=mentor.pk, starts_at=starts_at, duration_minutes=length, agenda=AGENDA
            )
        assert refused.value.code == code, (starts_at, length)
    with pytest.raises(MentoringError) as refused:
        request_create(
            learner=learner,
            mentor_id=mentor.pk,
            starts_at=chosen.starts_at.replace(tzinfo=None),
            duration_minutes=60,
            agenda=AGENDA,
        )
    assert refused.value.code == "not_a_slot"
    assert not SessionRequest.objects.exists()


def test_a_time_too_close_to_answer_is_refused_unless_the_mentor_accepts_automatically(learner, mentor):
    all_day = {day: [(0, 24 * 60)] for day in range(7)}
    open_hours(mentor, min_notice=0, weekly_hours=all_day)
    now = timezone.now()
    close = next(s for s in slots_free(mentor=mentor, duration_minutes=30) if s.starts_at < now + timedelta(hours=1))
    common = dict(learner=learner, mentor_id=mentor.pk, starts_at=close.starts_at, duration_minutes=30, agenda=AGENDA)
    with pytest.raises(MentoringError) as refused:
        request_create(**common)
    assert refused.value.code == "too_soon"
    assert all(s.starts_at > now + timedelta(hours=1) for s in request_slots(mentor=mentor, duration_minutes=30))
    open_hours(mentor, min_notice=0, auto_accept=True, weekly_hours=all_day)
    assert request_create(**common).status == SessionRequest.Status.ACCEPTED


def test_a_learner_busy_at_that_time_is_refused(learner, mentor, hours):
    chosen = slot(mentor)
    other_mentor = make_user("omar@example.com", "Omar Mentor", "mentor")
    group = make_session(other_mentor, starts_at=chosen.starts_at + timedelta(minutes=30), capacity=3)
    make_booking(group, learner)
    with pytest.raises(MentoringError) as refused:
        ask(learner, mentor)
    assert refused.value.code == "learner_busy"
    # ... and a request still waiting with another mentor counts as well
    open_hours(other_mentor)
    target = slot(mentor, 10).starts_at
    common = dict(learner=learner, starts_at=target, duration_minutes=60, agenda=AGENDA)
    request_create(mentor_id=other_mentor.pk, **common)
    with pytest.raises(MentoringError) as refused:
        request_create(mentor_id=mentor.pk, **common)
    assert refused.value.code == "learner_busy"


def test_one_waiting_request_per_learner_and_mentor(learner, mentor, hours):
    ask(learner, mentor, index=0)
    with pytest.raises(MentoringError) as refused:
        ask(learner, mentor, index=6)
    assert refused.value.code == "already_pending"
    assert "Withdraw it" in refused.value.message
    assert SessionRequest.objects.count() == 1


# --------------------------------------------------------------------------- accept
def test_accepting_creates_a_private_session_with_the_learners_seat_and_invites_both(
    learner, mentor, hours, django_capture_on_commit_callbacks
):
    request = ask(learner, mentor)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        accepted = request_accept(request_id=request.pk, mentor=mentor)
    session = accepted.session
    assert accepted.status == SessionRequest.Status.ACCEPTED and accepted.responded_at
    assert session.private and session.capacity == 1 and session.booked_count == 1
    assert session.title == "1:1: Maya Mentor and Alice Learner" and session.description == AGENDA
    assert (session.starts_at, session.ends_at, session.mentor_id) == (request.starts_at, request.ends_at, mentor.pk)
    assert list(Booking.objects.filter(session=session, status="active").values_list("learner", flat=True)) == [
        learner.pk
    ]
    assert kinds(learner)[-1] == "request_accepted" and kinds(mentor)[-1] == "request_accepted"
    assert {m.to[0] for m in mail.outbox} == {learner.email, mentor.email}
    for message in mail.outbox:
        cal = invite_of(message)
        assert str(cal["method"]) == "REQUEST"
        (event,) = cal.walk("VEVENT")
        assert str(event["uid"]) == f"session-{session.pk}@peerlearn"
        assert event.decoded("dtstart") == session.starts_at.astimezone(UTC)
        assert str(session.room_id) in str(event["location"])
    # The slot stays taken, now by the session.
    assert request.starts_at not in {s.starts_at for s in slots_free(mentor=mentor, duration_minutes=60)}


def test_accepting_twice_is_one_session(learner, mentor, hours):
    request = ask(learner, mentor)
    first = request_accept(request_id=request.pk, mentor=mentor)
    again = request_accept(request_id=request.pk, mentor=mentor)
    assert again.session_id == first.session_id
    assert Session.objects.count() == 1 and Booking.objects.count() == 1


def test_only_its_mentor_accepts_declines_or_sees_a_request(learner, other_learner, mentor, hours):
    request = ask(learner, mentor)
    other_mentor = make_user("omar@example.com", "Omar Mentor", "mentor")
    for person in (other_mentor, learner, other_learner):
        with pytest.raises(NotFound):
            request_accept(request_id=request.pk, mentor=person)
        with pytest.raises(NotFound):
            request_decline(request_id=request.pk, mentor=person)
    for person in (other_learner, mentor):
        with pytest.raises(NotFound):
            request_withdraw(request_id=request.pk, learner=person)
    request.refresh_from_db()
    assert request.status == SessionRequest.Status.PENDING


def test_an_answered_request_cannot_be_accepted(learner, mentor, hours):
    request = ask(learner, mentor)
    request_withdraw(request_id=request.pk, learner=learner)
    with pytest.raises(MentoringError) as refused:
        request_accept(request_id=request.pk, mentor=mentor)
    assert refused.value.code == "not_pending" and "withdrawn" in refused.value.message
    with pytest.raises(MentoringError) as refused:
        request_decline(request_id=request.pk, mentor=mentor)
    assert refused.value.code == "not_pending"
    assert not Session.objects.exists()


def test_an_expired_request_cannot_be_accepted(learner, mentor, hours):
    request = ask(learner, mentor)
    with pytest.raises(MentoringError) as refused:
        request_accept(request_id=request.pk, mentor=mentor, now=request.expires_at + timedelta(minutes=1))
    assert refused.value.code == "expired"
    assert not Session.objects.exists()


def test_accepting_a_slot_taken_meanwhile_is_refused(learner, mentor, hours):
    request = ask(learner, mentor)
    # The mentor published a group session over it since (written directly: the rules would refuse it).
    Session.objects.create(
        mentor=mentor,
        title="Group",
        starts_at=request.starts_at,
        duration_minutes=60,
        ends_at=request.ends_at,
        capacity=3,
    )
    with pytest.raises(MentoringError) as refused:
        request_accept(request_id=request.pk, mentor=mentor)
    assert refused.value.code == "slot_taken"
    request.refresh_from_db()
    assert request.status == SessionRequest.Status.PENDING
    assert not Session.objects.filter(private=True).exists()


def test_accepting_when_the_learner_booked_that_time_meanwhile_is_refused(learner, mentor, hours):
    request = ask(learner, mentor)
    other_mentor = make_user("omar@example.com", "Omar Mentor", "mentor")
    make_booking(make_session(other_mentor, starts_at=request.starts_at, capacity=2), learner)
    with pytest.raises(MentoringError) as refused:
        request_accept(request_id=request.pk, mentor=mentor)
    assert refused.value.code == "learner_busy"
    assert not Session.objects.filter(private=True).exists()


# --------------------------------------------------------------------------- decline, withdraw
def test_declining_with_a_message_frees_the_slot_and_tells_both(
    learner, mentor, hours, django_capture_on_commit_callbacks
):
    request = ask(learner, mentor)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        declined = request_decline(request_id=request.pk, mentor=mentor, message="Busy that week, sorry!\r\nTry May.")
    assert declined.status == SessionRequest.Status.DECLINED and declined.response == "Busy that week, sorry!\nTry May."
    assert kinds(learner)[-1] == "request_declined" and kinds(mentor)[-1] == "request_declined"
    assert "Busy that week, sorry! Try May." in Notification.objects.filter(user=learner).first().text
    assert {m.to[0] for m in mail.outbox} == {learner.email, mentor.email}
    assert request.starts_at in {s.starts_at for s in slots_free(mentor=mentor, duration_minutes=60)}
    again = request_decline(request_id=request.pk, mentor=mentor, message="other words")
    assert again.response == "Busy that week, sorry!\nTry May."
    assert Notification.objects.filter(kind="request_declined").count() == 2


def test_a_decline_message_is_checked(learner, mentor, hours):
    request = ask(learner, mentor)
    for message, code in (("Bad\x00", "response_text"), ("z" * 1001, "response_long")):
        with pytest.raises(MentoringError) as refused:
            request_decline(request_id=request.pk, mentor=mentor, message=message)
        assert refused.value.code == code
    request.refresh_from_db()
    assert request.status == SessionRequest.Status.PENDING


def test_withdrawing_frees_the_slot_and_tells_both(learner, mentor, hours, django_capture_on_commit_callbacks):
    request = ask(learner, mentor)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        withdrawn = request_withdraw(request_id=request.pk, learner=learner)
    assert withdrawn.status == SessionRequest.Status.WITHDRAWN
    assert "withdrew their request" in Notification.objects.filter(user=mentor).first().text
    assert "You withdrew" in Notification.objects.filter(user=learner).first().text
    assert {m.to[0] for m in mail.outbox} == {learner.email, mentor.email}
    assert request_withdraw(request_id=request.pk, learner=learner).status == SessionRequest.Status.WITHDRAWN
    # The pair may ask again.
    assert ask(learner, mentor).status == SessionRequest.Status.PENDING


def test_an_accepted_request_cannot_be_withdrawn(learner, mentor, hours):
    request = ask(learner, mentor)
    request_accept(request_id=request.pk, mentor=mentor)
    with pytest.raises(MentoringError) as refused:
        request_withdraw(request_id=request.pk, learner=learner)
    assert refused.value.code == "not_pending" and "accepted" in refused.value.message


# --------------------------------------------------------------------------- expiry
def test_unanswered_requests_expire_and_both_are_told(
    learner, other_learner, mentor, hours, django_capture_on_commit_callbacks
):
    late = ask(learner, mentor, index=0)
    fresh = ask(other_learner, mentor, index=40)
    assert "expire_requests" in JOBS
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert requests_expire(now=late.expires_at - timedelta(seconds=1)) == 0
        assert requests_expire(now=late.expires_at + timedelta(seconds=1)) == 1
    late.refresh_from_db()
    fresh.refresh_from_db()
    assert late.status == SessionRequest.Status.EXPIRED and fresh.status == SessionRequest.Status.PENDING
    assert kinds(learner)[-1] == "request_expired" and kinds(mentor)[-1] == "request_expired"
    assert {m.to[0] for m in mail.outbox} == {learner.email, mentor.email}
    assert requests_expire(now=late.expires_at + timedelta(seconds=1)) == 0  # once


def test_a_request_expires_an_hour_before_its_start_whatever_its_expiry(learner, mentor, hours):
    request = ask(learner, mentor, index=40)
    SessionRequest.objects.filter(pk=request.pk).update(expires_at=request.starts_at + timedelta(days=1))
    assert requests_expire(now=request.starts_at - timedelta(minutes=61)) == 0
    assert requests_expire(now=request.starts_at - timedelta(minutes=59)) == 1


def test_a_due_request_no_longer_holds_its_slot_for_the_next_learner(learner, other_learner, mentor, hours):
    request = ask(learner, mentor, index=0)
    SessionRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    taken = request_create(
        learner=other_learner,
        mentor_id=mentor.pk,
        starts_at=request.starts_at,
        duration_minutes=60,
        agenda="Mine now",
    )
    assert taken.status == SessionRequest.Status.PENDING
    request.refresh_from_db()
    assert request.status == SessionRequest.Status.EXPIRED


# --------------------------------------------------------------------------- auto-accept
def test_auto_accept_books_at_once_and_tells_both_with_the_invite(learner, mentor, django_capture_on_commit_callbacks):
    open_hours(mentor, auto_accept=True)
    with django_capture_on_commit_callbacks(execute=True):
        request = ask(learner, mentor)
    assert request.status == SessionRequest.Status.ACCEPTED
    session = Session.objects.get()
    assert request.session_id == session.pk and session.private and session.booked_count == 1
    assert kinds(learner) == ["request_accepted"] and kinds(mentor) == ["request_accepted"]
    assert len(mail.outbox) == 2 and all(str(invite_of(m)["method"]) == "REQUEST" for m in mail.outbox)


# --------------------------------------------------------------------------- private sessions
def test_private_sessions_stay_out_of_public_lists(learner, other_learner, mentor, hours, outsider):
    request = ask(learner, mentor)
    session = request_accept(request_id=request.pk, mentor=mentor).session
    Session.objects.filter(pk=session.pk).update(capacity=2)  # even with a seat free
    public = make_session(mentor, starts_in=timedelta(days=20), capacity=3, title="Open group")
    assert list(sessions_upcoming()) == [public]
    assert list(sessions_open_for_booking()) == [public]
    assert list(mentor_sessions_open(mentor_id=mentor.pk)) == [public]
    assert session not in session_candidates(user=other_learner)
    for stranger in (outsider, other_learner, None):
        with pytest.raises(NotFound):
            session_get_public(session_id=session.pk, user=stranger)
    assert session_get_public(session_id=session.pk, user=learner) == session
    assert session_get_public(session_id=session.pk, user=mentor) == session


def test_when_shown_in_messages_is_the_persons_zone(learner, mentor, hours):
    request = ask(learner, mentor)
    mentor_text = Notification.objects.get(user=mentor).text
    learner_text = Notification.objects.get(user=learner).text
    new_york = safe_localtime(request.starts_at, "America/New_York")
    kolkata = safe_localtime(request.starts_at, "Asia/Kolkata")
    assert f"{new_york:%H:%M} (America/New_York)" in mentor_text
    assert f"{kolkata:%H:%M} (Asia/Kolkata)" in learner_text
    assert isinstance(request.starts_at, datetime)


# --------------------------------------------------------------------------- the database's backstop
def test_the_exclusion_constraints_refuse_what_the_checks_missed_as_slot_taken(
    learner, other_learner, mentor, hours, monkeypatch
):
    chosen = slot(mentor)
    monkeypatch.setattr("mentoring.services.requests.slot_check", lambda **kwargs: None)  # a check that lost a race
    SessionRequest.objects.create(
        mentor=mentor,
        learner=other_learner,
        starts_at=chosen.starts_at,
        duration_minutes=60,
        ends_at=chosen.ends_at,
        agenda="First",
        expires_at=chosen.starts_at - timedelta(hours=1),
    )
    with pytest.raises(SlotTaken) as refused:
        request_create(
            learner=learner, mentor_id=mentor.pk, starts_at=chosen.starts_at, duration_minutes=60, agenda=AGENDA
        )
    assert "was just taken" in refused.value.message and len(refused.value.next_slots) == 3
    assert SessionRequest.objects.count() == 1

    open_hours(mentor, auto_accept=True)
    SessionRequest.objects.all().delete()
    Session.objects.create(
        mentor=mentor,
        title="Group",
        starts_at=chosen.starts_at,
        duration_minutes=60,
        ends_at=chosen.ends_at,
        capacity=3,
    )
    with pytest.raises(SlotTaken):
        request_create(
            learner=learner, mentor_id=mentor.pk, starts_at=chosen.starts_at, duration_minutes=60, agenda=AGENDA
        )
    assert not SessionRequest.objects.exists() and not Session.objects.filter(private=True).exists()
