"""Races on the embedded database, as `make run` serves it: run by tests/test_sqlite_concurrency.py in a
process of its own, with dev settings on a fresh SQLite file. Each thread has its own connection,
so the writes really meet in SQLite. Prints one JSON line with what happened."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

# Run as `python -m tests.sqlite_races` from the repository (tests/ holds a module named http).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from mentoring.models import Booking, Report, Session, WaitlistEntry  # noqa: E402
from mentoring.services import MentoringError, SessionFull  # noqa: E402
from mentoring.services.bookings import booking_create, waitlist_join  # noqa: E402
from mentoring.services.feedback import report_create  # noqa: E402
from mentoring.services.sessions import session_create  # noqa: E402
from portal.accounts.models import User  # noqa: E402
from portal.accounts.services import user_register  # noqa: E402


def person(email: str, name: str, role: str = "learner") -> User:
    user = User(email=email)
    user.set_password("correct-horse-battery-9")
    return user_register(user=user, display_name=name, role=role, time_zone="UTC")


def at_once(jobs):
    barrier = threading.Barrier(len(jobs))

    def run(job):
        try:
            barrier.wait(timeout=20)
            return job()
        except MentoringError as error:
            return f"refused: {error.code}"
        except Exception as error:  # noqa: BLE001 - what a 500 would have been
            return f"error: {type(error).__name__}: {error}"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def main() -> None:
    call_command("migrate", verbosity=0)
    mentor = person("mentor@example.com", "Maya Mentor", "mentor")
    learners = [person(f"racer{i}@example.com", f"Racer {i}") for i in range(20)]
    session = session_create(mentor=mentor, title="Five seats", description="", skills=[],
                             starts_at=timezone.now() + timedelta(days=2), duration_minutes=60, capacity=5)

    def book(learner):
        def job():
            try:
                booking_create(session_id=session.pk, learner=learner)
                return "booked"
            except SessionFull:
                waitlist_join(session_id=session.pk, learner=learner)
                return "waitlisted"
        return job

    bookings = Counter(at_once([book(learner) for learner in learners]))

    starts = timezone.now() + timedelta(days=3)

    def create():
        session_create(mentor=mentor, title="Twice", description="", skills=[], starts_at=starts,
                       duration_minutes=60, capacity=2)
        return "created"

    creations = Counter(at_once([create, create]))

    seated = Booking.objects.filter(session=session, status="active").select_related("learner").first().learner

    def report():
        report_create(reporter=seated, session_id=session.pk, reason="other", text="Twice at once")
        return "reported"

    reports = Counter(at_once([report, report]))
    print(json.dumps({
        "vendor": connection.vendor,
        "journal_mode": connection.cursor().execute("PRAGMA journal_mode").fetchone()[0],
        "bookings": bookings, "booked_rows": Booking.objects.filter(session=session, status="active").count(),
        "waitlist_rows": WaitlistEntry.objects.filter(session=session).count(),
        "creations": creations, "twice_rows": Session.objects.filter(title="Twice").count(),
        "reports": reports, "report_rows": Report.objects.count(),
    }))


if __name__ == "__main__":
    main()
