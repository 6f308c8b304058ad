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


# --------------------------------------------------------------------------- sense on the site
def other_learners(count: int, prefix: str = "other"):
    return [make_user(f"{prefix}{i}@example.com", f"{prefix.title()} {i}") for i in range(count)]


def far_session(mentor, *, title: str, starts_at, skills=(), capacity: int = 3) -> Session:
    """An upcoming session written directly (the service refuses dates as far as 2099)."""
    session = Session.objects.create(
        mentor=mentor,
        title=title,
        starts_at=starts_at,
        duration_minutes=60,
        ends_at=starts_at + timedelta(minutes=60),
        capacity=capacity,
    )
    session.skills.set(skills)
    return session


def claims_are_true(result, user) -> int:
    """Check each reason against the database; returns how many were checked."""
    from django.utils import timezone

    from mentoring.models import Booking

    interests = {s.name for s in user.learner_profile.interests.all()}
    others = Booking.objects.filter(status=Booking.Status.ACTIVE).exclude(learner=user)
    for r in result.items:
        session, reason = r.item, r.reason
        skills = {s.name for s in session.skills.all()}
        if reason.startswith("Matches your interest in "):
            named = set(reason.removeprefix("Matches your interest in ").replace(" and ", ", ").split(", "))
            assert named <= interests & skills, reason
        elif reason == "Popular this week":
            week = timezone.now() - timedelta(days=7)
            assert others.filter(session=session, created_at__gte=week).values("learner").distinct().count() >= 2
        elif reason == "Popular with learners like you":
            assert others.filter(session=session).values("learner").distinct().count() >= 2, session.title
        elif reason.startswith("Learners like you book "):
            name = reason.removeprefix("Learners like you book ").removesuffix(" sessions")
            assert (
                name in skills and others.filter(session__skills__name=name).values("learner").distinct().count() >= 2
            )
        elif reason.startswith("Learners who booked sessions like yours booked "):
            assert Booking.objects.filter(learner=user).exists()
            assert reason.endswith(session.mentor.display_name)
            assert others.filter(session__mentor=session.mentor).values("learner").distinct().count() >= 2
        elif reason.startswith("Learners like you take "):
            level = reason.removeprefix("Learners like you take ").removesuffix(" sessions")
            assert session.course.level == level
            assert others.filter(session__course__level=level).values("learner").distinct().count() >= 2
        elif reason == "Starting soon":
            assert session.starts_at - timezone.now() <= timedelta(days=7)
        else:
            assert reason == "Open for booking", reason
    return len(result.items)


@pytest.fixture
def popular_elsewhere(learner):
    """The world of issue 16: every past learner booked SQL, Product Management and Career Coaching
    sessions, two of them (not Python people) a Python one. Alice (interests Python and Machine Learning) booked nothing."""
    python, ml = skill("Python"), skill("Machine Learning")
    unrelated = [skill("SQL"), skill("Product Management"), skill("Career Coaching")]
    learner.learner_profile.interests.set([python, ml])
    mentors = {
        name: make_user(f"{name.lower()}@example.com", f"{name} Mentor", "mentor")
        for name in ("Sam", "Pat", "Cara", "Pia", "Max")
    }
    topics = dict(zip(("Sam", "Pat", "Cara", "Pia", "Max"), [*unrelated, python, ml], strict=True))
    people = other_learners(16)
    for i, person in enumerate(people):
        person.learner_profile.interests.set([python] if i % 2 else [unrelated[i % 3]])
        for j, name in enumerate(("Sam", "Pat", "Cara")):
            past = past_session(mentors[name], ended_ago=timedelta(days=i + 1, hours=j), capacity=6, title=f"P{i}{j}")
            past.skills.set([topics[name]])
            make_booking(past, person)
        if i in (0, 2):  # two learners who did not say Python booked a Python session
            past = past_session(mentors["Pia"], ended_ago=timedelta(days=i + 1, hours=5), capacity=6, title=f"Py{i}")
            past.skills.set([python])
            make_booking(past, person)
    upcoming = {
        name: make_session(
            mentors[name], title=f"{topics[name].name} session", starts_in=timedelta(days=2 + n), skills=[topics[name]]
        )
        for n, name in enumerate(mentors)
    }
    result = recommender_train(params={"epochs": 20})
    assert result.version and not result.skipped
    return upcoming


