"""Reminders say the time really left (issue 14: "starts in 15 minutes" for a session 5 minutes away)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from mentoring.models import Notification
from mentoring.services.reminders import reminders_send, time_left_words
from mentoring.tests.factories import make_booking, make_session

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("left", "words"),
    [
        (timedelta(seconds=20), "in 1 minute"),
        (timedelta(minutes=5), "in 5 minutes"),
        (timedelta(minutes=14, seconds=50), "in 15 minutes"),
        (timedelta(minutes=60), "in 1 hour"),
        (timedelta(minutes=80), "in 1 hour 20 minutes"),
        (timedelta(hours=2, minutes=1), "in 2 hours 1 minute"),
        (timedelta(hours=5, minutes=40), "in about 6 hours"),
        (timedelta(hours=24), "in 24 hours"),
    ],
)
def test_time_left_words(left, words):
    assert time_left_words(left) == words


def _minutes_said(text: str) -> int:
    found = re.search(r"starts in (?:about )?(?:(\d+) hours?)? ?(?:(\d+) minutes?)?", text)
    assert found, text
    return int(found.group(1) or 0) * 60 + int(found.group(2) or 0)


def booked_early(booking) -> None:
    """The seat was taken two days ahead (a seat taken within the last day gets only the short reminder)."""
    type(booking).objects.filter(pk=booking.pk).update(created_at=timezone.now() - timedelta(days=2))


@pytest.mark.parametrize("minutes_left", [40, 90, 23 * 60 + 50])
def test_a_seat_taken_within_the_day_gets_no_early_reminder_only_the_short_one(mentor, learner, minutes_left):
    session = make_session(mentor, starts_in=timedelta(minutes=minutes_left, seconds=30), capacity=2)
    make_booking(session, learner)
    assert reminders_send(now=session.starts_at - timedelta(minutes=minutes_left)) == 0
    assert reminders_send(now=session.starts_at - timedelta(minutes=10)) == 1
    assert "starts in 10 minutes" in Notification.objects.get(user=learner, kind="reminder").text


@pytest.mark.parametrize("minutes_left", [3, 5, 9, 14, 15, 40, 90, 23 * 60 + 50])
def test_a_late_booking_is_reminded_once_with_the_real_time_left(mentor, learner, minutes_left):
    session = make_session(mentor, starts_in=timedelta(minutes=minutes_left, seconds=30), capacity=2)
    booked_early(make_booking(session, learner))  # a periodic run that came late (booked within the day: below)
    now = session.starts_at - timedelta(minutes=minutes_left)
    reminders_send(now=now)
    reminders_send(now=now + timedelta(seconds=50))  # the next loop, when nothing new is due
    learner_texts = list(Notification.objects.filter(user=learner, kind="reminder").values_list("text", flat=True))
    mentor_texts = list(Notification.objects.filter(user=mentor, kind="reminder").values_list("text", flat=True))
    assert len(learner_texts) == 1 and len(mentor_texts) == 1, (learner_texts, mentor_texts)
    for text in learner_texts + mentor_texts:
        said = _minutes_said(text)
        # "about N hours" rounds to the hour; minutes are exact
        assert abs(said - minutes_left) <= (30 if "about" in text else 1), text


def test_reminders_name_the_start_in_each_persons_zone(mentor, learner):
    session = make_session(mentor, starts_in=timedelta(hours=20), capacity=2)  # mentor: New York
    booked_early(make_booking(session, learner))  # learner: Kolkata
    reminders_send(now=timezone.now())
    learner_text = Notification.objects.get(user=learner, kind="reminder").text
    mentor_text = Notification.objects.get(user=mentor, kind="reminder").text
    kolkata = timezone.localtime(session.starts_at, timezone.get_fixed_timezone(330))
    assert f"{kolkata:%H:%M} Asia/Kolkata" in learner_text
    assert "America/New_York" in mentor_text


def test_a_broken_stored_zone_still_gets_a_reminder_in_utc(mentor, learner):
    from portal.accounts.models import User

    User.objects.filter(pk=learner.pk).update(time_zone="Not/AZone")
    session = make_session(mentor, starts_in=timedelta(minutes=10), capacity=2)
    make_booking(session, learner)
    assert reminders_send(now=timezone.now()) == 1
    assert "UTC)" in Notification.objects.get(user=learner, kind="reminder").text
