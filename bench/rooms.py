"""Live call rooms for the benchmarks that fill them (bench/signaling.py, bench/load.py, bench/call_setup.py,
bench/socket_baseline.py): sessions open now, each with a mentor and a booked learner signed in.

:func:`make_rooms` runs Django in a child process; this module imports no Django itself.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from bench.servers import BenchError, python_child, tail


@dataclass(frozen=True, slots=True)
class Room:
    """A live session with one mentor and one booked learner, and a Django session key for each."""

    room_id: str
    session_id: int
    mentor_key: str
    learner_key: str


def make_rooms(count: int, *, env: dict[str, str], timeout: float) -> list[Room]:
    """``count`` sessions whose call room is open now, made in a child process with Django set up.

    Each room has its own mentor (a mentor's sessions cannot overlap) and one learner with an active
    booking. Both are signed in by a Django session written straight to the session store, so no
    login form (and no password hashing) is needed.
    """
    code = "from bench.rooms import make_rooms_in_django; make_rooms_in_django()"
    proc = python_child(["-c", code, str(count)], env=env, timeout=timeout, what=f"making {count} rooms")
    try:
        rows = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError) as exc:
        raise BenchError(f"making rooms printed no JSON:\n{tail(proc.stdout + proc.stderr)}") from exc
    return [Room(**row) for row in rows]


def make_rooms_in_django() -> None:
    """The child side of :func:`make_rooms` (``python -c``; argv: the number of rooms)."""
    count = int(sys.argv[1])
    from portal.settings import select_settings_module

    select_settings_module()
    import django

    django.setup()
    from datetime import timedelta
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from mentoring.models import LearnerProfile, MentorProfile
    from mentoring.tests.factories import make_booking, make_session
    from portal.accounts.models import User

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    backend = settings.AUTHENTICATION_BACKENDS[0]
    password = make_password(get_random_string(24))  # hashed once: nobody signs in with it
    tag = get_random_string(6).lower()
    with transaction.atomic():
        # What user_register does, in bulk: the user row and the role's profile.
        users = User.objects.bulk_create(
            User(
                email=f"bench-{role}-{tag}-{i}@bench.peerlearn.local",
                display_name=f"Bench {role.title()} {i}",
                role=role,
                time_zone="UTC",
                password=password,
            )
            for i in range(count)
            for role in (User.Role.MENTOR, User.Role.LEARNER)
        )
        mentors, learners = users[0::2], users[1::2]
        MentorProfile.objects.bulk_create(MentorProfile(user=user) for user in mentors)
        LearnerProfile.objects.bulk_create(LearnerProfile(user=user) for user in learners)
        # The project's own session service (overlap rules, ends_at) and the demo's direct booking.
        sessions = []
        for i, (mentor, learner) in enumerate(zip(mentors, learners, strict=True)):
            session = make_session(
                mentor, starts_in=timedelta(minutes=5), duration=60, capacity=1, title=f"Bench room {i}"
            )
            make_booking(session, learner)
            sessions.append(session)
        expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
        keys = {}
        rows = []
        for user in users:
            keys[user.pk] = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
            data = {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: backend,
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
            model = store_class.get_model_class()
            rows.append(model(session_key=keys[user.pk], session_data=store_class().encode(data), expire_date=expires))
        store_class.get_model_class().objects.bulk_create(rows)
    print(
        json.dumps(
            [
                {"room_id": str(s.room_id), "session_id": s.pk, "mentor_key": keys[m.pk], "learner_key": keys[lr.pk]}
                for s, m, lr in zip(sessions, mentors, learners, strict=True)
            ]
        )
    )


def add_room_arguments(parser, *, seconds_help: str, timeout_help: str) -> None:
    """The options of the benchmarks that fill chat rooms (bench/signaling.py, bench/load.py)."""
    parser.add_argument("--rooms", type=int, default=500, help="rooms of two sockets each (default 500)")
    parser.add_argument("--rate", type=float, default=1.0, help="chat lines per second per room (default 1)")
    parser.add_argument("--seconds", type=float, default=20.0, help=seconds_help)
    parser.add_argument(
        "--layer",
        choices=("core", "pubsub"),
        default="pubsub",
        help="channels-redis layer: core = RedisChannelLayer, pubsub = RedisPubSubChannelLayer",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a summary")
    parser.add_argument("--connect-concurrency", type=int, default=50, help="handshakes in flight at once (default 50)")
    parser.add_argument("--timeout", type=float, default=30.0, help=timeout_help)
    parser.add_argument("--grace", type=float, default=5.0, help="seconds to wait for the last chat lines (default 5)")


def check_room_arguments(parser, args) -> None:
    if args.rooms < 1 or args.rate <= 0 or args.seconds <= 0 or args.connect_concurrency < 1 or args.timeout <= 0:
        parser.error("--rooms and --connect-concurrency must be >= 1; --rate, --seconds and --timeout positive")
    if args.rate * 0.5 > 40:
        parser.error("--rate above 80 would exceed the server's 40 messages/s per socket")
    if args.grace < 0:
        parser.error("--grace must be >= 0")
