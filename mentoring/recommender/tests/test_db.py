from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from wagtail.models import Site

from cms_pages.models import CourseIndexPage, CoursePage
from conftest import make_user
from mentoring.models import Booking, CallAttendance, Feedback, Session
from mentoring.recommender.db import (
    from_database,
    goal_keywords,
    learner_features,
    mentor_features,
    session_features,
    session_item_id,
    user_item_id,
)
from mentoring.tests.factories import make_booking, make_session, past_session, skill

pytestmark = pytest.mark.django_db


def not_interested_model():
    try:
        return apps.get_model("mentoring", "NotInterested")
    except LookupError:
        return None


def course(level: str) -> CoursePage:
    home = Site.objects.get(is_default_site=True).root_page.specific
    index = home.add_child(instance=CourseIndexPage(title="Courses", slug="courses", intro="All courses"))
    return index.add_child(instance=CoursePage(title="Django", slug="django", summary="Django.", level=level))


@pytest.fixture
def site(learner, other_learner, mentor):
    """Alice booked, attended and loved s1, and waved s2 away; Bob cancelled s2, disliked s3 and its
    mentor (who also offers s4); a mentor's own booking is not a learner's."""
    python, django = skill("Python"), skill("Django")
    learner.learner_profile.interests.set([python])
    learner.learner_profile.goals = "Ship my first Django app and get a backend job, 2026!"
    learner.learner_profile.save(update_fields=["goals"])
    other_mentor = make_user("m2@example.com", "Second Mentor", "mentor")
    s1 = make_session(mentor, starts_in=timedelta(days=1), capacity=3, skills=[python], title="Python")
    s2 = make_session(mentor, starts_in=timedelta(days=2), capacity=3, skills=[django, python], title="Django")
    s3 = past_session(other_mentor, title="Past")
    Session.objects.filter(pk=s3.pk).update(course=course("intermediate"))
    s3.refresh_from_db()
    s4 = make_session(other_mentor, starts_in=timedelta(days=3), title="Later")
    make_booking(s1, learner)
    CallAttendance.objects.create(session=s1, user=learner, peer_id="a" * 16, joined_at=timezone.now())
    CallAttendance.objects.create(session=s1, user=learner, peer_id="b" * 16, joined_at=timezone.now())
    Feedback.objects.create(session=s1, learner=learner, rating=5)
    Booking.objects.filter(pk=make_booking(s2, other_learner).pk).update(status=Booking.Status.CANCELLED)
    make_booking(s3, other_learner)
    Feedback.objects.create(session=s3, learner=other_learner, rating=2)
    make_booking(s4, other_mentor)
    dismissals = not_interested_model()
    if dismissals is not None:
        dismissals.objects.create(user=learner, session=s2)
        dismissals.objects.create(user=other_learner, mentor=other_mentor)
    return {"s1": s1, "s2": s2, "s3": s3, "s4": s4, "other_mentor": other_mentor}


def test_ids_weights_and_features(site, learner, other_learner, mentor, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        data = from_database()
    alice, bob = user_item_id(learner.pk), user_item_id(other_learner.pk)
    s1, s2, s3, s4 = (session_item_id(site[name].pk) for name in ("s1", "s2", "s3", "s4"))
    weights = {(u, i): float(w) for u, i, w in zip(data.user_ids, data.item_ids, data.weights, strict=True)}
    expected = {(alice, s1): 3.0, (bob, s2): 0.3, (bob, s3): 0.5}  # booked + attended + rated 5; cancelled; 1 - 0.5
    if not_interested_model() is not None:
        expected |= {(alice, s2): -1.0, (bob, s3): -0.5, (bob, s4): -1.0}  # dismissals; a mentor's reach all theirs
    assert weights == pytest.approx(expected)
    assert data.timestamps is not None and len(data.timestamps) == len(data)

    assert data.user_features == {
        alice: ["role:learner", "skill:python", "goal:ship", "goal:django", "goal:app", "goal:backend", "goal:job"],
        bob: ["role:learner"],
    }  # mentors are not users here
    other = site["other_mentor"].pk
    assert data.item_features == {
        s1: ["skill:python", f"mentor:{mentor.pk}"],
        s2: ["skill:django", "skill:python", f"mentor:{mentor.pk}"],
        s3: [f"mentor:{other}", f"course:{site['s3'].course_id}", "level:intermediate"],
        s4: [f"mentor:{other}"],
    }


def test_serving_features_are_the_training_features(site, learner, mentor):
    data = from_database()
    assert learner_features(learner) == data.user_features[user_item_id(learner.pk)]
    for name in ("s1", "s2", "s3", "s4"):
        session = Session.objects.select_related("course").get(pk=site[name].pk)
        assert sorted(session_features(session)) == sorted(data.item_features[session_item_id(session.pk)])
    assert mentor_features(mentor.mentor_profile) == [f"mentor:{mentor.pk}"]


def test_now_replays_history_as_it_stood(site):
    assert len(from_database(now=timezone.now() - timedelta(hours=1))) == 0
    assert len(from_database()) > 0


def test_an_empty_site_gives_empty_data():
    data = from_database()
    assert len(data) == 0 and data.item_features == {}


def test_goal_keywords_drop_stop_words_numbers_and_repeats():
    assert goal_keywords("I want to learn Python, python and SQL in 2026 for my data-science job") == [
        "python",
        "sql",
        "data",
        "science",
        "job",
    ]
    assert len(goal_keywords(" ".join(f"word{n}x" for n in range(30)))) == 10
    assert goal_keywords("") == []