def test_a_fresh_learner_with_interests_gets_an_interest_match_first_over_unrelated_popular_ones(
    popular_elsewhere, learner
):
    from mentoring.recommender.db import learner_features, session_features, session_item_id, user_item_id
    from mentoring.services.recommendations import model_cache, session_candidates

    candidates = session_candidates(user=learner)
    scores = model_cache.get().score(
        user_item_id(learner.pk),
        learner_features(learner),
        [(session_item_id(s.pk), session_features(s)) for s in candidates],
    )
    by_model = [s.title for _, s in sorted(zip(scores, candidates, strict=True), key=lambda pair: -pair[0])]
    result = recommend_sessions(user=learner)
    print(f"\n[sense] the model alone: {by_model}\n[sense] recommended: {titles(result)}")
    assert by_model[0] not in ("Python session", "Machine Learning session")  # the situation
    assert result.source == "model"
    assert set(titles(result)[:2]) == {"Python session", "Machine Learning session"}
    assert titles(result)[2:] == [t for t in by_model if t not in titles(result)[:2]]  # then the model's order
    assert result.items[0].reason.startswith("Matches your interest in")
    assert claims_are_true(result, learner) == 5
    # Once Alice has booked something, the model's ranking alone decides.
    make_booking(past_session(next(iter(popular_elsewhere.values())).mentor, title="Her first"), learner)
    assert titles(recommend_sessions(user=learner))[0] == by_model[0]


def test_a_session_in_2099_or_past_the_horizon_is_never_recommended(client, learner, mentor, settings):
    from datetime import UTC, datetime

    from django.utils import timezone

    python = skill("Python")
    learner.learner_profile.interests.set([python])
    now = timezone.now()
    others = [make_user(f"m{i}@example.com", f"Mentor {i}", "mentor") for i in range(3)]
    far = {
        "2099": far_session(mentor, title="In 2099", starts_at=datetime(2099, 6, 1, 10, tzinfo=UTC), skills=[python]),
        "61 days": far_session(others[0], title="In 61 days", starts_at=now + timedelta(days=61), skills=[python]),
    }
    near = far_session(others[1], title="In 59 days", starts_at=now + timedelta(days=59), skills=[python])
    soon = far_session(others[2], title="Tomorrow", starts_at=now + timedelta(days=1))
    client.force_login(learner)

    def everywhere() -> list[set[str]]:
        from django.core.cache import cache

        from mentoring.services.recommendations import recommend_sessions_cached

        cache.clear()
        fresh = set(titles(recommend_sessions(user=learner, limit=50)))
        cached = set(titles(recommend_sessions_cached(user=learner, limit=50)))
        api = {r["title"] for r in client.get("/api/recommendations/?kind=sessions&limit=50").json()["results"]}
        return [fresh, cached, api]

    fallback = everywhere()
    assert fallback == [{near.title, soon.title}] * 3
    # A model that loves the far sessions changes nothing.
    scores = {far["2099"].pk: 10.0, far["61 days"].pk: 9.0}
    with fake_model(scores):
        modelled = everywhere()
    assert modelled == [{near.title, soon.title}] * 3
    settings.RECOMMENDER_HORIZON_DAYS = 90
    wider = everywhere()
    print(f"\n[sense] horizon 60 days: {sorted(fallback[0])}; 90 days: {sorted(wider[0])}")
    assert wider == [{near.title, soon.title, far["61 days"].title}] * 3


class FakeModel:
    """Stands in for a trained model: scores and drivers by item id (``session:<pk>``)."""

    def __init__(self, scores: dict[int, float], drivers: dict[int, list[tuple[str, float]]] | None = None):
        self.scores = {f"session:{pk}": s for pk, s in scores.items()}
        self.drivers = {f"session:{pk}": d for pk, d in (drivers or {}).items()}

    def score(self, user_id, features, items):
        import numpy as np

        return np.array([self.scores.get(item_id, 0.0) for item_id, _ in items], dtype=np.float32)

    def explain(self, user_id, features, item_features, *, item_id=None, limit=None):
        return self.drivers.get(item_id, [])


def fake_model(scores, drivers=None):
    from unittest import mock

    from mentoring.services import recommendations

    return mock.patch.object(recommendations.model_cache, "get", lambda: FakeModel(scores, drivers))


