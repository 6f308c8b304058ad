"""Recommendations as learners get them: candidates, exclusions, reasons, "Not interested", the API and
the fallback when there is no usable model."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import make_user
from mentoring.models import NotInterested, Session
from mentoring.services.recommendations import recommend_mentors, recommend_sessions, recommender_train
from mentoring.tests.factories import make_booking, make_session, past_session, skill

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(mentor, learner):
    python, design = skill("Python"), skill("Design")
    learner.learner_profile.interests.set([python])
    other_mentor = make_user("omar@example.com", "Omar Mentor", "mentor")
    third = make_user("tara@example.com", "Tara Mentor", "mentor")
    sessions = {
        "python": make_session(mentor, title="Python review", starts_in=timedelta(days=2), capacity=3, skills=[python]),
        "design": make_session(
            other_mentor, title="Design crit", starts_in=timedelta(days=1), capacity=3, skills=[design]
        ),
        "booked": make_session(third, title="Already booked", starts_in=timedelta(days=3), capacity=3, skills=[python]),
        "full": make_session(other_mentor, title="Full one", starts_in=timedelta(days=4), capacity=1, skills=[python]),
    }
    make_booking(sessions["booked"], learner)
    make_booking(sessions["full"], make_user("zed@example.com", "Zed"))
    cancelled = make_session(third, title="Cancelled one", starts_in=timedelta(days=5), capacity=3, skills=[python])
    Session.objects.filter(pk=cancelled.pk).update(status=Session.Status.CANCELLED)
    sessions["cancelled"] = cancelled
    sessions["past"] = past_session(mentor, title="Long gone")
    return sessions


def titles(result) -> list[str]:
    return [r.item.title for r in result.items]


def test_only_sessions_a_learner_can_book_are_recommended_best_match_first_with_a_reason(catalog, learner):
    result = recommend_sessions(user=learner)
    assert result.source == "fallback"
    assert titles(result) == ["Python review", "Design crit"]
    assert result.items[0].reason == "Matches your interest in Python"


def test_not_interested_hides_a_session_or_a_mentor_and_is_stored(client, catalog, learner, mentor):
    client.force_login(learner)
    response = client.post(
        "/recommendations/not-interested/", {"kind": "session", "id": catalog["python"].pk, "next": "/dashboard/"}
    )
    assert response.status_code == 302 and response.url == "/dashboard/"
    assert titles(recommend_sessions(user=learner)) == ["Design crit"]
    client.post("/recommendations/not-interested/", {"kind": "mentor", "id": catalog["design"].mentor_id})
    assert titles(recommend_sessions(user=learner)) == []
    assert catalog["design"].mentor_id not in [r.item.user_id for r in recommend_mentors(user=learner).items]
    assert NotInterested.objects.filter(user=learner).count() == 2
    # Twice is the same as once; nonsense changes nothing.
    client.post("/recommendations/not-interested/", {"kind": "session", "id": catalog["python"].pk})
    for bad in ({"kind": "session", "id": "999999"}, {"kind": "planet", "id": "1"}, {"kind": "session", "id": "x"}):
        response = client.post("/recommendations/not-interested/", bad, HTTP_ACCEPT="application/json")
        assert response.status_code == 400 and response.json()["error"]
    assert NotInterested.objects.filter(user=learner).count() == 2


def test_mentors_are_suggested_by_interest_and_a_dismissed_one_disappears(client, catalog, learner, mentor):
    mentor.mentor_profile.skills.set([catalog["python"].skills.first()])
    result = recommend_mentors(user=learner)
    assert result.items[0].item.user_id == mentor.pk
    assert result.items[0].reason == "Teaches Python, which you are interested in"
    client.force_login(learner)
    page = client.get("/mentors/").content.decode()
    assert "Suggested for you" in page and "Teaches Python, which you are interested in" in page
    client.post("/recommendations/not-interested/", {"kind": "mentor", "id": mentor.pk})
    assert mentor.pk not in [r.item.user_id for r in recommend_mentors(user=learner).items]


def test_the_api_gives_json_to_signed_in_users_only_and_checks_its_parameters(client, catalog, learner):
    assert client.get("/api/recommendations/").status_code == 401
    client.force_login(learner)
    body = client.get("/api/recommendations/?kind=sessions&limit=1").json()
    assert body["kind"] == "sessions" and body["source"] == "fallback"
    assert [(r["title"], r["reason"], r["seats_left"]) for r in body["results"]] == [
        ("Python review", "Matches your interest in Python", 3)
    ]
    assert body["results"][0]["url"] == f"/sessions/{catalog['python'].pk}/"
    assert client.get("/api/recommendations/?kind=mentors").json()["kind"] == "mentors"
    for query in ("kind=planets", "limit=0", "limit=51", "limit=ten"):
        response = client.get(f"/api/recommendations/?{query}")
        assert response.status_code == 400 and response.json()["error"]


def test_the_dashboard_shows_explained_recommendations_with_not_interested(client, catalog, learner):
    client.force_login(learner)
    page = client.get("/dashboard/").content.decode()
    assert "Recommended for you" in page and "Matches your interest in Python" in page
    assert 'aria-label="Not interested in “Python review”"' in page


@pytest.mark.parametrize("content", [b"", b"not a model at all", b"\x00" * 64])
def test_a_broken_artifact_falls_back_to_popularity_logs_once_and_the_page_still_works(
    client, catalog, learner, settings, tmp_path, content, caplog
):
    from mentoring.recommender import artifact

    directory = tmp_path / "models"
    directory.mkdir()
    (directory / "model-20260101T000000000000Z.npz").write_bytes(content)
    (directory / "model-20260101T000000000000Z.json").write_text('{"format_version": 1}')
    assert artifact.latest_version(directory) == "20260101T000000000000Z"  # it is seen, and refused
    settings.RECOMMENDER_DIR = directory
    client.force_login(learner)
    with caplog.at_level("WARNING", logger="mentoring.services.recommendations"):
        assert client.get("/dashboard/").status_code == 200
        body = client.get("/api/recommendations/").json()
    assert body["source"] == "fallback" and body["results"][0]["title"] == "Python review"
    assert len([r for r in caplog.records if "unusable" in r.getMessage()]) == 1


def test_bad_numbers_get_a_400_not_a_crash(client, learner):
    client.force_login(learner)
    for query in ("limit=%C2%B2", "limit=" + "9" * 5000):
        assert client.get(f"/api/recommendations/?{query}").status_code == 400
    response = client.post(
        "/recommendations/not-interested/", {"kind": "session", "id": "²"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400


# --------------------------------------------------------------------------- with a trained model
@pytest.fixture
def trained(learner):
    """A small world with a clear structure: Python learners booked Python sessions, design learners
    design sessions. A model trained on it goes where the recommendation code looks."""
    python, design = skill("Python"), skill("Design")
    learner.learner_profile.interests.set([python])
    mentors = [make_user(f"mentor{i}@example.com", f"Mentor {i}", "mentor") for i in range(4)]
    for i in range(12):
        topic = python if i % 2 == 0 else design
        person = make_user(f"l{i}@example.com", f"Learner {i}")
        person.learner_profile.interests.set([topic])
        for j, mentor in enumerate(mentors):
            past = past_session(mentor, ended_ago=timedelta(days=i + 1, hours=j), capacity=6, title=f"Past {i}-{j}")
            past.skills.set([python if j % 2 == 0 else design])
            if (j % 2 == 0) == (topic == python):
                make_booking(past, person)
    upcoming = {
        "python": make_session(
            mentors[0], title="Python pairing", starts_in=timedelta(days=2), capacity=3, skills=[python]
        ),
        "design": make_session(
            mentors[1], title="Design review", starts_in=timedelta(days=2), capacity=3, skills=[design]
        ),
        "booked": make_session(
            mentors[2], title="Booked already", starts_in=timedelta(days=3), capacity=3, skills=[python]
        ),
    }
    make_booking(upcoming["booked"], learner)
    result = recommender_train(params={"epochs": 10})
    assert result.version and not result.skipped
    return upcoming


def test_a_trained_model_ranks_the_learners_interest_first_and_says_why(trained, learner, client):
    result = recommend_sessions(user=learner)
    assert result.source == "model"
    assert titles(result) == ["Python pairing", "Design review"]  # booked and past ones never appear
    assert result.items[0].reason == "Matches your interest in Python"
    assert result.items[0].score > result.items[1].score
    client.force_login(learner)
    body = client.get("/api/recommendations/?kind=sessions").json()
    assert body["source"] == "model" and body["results"][0]["title"] == "Python pairing"
    client.post("/recommendations/not-interested/", {"kind": "session", "id": trained["python"].pk})
    assert titles(recommend_sessions(user=learner)) == ["Design review"]


def test_sessions_outside_the_learners_usual_hours_are_left_out_once_known(mentor, learner):
    from django.utils import timezone

    tz = __import__("zoneinfo").ZoneInfo(learner.time_zone)
    today = timezone.localtime(timezone.now(), tz).replace(minute=0, second=0, microsecond=0)
    for days in (3, 10, 17):  # three past bookings, all at 10:00 local time
        past = past_session(mentor, ended_ago=timedelta(days=days), title=f"Past {days}")
        start = (today - timedelta(days=days)).replace(hour=10)
        Session.objects.filter(pk=past.pk).update(starts_at=start, ends_at=start + timedelta(hours=1))
        make_booking(past, learner)
    other = make_user("omar@example.com", "Omar Mentor", "mentor")
    morning = make_session(mentor, title="Morning", starts_at=(today + timedelta(days=2)).replace(hour=11), capacity=2)
    night = make_session(other, title="Night", starts_at=(today + timedelta(days=2)).replace(hour=23), capacity=2)
    assert titles(recommend_sessions(user=learner)) == [morning.title]
    Session.objects.filter(pk__in=[s.pk for s in Session.objects.filter(title__startswith="Past")][:1]).delete()
    assert sorted(titles(recommend_sessions(user=learner))) == sorted(
        [morning.title, night.title]
    )  # two bookings: not known yet


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_reuses_a_ranking_but_never_shows_a_stale_choice(
    client, learner, other_learner, mentor, monkeypatch
):
    import re

    from mentoring.services import recommendations
    from mentoring.services.bookings import booking_create
    from mentoring.services.sessions import session_cancel

    sessions = {
        name: make_session(mentor, title=name, starts_in=timedelta(days=days), capacity=1)
        for days, name in enumerate(["Alpha talk", "Bravo talk", "Charlie talk", "Delta talk"], start=2)
    }
    rankings = []
    real = recommendations.recommend_sessions
    monkeypatch.setattr(recommendations, "recommend_sessions", lambda **kw: rankings.append(1) or real(**kw))
    client.force_login(learner)

    def shown() -> set[str]:
        block = re.search(r"Recommended for you(.*?)</section>", client.get("/dashboard/").text, re.S).group(1)
        return {name for name in sessions if name in block}

    assert shown() == set(sessions) and len(rankings) == 1
    assert shown() == set(sessions) and len(rankings) == 1  # the second visit reuses the ranking
    booking_create(session_id=sessions["Alpha talk"].pk, learner=other_learner)  # now full
    session_cancel(session_id=sessions["Bravo talk"].pk, actor=mentor)
    assert shown() == {"Charlie talk", "Delta talk"} and len(rankings) == 1  # read fresh, still not re-ranked
    client.post("/recommendations/not-interested/", {"kind": "session", "id": sessions["Charlie talk"].pk})
    assert shown() == {"Delta talk"} and len(rankings) == 2  # the learner's own action ranks afresh
    booking_create(session_id=sessions["Delta talk"].pk, learner=learner)
    assert shown() == set() and len(rankings) == 3
