"""bench/load.py at a reduced size: call rooms on a signaling Daphne process and pages offered at half the
measured capacity of a web Daphne process, at once, on one Redis and one PostgreSQL; nothing lost, no errors,
every socket held. The speed goals live in the benchmark's full-size run (README "Performance and
benchmarks"), not here: this machine is shared."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.conf import settings

from bench.servers import database_drop
from tests.servers import ROOT, database_url

# bench/load.py starts its own Daphne processes, which conftest's detection cannot see from here.
pytestmark = pytest.mark.servers

ROOMS = 20
PAGES = {"landing", "courses", "course", "dashboard"}


@pytest.fixture
def bench_database_url() -> str:
    """A database of this run's own (the bench drops and recreates it), named after the test database so
    that runs of the suite side by side do not wait for each other; dropped again whatever happens."""
    configured = settings.DATABASES["default"]
    url = database_url({**configured, "NAME": f"{configured['NAME']}_loadtest_bench"})
    yield url
    database_drop(url)


def run_bench(*args: str, timeout: float) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.load", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:  # timed out: SIGTERM lets the bench stop its servers and drop its database
            proc.terminate()
            proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


# Setting up its own database takes the bench most of its time: migrating it took 78 s on a machine busy with
# the browser tests. The bench now copies a migrated template (made by the first run of a checkout's
# migrations, then kept), which leaves seed_demo and the rooms: setup 8-17 s here against 32-57 s for the run
# that makes the template. The bounds still allow for such a first run on a busy machine.
@pytest.mark.timeout(330)
def test_rooms_and_browsing_on_the_two_pools_lose_nothing_and_fail_nothing(bench_database_url):
    proc = run_bench(
        "--rooms",
        str(ROOMS),
        "--seconds",
        "4",
        "--capacity-seconds",
        "1.5",
        "--grace",
        "5",
        "--json",
        "--database-url",
        bench_database_url,
        "--redis-url",
        settings.REDIS_URL,
        timeout=300,
    )
    assert proc.returncode == 0, f"bench/load.py exited with {proc.returncode}:\n{proc.stderr[-4000:]}"
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout  # --json: exactly one line
    report = json.loads(lines[0])
    print(
        f"\n[load] reduced: {report['rooms']} rooms on {report['processes']['signaling']} signaling process + pages at "
        f"{report['http_offered_rps']}/s (half the measured {report['http_capacity_rps']}/s) on "
        f"{report['processes']['web']} web process for {report['seconds']:g}s: sockets held {report['sockets_held']}/"
        f"{report['sockets']}, relayed {report['relayed']}/{report['sent']}, lost {report['lost']}, "
        f"relay p95 {report['relay_p95_ms']} ms p99 {report['relay_p99_ms']} ms; "
        f"HTTP {report['http_requests']}/{report['http_offered']} answered, p99 {report['http_p99_ms']} ms; "
        f"cpu {report['cpu_pct']}; errors: sockets {report['socket_errors']}, HTTP {report['http_errors']}; "
        f"setup {report['setup_s']} s"
    )

    assert report["processes"] == {"signaling": 1, "web": 1}
    assert report["sockets"] == 2 * ROOMS
    assert report["sockets_held"] == report["sockets"], report["socket_error_reasons"]
    assert report["socket_errors"] == 0, report["socket_error_reasons"]
    assert report["lost"] == 0
    assert report["sent"] >= ROOMS * 3  # every room sent for the whole run
    assert report["relayed"] == report["sent"]
    assert report["http_capacity_rps"] > 0 and abs(report["http_offered_rps"] - report["http_capacity_rps"] / 2) <= 0.1
    assert report["http_errors"] == 0, report["http_error_kinds"]
    assert report["http_requests"] == report["http_offered"] > 0  # open loop: each offered request was answered
    assert set(report["http_pages"]) == PAGES  # landing, catalog, course pages and the signed-in dashboard
    assert set(report["cpu_pct"]) == {"signaling", "web"}  # the CPU of each pool, reported apart
    assert report["goals"]["lost"]["met"] and report["goals"]["errors"]["met"]