def test_each_reason_is_said_only_when_it_is_true(learner, mentor):
    from django.utils import timezone

    from cms_pages.tests.factories import make_catalog, make_course
    from mentoring.models import Booking

    python, sql, docker, design = skill("Python"), skill("SQL"), skill("Docker"), skill("Design")
    learner.learner_profile.interests.set([python])
    omar, tara, uma, vic = (
        make_user(f"{n}@example.com", f"{n.title()} Mentor", "mentor") for n in "omar tara uma vic".split()
    )
    bob, carol, dan = other_learners(3)

    def booked_by(session, *people, days_ago: float = 0):
        for person in people:
            make_booking(session, person)
        Booking.objects.filter(session=session).update(created_at=timezone.now() - timedelta(days=days_ago))

    # Evidence: SQL sessions and Tara's sessions were booked by two learners, Docker by nobody; a
    # beginner course's session by two.
    booked_by(past_session(omar, title="Old SQL", skills=[sql], capacity=4), bob, carol, days_ago=30)
    booked_by(past_session(tara, title="Old design", capacity=4), bob, dan, days_ago=30)
    course = make_course(make_catalog(), title="Beginners", slug="beginners", level="beginner")
    old_course = past_session(vic, title="Old course session", capacity=4)
    Session.objects.filter(pk=old_course.pk).update(course=course)
    booked_by(old_course, carol, dan, days_ago=30)
    upcoming = {
        "python": make_session(mentor, title="Python clinic", starts_in=timedelta(days=3), skills=[python]),
        "sql": make_session(omar, title="SQL joins", starts_in=timedelta(days=3, hours=2), skills=[sql]),
        "docker": make_session(uma, title="Docker basics", starts_in=timedelta(days=3, hours=4), skills=[docker]),
        "design": make_session(tara, title="Design crit", starts_in=timedelta(days=3, hours=6), skills=[design]),
        "level": make_session(vic, title="Course session", starts_in=timedelta(days=20), skills=[design]),
        "week": make_session(mentor, title="Hot this week", starts_in=timedelta(days=5), capacity=4),
        "ever": make_session(omar, title="Booked a while ago", starts_in=timedelta(days=9), capacity=4),
        "nobody": make_session(uma, title="Nobody booked", starts_in=timedelta(days=30), capacity=4),
        "nobody soon": make_session(tara, title="Nobody booked soon", starts_in=timedelta(days=1), capacity=4),
    }
    Session.objects.filter(pk=upcoming["level"].pk).update(course=course)
    booked_by(upcoming["week"], bob, carol, days_ago=1)
    booked_by(upcoming["ever"], carol, dan, days_ago=12)
    strongest = {
        "python": [("skill:python", 1.0)],
        "sql": [("skill:sql", 1.0)],
        "docker": [("skill:docker", 1.0), ("mentor:1", -0.1)],  # nobody booked Docker: no claim
        "design": [(f"mentor:{tara.pk}", 1.0), ("skill:design", 0.5)],
        "level": [("level:beginner", 1.0)],
        "week": [],
        "ever": [],
        "nobody": [(f"mentor:{uma.pk}", 0.4)],
        "nobody soon": [],
    }
    scores = {s.pk: 10.0 - n for n, s in enumerate(upcoming.values())}
    drivers = {upcoming[name].pk: d for name, d in strongest.items()}

    def reasons() -> dict[str, str]:
        with fake_model(scores, drivers):
            result = recommend_sessions(user=learner, limit=20)
        assert result.source == "model" and claims_are_true(result, learner) == len(upcoming)
        return {r.item.title: r.reason for r in result.items}

    fresh = reasons()
    assert fresh == {
        "Python clinic": "Matches your interest in Python",
        "SQL joins": "Learners like you book SQL sessions",
        "Docker basics": "Starting soon",
        "Design crit": "Starting soon",  # "learners who booked sessions like yours": she has none yet
        "Course session": "Learners like you take beginner sessions",
        "Hot this week": "Popular this week",
        "Booked a while ago": "Popular with learners like you",
        "Nobody booked": "Open for booking",
        "Nobody booked soon": "Starting soon",
    }
    # "Learners who booked sessions like yours" needs sessions of hers: after her first booking it is said.
    make_booking(past_session(uma, title="Hers", ended_ago=timedelta(days=40)), learner)
    assert reasons()["Design crit"] == f"Learners who booked sessions like yours booked {tara.display_name}"
    # Without a model: interest, then the session's own bookings this week, then its date.
    fallback = {r.item.title: r.reason for r in recommend_sessions(user=learner, limit=20).items}
    print(f"\n[sense] reasons with a model: {fresh}\n[sense] without: {fallback}")
    assert fallback["Python clinic"] == "Matches your interest in Python"
    assert fallback["Hot this week"] == "Popular this week"
    assert fallback["Booked a while ago"] == "Open for booking"  # booked, but not this week
    assert fallback["SQL joins"] == "Starting soon"  # Omar's sessions were booked, this one was not
    never = [t for t in fallback if t.startswith("Nobody")] + ["Docker basics", "Design crit", "SQL joins"]
    assert not any("opular" in fallback[t] or "opular" in fresh[t] for t in never)


