"""/health/live/ and /health/ready/: in-process, and against a real Daphne whose own PostgreSQL and
Redis the test stops and starts again (never the machine's shared servers)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.servers import ROOT, DaphneProcess, PostgresCluster, RedisProcess
from tests.waiting import wait_until


@pytest.mark.django_db
async def test_live_and_ready_say_ok_and_nothing_more(async_client):
    live = await async_client.get("/health/live/")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await async_client.get("/health/ready/")
    assert ready.status_code == 200, ready.content
    assert ready.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "redis": "ok", "channel_layer": "ok"},
    }
    assert "no-cache" in ready["Cache-Control"]
    # A probe by address (a container healthcheck, a load balancer) is not refused by ALLOWED_HOSTS.
    by_address = await async_client.get("/health/live/", headers={"host": "10.1.2.3:8000"})
    assert by_address.status_code == 200
    assert (await async_client.get("/dashboard/", headers={"host": "10.1.2.3:8000"})).status_code == 400


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(url: str, status: int, timeout: float) -> tuple[float, dict]:
    """Seconds until ``url`` answered ``status``, and the body it answered."""
    started = time.monotonic()
    last: dict = {}

    def answered() -> bool:
        last["code"], last["body"] = get(url)
        return last["code"] == status

    try:
        wait_until(answered, timeout=timeout, interval=0.2, what=f"{status} from {url}")
    except TimeoutError as error:
        raise AssertionError(f"{error}: it answered {last['code']} {last['body']}") from None
    return time.monotonic() - started, last["body"]


def test_readiness_follows_postgresql_and_redis_and_liveness_stays_up():
    cluster = PostgresCluster().init().start()
    redis = RedisProcess().start()
    env = {"DATABASE_URL": cluster.url, "REDIS_URL": redis.url, "DB_POOL_MAX_SIZE": "4"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        check=True,
        timeout=300,
        env={**DaphneProcess(env=env).env},
    )
    server = DaphneProcess(env=env).start()
    ready, live = f"{server.url}/health/ready/", f"{server.url}/health/live/"
    try:
        wait_for(ready, 200, 20)
        figures = []
        for name, stop, start in (("PostgreSQL", cluster.stop, cluster.start), ("Redis", redis.stop, redis.start)):
            stop()
            failed_after, body = wait_for(ready, 503, 5)
            assert body["status"] == "unavailable" and "fail" in body["checks"].values()
            assert get(live) == (200, {"status": "ok"})
            start()
            recovered_after, body = wait_for(ready, 200, 30)
            assert body["status"] == "ok"
            figures.append(
                f"{name} stopped: readiness failed after {failed_after:.1f} s, back {recovered_after:.1f} s after the restart"
            )
        print("\n[health] " + "; ".join(figures) + "; liveness stayed 200 throughout")
    finally:
        server.stop()
        redis.stop()
        cluster.remove()
