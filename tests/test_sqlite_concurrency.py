"""The embedded database (`make run`'s SQLite) under concurrent writers: they wait for each other
instead of failing with "database is locked", and the rules PostgreSQL keeps with row locks and
constraints (seats, a mentor's overlapping sessions) are exact here too. The same races on
PostgreSQL: mentoring/tests/test_races.py."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.servers import ROOT


def test_twenty_learners_five_seats_and_a_double_publish_on_sqlite(tmp_path):
    env = {"DJANGO_ENV": "dev", "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "tests.sqlite_races"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\n[sqlite] journal {result['journal_mode']}: 20 learners at once for 5 seats -> {result['bookings']} "
          f"(rows: {result['booked_rows']} seats, {result['waitlist_rows']} waiting); the same session published twice at "
          f"once -> {result['creations']}; two reports at once -> {result['reports']}")
    assert result["vendor"] == "sqlite" and result["journal_mode"] == "wal"
    assert result["bookings"] == {"booked": 5, "waitlisted": 15}
    assert (result["booked_rows"], result["waitlist_rows"]) == (5, 15)
    assert result["creations"] == {"created": 1, "refused: overlap": 1} and result["twice_rows"] == 1
    assert not any(outcome.startswith("error") for outcome in result["reports"])