def test_each_mentor_reason_is_said_only_when_it_is_true(learner):
    from mentoring.models import Feedback

    python = skill("Python")
    learner.learner_profile.interests.set([python])
    names = ("teacher", "before", "later", "cancelled", "popular", "once", "rated", "new")
    mentors = {n: make_user(f"{n}@example.com", f"{n.title()} Mentor", "mentor") for n in names}
    mentors["teacher"].mentor_profile.skills.set([python])
    make_booking(past_session(mentors["before"], title="Had one"), learner)
    make_booking(make_session(mentors["later"], title="Booked, not yet had"), learner)
    called_off = past_session(mentors["cancelled"], title="Called off")
    make_booking(called_off, learner)  # the mentor cancelled the session: its booking stays active
    type(called_off).objects.filter(pk=called_off.pk).update(status="cancelled")
    bob, carol = other_learners(2)
    hot = make_session(mentors["popular"], title="Hot", capacity=3)
    make_booking(hot, bob)
    make_booking(hot, carol)
    make_booking(make_session(mentors["once"], title="One booking", capacity=3), bob)
    rated = past_session(mentors["rated"], title="Rated", capacity=3, ended_ago=timedelta(days=30))
    for person, rating in ((bob, 4), (carol, 5)):
        make_booking(rated, person)
        Feedback.objects.create(session=rated, learner=person, rating=rating)
    from mentoring.models import Booking

    Booking.objects.filter(session=rated).update(created_at=rated.starts_at - timedelta(days=1))
    result = recommend_mentors(user=learner, limit=20)
    shown = {r.item.user.display_name: r.reason for r in result.items}
    print(f"\n[sense] mentor reasons: {shown}")
    assert shown == {
        "Teacher Mentor": "Teaches Python, which you are interested in",
        "Before Mentor": "You had a session with them before",
        "Later Mentor": "Accepting new learners",  # her session with them is still to come
        "Cancelled Mentor": "Accepting new learners",  # the session she booked never took place
        "Popular Mentor": "Popular this week",
        "Once Mentor": "Accepting new learners",  # one learner is not "popular"
        "Rated Mentor": "Rated 4.5 by learners",
        "New Mentor": "Accepting new learners",
    }
    assert result.items[0].item.user_id == mentors["teacher"].pk


def test_no_more_than_two_sessions_of_one_mentor_in_a_top_five(learner, mentor):
    python = skill("Python")
    learner.learner_profile.interests.set([python])
    omar, tara = (make_user(f"{n}@example.com", f"{n.title()} Mentor", "mentor") for n in ("omar", "tara"))
    sessions = [
        make_session(mentor, title=f"Maya {i}", starts_in=timedelta(days=1, hours=2 * i), skills=[python])
        for i in range(5)
    ]
    sessions += [make_session(omar, title=f"Omar {i}", starts_in=timedelta(days=3, hours=2 * i)) for i in range(3)]
    sessions.append(make_session(tara, title="Tara 0", starts_in=timedelta(days=5)))

    def mentors_in(result) -> list[str]:
        return [r.item.title.split()[0] for r in result.items]

    fallback = recommend_sessions(user=learner, limit=8)
    scores = {s.pk: 20.0 - n for n, s in enumerate(sessions)}  # the model prefers all of Maya's first
    with fake_model(scores):
        modelled = recommend_sessions(user=learner, limit=8)
    print(f"\n[sense] top 8 without a model: {mentors_in(fallback)}; with one: {mentors_in(modelled)}")
    for result in (fallback, modelled):
        top = mentors_in(result)
        assert max(top[:5].count(m) for m in set(top)) == 2
        assert top[:2] == ["Maya", "Maya"] and len(top) == 8  # the best stay first; the rest move down
    assert titles(modelled) == ["Maya 0", "Maya 1", "Omar 0", "Omar 1", "Tara 0", "Maya 2", "Maya 3", "Maya 4"]
    # With no other mentor left to take the places, one mentor's sessions still fill the list.
    Session.objects.exclude(mentor=mentor).delete()
    assert mentors_in(recommend_sessions(user=learner)) == ["Maya"] * 5


