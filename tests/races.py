"""The world for tests/test_concurrent_writes.py, made and counted in the database a server under test
serves: run as ``python -m tests.races setup|count`` with that server's settings and DATABASE_URL (the
embedded SQLite of `make run`, or the test PostgreSQL). Prints one JSON line."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

# Run as `python -m tests.races` from the repository (tests/ holds a module named http).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

import django  # noqa: E402

django.setup()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.cached_db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from mentoring.models import Booking, MentorProfile, Report, Session, WaitlistEntry  # noqa: E402
from mentoring.services.bookings import booking_create  # noqa: E402
from mentoring.services.sessions import session_create  # noqa: E402
from portal.accounts.models import User  # noqa: E402
from portal.accounts.services import user_register  # noqa: E402

LEARNERS = 20
SEATS = 5


def person(email: str, name: str, role: str = "learner") -> User:
    user = User(email=email)
    user.set_password("correct-horse-battery-9")
    user = user_register(user=user, display_name=name, role=role, time_zone="UTC")
    if role == "mentor":  # a mentor staff have reviewed (a new one is not bookable until then)
        MentorProfile.objects.filter(user=user).update(review_status=MentorProfile.Review.APPROVED)
    return user


def signed_in(user: User) -> str:
    """A session cookie for ``user``, as logging in would make it."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def setup() -> dict:
    if connection.vendor == "sqlite":
        call_command("migrate", verbosity=0)
    mentor = person("mentor@example.com", "Maya Mentor", "mentor")
    learners = [person(f"racer{i}@example.com", f"Racer {i}") for i in range(LEARNERS)]
    seats = session_create(
        mentor=mentor,
        title="Five seats",
        description="",
        skills=[],
        starts_at=timezone.now() + timedelta(days=2),
        duration_minutes=60,
        capacity=SEATS,
    )
    reported = session_create(
        mentor=mentor,
        title="Reported",
        description="",
        skills=[],
        starts_at=timezone.now() + timedelta(days=4),
        duration_minutes=60,
        capacity=2,
    )
    booking_create(session_id=reported.pk, learner=learners[0])
    return {
        "vendor": connection.vendor,
        "mentor": signed_in(mentor),
        "learners": [signed_in(learner) for learner in learners],
        "seats_session": seats.pk,
        "reported_session": reported.pk,
    }


def count() -> dict:
    seats = Session.objects.get(title="Five seats")
    return {
        "booked": Booking.objects.filter(session=seats, status="active").count(),
        "booked_count": seats.booked_count,
        "waiting": WaitlistEntry.objects.filter(session=seats, status="waiting").count(),
        "published": {
            title: Session.objects.filter(title=title).count() for title in ("Twice with a token", "Twice without")
        },
        "reports": Report.objects.count(),
        "accounts": User.objects.filter(email="hurried@example.com").count(),
    }


if __name__ == "__main__":
    print(json.dumps({"setup": setup, "count": count}[sys.argv[1]]()))
