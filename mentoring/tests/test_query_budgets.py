"""Pages that list things make the same number of queries for 10 sessions as for 200."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import make_user
from mentoring.models import Feedback, Session
from mentoring.tests.factories import make_booking, skill

pytestmark = pytest.mark.django_db


def build(n: int, mentor, learners):
    skills = [skill(f"Skill {i}") for i in range(3)]
    now = timezone.now()
    for i in range(n):
        starts_at = now + timedelta(days=1, hours=2 * i)
        session = Session.objects.create(
            mentor=mentor,
            title=f"S{i}",
            starts_at=starts_at,
            duration_minutes=60,
            ends_at=starts_at + timedelta(minutes=60),
            capacity=3,
        )
        session.skills.set(skills[: 1 + i % 3])
        for learner in learners[: 1 + i % 2]:
            make_booking(session, learner)
        past = Session.objects.create(
            mentor=mentor,
            title=f"P{i}",
            starts_at=now - timedelta(days=1, hours=2 * i),
            duration_minutes=60,
            ends_at=now - timedelta(days=1, hours=2 * i) + timedelta(minutes=60),
            capacity=3,
            status="completed",
        )
        make_booking(past, learners[0])
        Feedback.objects.create(session=past, learner=learners[0], rating=4)


def count_queries(client, url: str) -> int:
    client.get(url)  # warm up: site menus are loaded once, then cached
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url", ["/dashboard/?as=learner", "/dashboard/?as=mentor", "/mentors/", "/sessions/", "/notifications/"]
)
def test_query_count_does_not_grow_with_data(client, url):
    counts = []
    for size in (10, 200):
        Session.objects.all().delete()
        mentor = make_user(f"m{size}@example.com", f"Mentor {size}", "mentor")
        learners = [make_user(f"l{size}-{i}@example.com", f"Learner {i}") for i in range(2)]
        for learner in learners:
            learner.learner_profile.interests.set([skill("Skill 0")])
        build(size, mentor, learners)
        client.force_login(mentor if "mentor" in url else learners[0])
        counts.append(count_queries(client, url.split("?")[0]))
    print(f"\n[queries] {url}: {counts[0]} with 10 sessions, {counts[1]} with 200")
    assert counts[0] == counts[1]
    assert counts[1] <= 20
