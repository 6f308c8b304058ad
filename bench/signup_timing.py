"""Sign-up time for a taken address against a new one, with the real password hasher.

    .venv/bin/python -m bench.signup_timing               # a summary
    .venv/bin/python -m bench.signup_timing --json        # exactly one JSON object on stdout

The test (``portal/accounts/tests/test_signup_timing.py``) hashes with MD5, as the whole suite does;
this measures with the dev settings' hasher (Django's default, PBKDF2), where the hash is most of a
sign-up's cost and where the difference used to be (taken 32 ms, new 682 ms: issue 13).

What one run does:

1. drops and creates a PostgreSQL database (``peerlearn_bench``; ``--database-url`` to change it) and
   runs ``manage.py migrate --no-input`` against it;
2. in this process, with the dev settings, production's mandatory email verification, the in-memory
   mail backend and cache (so rate limits start empty and no mail leaves), registers ``--rounds``
   accounts, then posts the sign-up form (Django's test client) ``--rounds`` times for a taken
   address and as often for a new one, alternating which goes first, each from its own client
   address, after one unmeasured sign-up of each kind;
3. reports the medians, their ratio and the hasher; drops the database (unless ``--keep-db``).

Progress goes to stderr. The exit status is 2 when the benchmark could not run; a ratio outside
0.8..1.25 does not change it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from bench.report import progress
from bench.servers import DEFAULT_DATABASE_URL, BenchError, app_env, fresh_database, manage, stop_on_signals

PASSWORD = "correct-horse-battery-9x"


def measure(rounds: int) -> dict:
    """Run in a process whose environment already names the benchmark database and dev settings."""
    import django

    django.setup()
    from django.contrib.auth.hashers import get_hasher
    from django.core import mail
    from django.test import Client

    from portal.accounts.models import User
    from portal.accounts.services import user_register

    form = {
        "display_name": "Mallory",
        "role": "learner",
        "time_zone": "UTC",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    progress(f"registering {rounds + 1} accounts with the real hasher")
    taken = []
    for i in range(rounds + 1):
        user = User(email=f"member{i}@bench.peerlearn.test")
        user.set_password(PASSWORD)
        taken.append(user_register(user=user, display_name=f"Member {i}", role="learner", time_zone="UTC").email)

    def sign_up(email: str, address: str) -> float:
        client = Client(REMOTE_ADDR=address)
        started = time.perf_counter()
        response = client.post("/accounts/signup/", {**form, "email": email})
        elapsed = (time.perf_counter() - started) * 1000
        if (response.status_code, response.get("Location")) != (302, "/accounts/confirm-email/"):
            raise BenchError(f"sign-up for {email} answered {response.status_code} {response.get('Location')!r}")
        return elapsed

    sign_up(taken[-1], "198.51.100.250")  # unmeasured: the first request compiles templates
    sign_up("warm-up@bench.peerlearn.test", "198.51.100.251")
    progress(f"{rounds} alternating sign-ups for taken and new addresses")
    timings: dict[str, list[float]] = {"taken": [], "new": []}
    for i in range(rounds):
        probes = [("taken", taken[i]), ("new", f"newcomer{i}@bench.peerlearn.test")]
        for kind, email in probes if i % 2 == 0 else reversed(probes):
            timings[kind].append(sign_up(email, f"203.0.113.{(2 * i + (kind == 'new')) % 254 + 1}"))
    from django.db import connections

    connections.close_all()  # before the database is dropped
    taken_ms, new_ms = statistics.median(timings["taken"]), statistics.median(timings["new"])
    return {
        "hasher": type(get_hasher()).__name__,
        "rounds": rounds,
        "taken_median_ms": round(taken_ms, 1),
        "new_median_ms": round(new_ms, 1),
        "ratio": round(taken_ms / new_ms, 2),
        "mails": len(mail.outbox),
        "taken_ms": [round(t, 1) for t in timings["taken"]],
        "new_ms": [round(t, 1) for t in timings["new"]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="sign-ups of each kind (default 15)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"database to drop, create and use; its name must contain 'bench' (default {DEFAULT_DATABASE_URL})",
    )
    args = parser.parse_args()
    stop_on_signals()
    try:
        with fresh_database(args.database_url, keep=args.keep_db):
            env = app_env(database_url=args.database_url, redis_url="")
            env |= {
                "ALLOWED_HOSTS": "testserver",
                "ACCOUNT_EMAIL_VERIFICATION": "mandatory",
                "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            }
            progress("migrating the benchmark database")
            manage(["migrate", "--no-input"], env=env, timeout=600)
            os.environ.update(env)
            report = measure(args.rounds)
    except BenchError as exc:
        progress(f"cannot benchmark: {exc}")
        return 2
    except KeyboardInterrupt:
        progress("interrupted" + ("" if args.keep_db else "; the database is dropped"))
        return 130
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"[signup-timing] real hasher ({report['hasher']}): taken median {report['taken_median_ms']:.0f} ms, "
            f"new median {report['new_median_ms']:.0f} ms, ratio {report['ratio']:.2f} ({report['rounds']} each)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
