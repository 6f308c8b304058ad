from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from mentoring.models import Session
from mentoring.tests.factories import make_session


@pytest.mark.django_db
def test_run_periodic_once_completes_ended_sessions(mentor, capsys):
    session = make_session(mentor)
    Session.objects.filter(pk=session.pk).update(starts_at=session.starts_at - timedelta(days=3), ends_at=session.ends_at - timedelta(days=3))
    call_command("run_periodic", "--once")
    assert "complete_sessions: 1" in capsys.readouterr().out
    assert Session.objects.get(pk=session.pk).status == "completed"


@pytest.mark.django_db
def test_run_periodic_rejects_a_silly_interval():
    with pytest.raises(CommandError, match="between 10 and 3600"):
        call_command("run_periodic", "--interval", "1")


@pytest.mark.django_db
def test_booked_learners_who_never_joined_are_marked_no_show(mentor, learner, other_learner):
    from django.utils import timezone

    from mentoring.demo import _book_directly
    from mentoring.models import Booking, CallAttendance
    from mentoring.services.calls import sessions_mark_no_shows
    from mentoring.tests.factories import past_session

    session = past_session(mentor)
    _book_directly(session, learner)
    _book_directly(session, other_learner)
    CallAttendance.objects.create(session=session, user=learner, peer_id="0" * 16, joined_at=session.starts_at, left_at=session.ends_at)
    assert sessions_mark_no_shows(now=timezone.now()) == 1
    assert list(Booking.objects.filter(no_show=True).values_list("learner__email", flat=True)) == [other_learner.email]