def test_ranking_afresh_makes_the_same_number_of_queries_for_10_sessions_as_for_60(learner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    python, sql = skill("Python"), skill("SQL")
    learner.learner_profile.interests.set([python])
    bob, carol = other_learners(2)
    counts = {}
    for size in (10, 60):
        Session.objects.all().delete()
        mentors = [make_user(f"m{size}-{i}@example.com", f"Mentor {size} {i}", "mentor") for i in range(5)]
        sessions = [
            make_session(
                mentors[i % 5],
                title=f"S{i}",
                starts_in=timedelta(days=1, hours=2 * i),
                capacity=4,
                skills=[python, sql][: 1 + i % 2],
            )
            for i in range(size)
        ]
        for session in sessions[::3]:
            make_booking(session, bob)
            make_booking(session, carol)
        scores = {s.pk: float(n) for n, s in enumerate(sessions)}
        drivers = {s.pk: [("skill:sql", 1.0), (f"mentor:{s.mentor_id}", 0.5)] for s in sessions}
        for source in ("fallback", "model"):
            with CaptureQueriesContext(connection) as queries:
                if source == "model":
                    with fake_model(scores, drivers):
                        result = recommend_sessions(user=learner)
                else:
                    result = recommend_sessions(user=learner)
            assert result.source == source and len(result.items) == 6
            counts[source, size] = len(queries.captured_queries)
    print(f"\n[sense] queries to rank afresh (10 sessions, 60): {counts}")
    assert counts["fallback", 10] == counts["fallback", 60] and counts["model", 10] == counts["model", 60]


def test_a_suggested_mentor_with_free_hours_comes_with_the_first_1to1_this_learner_may_book(
    client, catalog, learner, mentor
):
    from urllib.parse import parse_qs, urlsplit

    from django.utils import timezone

    from mentoring.services.recommendations import SLOT_DAYS
    from mentoring.services.requests import request_slots
    from mentoring.tests.services.test_requests import open_hours

    mentor.mentor_profile.skills.set([catalog["python"].skills.first()])
    assert recommend_mentors(user=learner).items[0].next_slot is None  # no hours set: nothing to book
    open_hours(mentor, lengths=(45, 30))  # every day 08:00-20:00 UTC
    now = timezone.now()
    offered = request_slots(mentor=mentor, duration_minutes=30, now=now, days=SLOT_DAYS, learner=learner)
    first = recommend_mentors(user=learner, now=now).items[0]
    assert first.item.user_id == mentor.pk and first.next_slot == offered[0]  # the shortest length, first time
    # The learner's own session at that time is left out: the next time that suits them.
    own = make_session(
        make_user("olga@example.com", "Olga Mentor", "mentor"), title="Mine", capacity=3,
        starts_at=offered[0].starts_at, duration=30,
    )  # fmt: skip
    make_booking(own, learner)
    later = recommend_mentors(user=learner, now=now).items[0].next_slot
    assert later is not None and later.starts_at >= offered[0].ends_at
    print(
        f"\n[book a 1:1] first offered {offered[0].starts_at:%a %H:%M}, after the learner's own session {later.starts_at:%a %H:%M}"
    )

    client.force_login(learner)
    page = client.get("/mentors/").content.decode()
    assert f"Book a 1:1 with {mentor.display_name}" in page
    link = page.split(f"/mentors/{mentor.pk}/request/?", 1)[1].split('"', 1)[0].replace("&amp;", "&")
    query = parse_qs(link)
    assert query["length"] == ["30"] and query["start"] == [later.starts_at.strftime("%Y-%m-%dT%H:%MZ")]
    form = client.get(f"/mentors/{mentor.pk}/request/?{link}")
    assert form.status_code == 200 and "Send the request" in form.content.decode()
    api = client.get("/api/recommendations/?kind=mentors").json()["results"][0]
    assert api["next_slot"]["starts_at"] == later.starts_at.isoformat()
    assert urlsplit(api["next_slot"]["request_url"]).path == f"/mentors/{mentor.pk}/request/"
    # A mentor is not offered a 1:1 with another mentor.
    assert all(r.next_slot is None for r in recommend_mentors(user=catalog["python"].mentor).items)
