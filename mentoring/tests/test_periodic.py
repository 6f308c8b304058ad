from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from mentoring.models import Session
from mentoring.periodic import _queue_retraining
from mentoring.recommender import artifact
from mentoring.tasks import retrain_recommender
from mentoring.tests.factories import make_session


@pytest.mark.django_db
def test_run_periodic_once_completes_ended_sessions(mentor, capsys):
    session = make_session(mentor)
    Session.objects.filter(pk=session.pk).update(
        starts_at=session.starts_at - timedelta(days=3), ends_at=session.ends_at - timedelta(days=3)
    )
    call_command("run_periodic", "--once")
    assert "complete_sessions: 1" in capsys.readouterr().out
    assert Session.objects.get(pk=session.pk).status == "completed"


@pytest.mark.django_db
def test_run_periodic_rejects_a_silly_interval():
    with pytest.raises(CommandError, match="between 10 and 3600"):
        call_command("run_periodic", "--interval", "1")


@pytest.mark.django_db
def test_booked_learners_who_never_joined_are_marked_no_show(mentor, learner, other_learner):
    from mentoring.models import Booking, CallAttendance
    from mentoring.services.calls import sessions_mark_no_shows
    from mentoring.tests.factories import make_booking, past_session

    session = past_session(mentor)
    make_booking(session, learner)
    make_booking(session, other_learner)
    CallAttendance.objects.create(
        session=session, user=learner, peer_id="0" * 16, joined_at=session.starts_at, left_at=session.ends_at
    )
    assert sessions_mark_no_shows(now=timezone.now()) == 1
    assert list(Booking.objects.filter(no_show=True).values_list("learner__email", flat=True)) == [other_learner.email]


# --------------------------------------------------------------------------- retraining: queued by the loop, run by the worker
def _bookings_to_learn_from(mentor, learner, other_learner) -> None:
    """Two learners with overlapping tastes: enough for a model (and its holdout) to be trained."""
    from mentoring.tests.factories import make_booking, past_session

    sessions = [past_session(mentor, ended_ago=timedelta(days=i + 1), title=f"Past {i}") for i in range(4)]
    for past in sessions[:3]:
        make_booking(past, learner)
    for past in sessions[1:]:
        make_booking(past, other_learner)


@pytest.mark.django_db(transaction=True)  # the worker manages its own transactions, as in production
def test_the_loop_queues_a_retraining_and_the_worker_trains_a_new_model(
    settings, mentor, learner, other_learner, capsys
):
    _bookings_to_learn_from(mentor, learner, other_learner)
    call_command("run_periodic", "--once")
    assert "queue_retraining: 1" in capsys.readouterr().out  # no model yet
    # The loop returned without training: the work waits in the queue, and no model exists yet.
    queued = DBTaskResult.objects.get()
    assert (queued.task_path, queued.status) == ("mentoring.tasks.retrain_recommender", "READY")
    assert artifact.versions(settings.RECOMMENDER_DIR) == []

    call_command("run_worker", "--once")
    [version] = artifact.versions(settings.RECOMMENDER_DIR)
    queued.refresh_from_db()
    assert (queued.status, queued.return_value) == ("SUCCESSFUL", version)

    call_command("run_periodic", "--once")
    assert "queue_retraining: 0" in capsys.readouterr().out  # the model is fresh
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        call_command("run_periodic", "--once")
        assert "queue_retraining: 1" in capsys.readouterr().out  # a day old: time for a new one
        requested_at = DBTaskResult.objects.ready().get().args_kwargs["kwargs"]["requested_at"]
        retrain_recommender.enqueue(requested_at=requested_at)  # the same request twice trains once
        call_command("run_worker", "--once")
    versions = artifact.versions(settings.RECOMMENDER_DIR)
    assert len(versions) == 2 and versions[0] == version
    outcomes = list(DBTaskResult.objects.values_list("status", "return_value"))
    assert {status for status, _ in outcomes} == {"SUCCESSFUL"}
    assert sorted(value or "" for _, value in outcomes) == ["", version, versions[1]]  # "": the duplicate


@pytest.mark.django_db
def test_a_retraining_is_asked_for_at_most_once_an_hour_and_too_little_data_writes_nothing(
    settings, learner, django_assert_max_num_queries
):
    now = timezone.now()
    assert _queue_retraining(now) == 1  # no model yet
    with django_assert_max_num_queries(0):
        assert _queue_retraining(now + timedelta(minutes=30)) == 0  # asked already: not even a look at the database
    assert _queue_retraining(now + timedelta(minutes=61)) == 1
    assert DBTaskResult.objects.ready().count() == 2
    assert retrain_recommender.call(requested_at=now.isoformat()) is None  # nothing to learn from yet
    assert artifact.versions(settings.RECOMMENDER_DIR) == []


def test_run_worker_rejects_a_silly_interval():
    with pytest.raises(CommandError, match="between 1 and 3600"):
        call_command("run_worker", "--interval", "0")
