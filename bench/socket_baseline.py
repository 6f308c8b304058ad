"""What sockets that come and go leave behind in Redis and in the Daphne process.

    .venv/bin/python -m bench.socket_baseline                       # 1000 call-socket cycles, a summary
    .venv/bin/python -m bench.socket_baseline --cycles 3500 --json  # exactly one JSON line on stdout
    .venv/bin/python -m bench.socket_baseline --layer core

What one run does:

1. drops and creates a PostgreSQL database (``peerlearn_bench_sockets``; ``--database-url`` to change
   it), runs ``manage.py migrate --no-input`` and makes one live session with a booked learner, signed
   in by a Django session written straight to the session store;
2. starts a redis-server of its own (so every subscription and client in it is this run's) and one
   Daphne on it (dev settings, DEBUG off, Redis cache and ``--layer`` channel layer, as in production);
3. warms up (20 call and 20 notification socket cycles), waits until Redis's numbers stop moving and
   takes the baseline: subscribed channels (``PUBSUB CHANNELS`` + ``PUBSUB NUMPAT``), client
   connections (``CLIENT LIST``; the channel layer's carry the name ``<prefix>-channels``, the rest are
   the Django cache's) and Daphne's VmRSS;
4. runs ``--cycles`` call-socket cycles one after another (open, wait for ``welcome``, then half close
   with 1000 and half drop the TCP connection with a reset) and ``--cycles`` / 5 notification-socket
   cycles, waits up to ``--settle`` seconds for the numbers to come back, and measures again;
5. stops Daphne and Redis and drops the database (unless ``--keep-db``), also after an error or Ctrl-C.

Exit status 1 when subscriptions or the channel layer's connections did not come back to the baseline
(within 2), 2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import time
import uuid
from pathlib import Path

import redis
from websockets.sync.client import connect

from bench.report import progress
from bench.rooms import make_rooms
from bench.servers import (
    CHANNEL_LAYER_PREFIX,
    BenchError,
    app_env,
    fresh_database,
    manage,
    process_rss_kib,
    run_against_servers,
    running_daphne,
)
from tests.servers import ROOT, RedisProcess

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/peerlearn_bench_sockets"
PROBE = "socket-baseline-probe"
NOISE = 2  # subscriptions or connections that may come and go on their own (a refresh, a health check)


class Footprint:
    def __init__(self, redis_url: str, pid: int, layer_client_name: str):
        self.redis = redis.Redis.from_url(redis_url, client_name=PROBE)
        self.pid, self.layer_client_name = pid, layer_client_name

    def sample(self) -> dict:
        clients = [c for c in self.redis.client_list() if c.get("name") != PROBE]
        layer = sum(1 for c in clients if c.get("name") == self.layer_client_name)
        return {
            "subscriptions": len(self.redis.pubsub_channels()) + self.redis.pubsub_numpat(),
            "layer_clients": layer,
            "other_clients": len(clients) - layer,
            "rss_mb": round((process_rss_kib(self.pid) or 0) / 1024, 1),
        }

    def settle(self, timeout: float, baseline: dict | None = None) -> dict:
        """Sample once a second until the numbers are back to ``baseline`` (without one: until two
        samples agree), or ``timeout`` seconds pass."""
        deadline, previous = time.monotonic() + timeout, None
        while True:
            time.sleep(1)
            now = self.sample()
            keys = ("subscriptions", "layer_clients")
            if baseline is not None:
                settled = all(now[k] <= baseline[k] for k in keys)
            else:
                settled = previous is not None and all(now[k] == previous[k] for k in keys)
            if settled or time.monotonic() > deadline:
                return now
            previous = now


def cycle(url: str, origin: str, cookie: str, index: int, first: str | None) -> None:
    """One socket: open, wait for its first message, then close with 1000 (even) or drop (odd)."""
    with connect(url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=30) as ws:
        if first is not None:
            message = json.loads(ws.recv(timeout=30))
            if message.get("type") != first:
                raise BenchError(f"expected {first!r} first on {url}, got {message}")
        if index % 2:
            ws.socket.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )  # a reset, no close frame
            ws.socket.close()
        else:
            ws.close(1000)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=1000, help="call-socket cycles (default 1000)")
    parser.add_argument(
        "--layer", choices=("core", "pubsub"), default="pubsub", help="channels-redis layer (default pubsub)"
    )
    parser.add_argument(
        "--settle", type=float, default=20.0, help="seconds to wait for the numbers to come back (default 20)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a summary")
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"default {DEFAULT_DATABASE_URL}; its name must contain 'bench'",
    )
    parser.add_argument(
        "--setup-timeout", type=float, default=600.0, help="seconds allowed for migrate and making the room"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for Daphne (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.cycles < 2 or args.settle < 0:
        parser.error("--cycles must be >= 2 and --settle >= 0")
    bad = [item for item in args.server_env if "=" not in item]
    if bad:
        parser.error(f"--server-env takes NAME=VALUE, got {bad[0]!r}")
    args.server_env = dict(item.split("=", 1) for item in args.server_env)
    return args


def run(args: argparse.Namespace, logs: list[Path]) -> dict:
    prefix = f"{CHANNEL_LAYER_PREFIX}-{uuid.uuid4().hex[:8]}"
    own_redis = RedisProcess()
    try:
        own_redis.start()
    except (OSError, RuntimeError, TimeoutError) as exc:
        raise BenchError(f"cannot start redis-server: {exc}") from exc
    try:
        env = app_env(
            database_url=args.database_url,
            redis_url=own_redis.url,
            extra={"CHANNEL_LAYER": args.layer, "CHANNEL_LAYER_PREFIX": prefix, **args.server_env},
        )
        with fresh_database(args.database_url, keep=args.keep_db) as database:
            progress(f"database {database}: migrate")
            manage(["migrate", "--no-input"], env=env, timeout=args.setup_timeout)
            room = make_rooms(1, env=env, timeout=args.setup_timeout)[0]
            with running_daphne(env=env, log_path=logs[0]) as server:
                progress(
                    f"Daphne on {server.url} (pid {server.proc.pid}, layer {args.layer}), Redis on {own_redis.url}"
                )
                report = measure(args, server, own_redis.url, room, f"{prefix}-channels")
                if server.proc.poll() is not None:
                    raise BenchError(f"Daphne exited with {server.proc.returncode}")
                report["tracebacks"] = server.log_text().count("Traceback")
    finally:
        own_redis.stop()
    return report


def measure(args, server, redis_url: str, room, layer_client_name: str) -> dict:
    origin = f"http://127.0.0.1:{server.port}"
    call_url = f"ws://127.0.0.1:{server.port}/ws/session/{room.room_id}/?client={'5ca1ab1e' * 4}"
    notifications_url = f"ws://127.0.0.1:{server.port}/ws/notifications/"
    cookie = f"sessionid={room.learner_key}"
    footprint = Footprint(redis_url, server.proc.pid, layer_client_name)
    for index in range(20):
        cycle(call_url, origin, cookie, index, "welcome")
        cycle(notifications_url, origin, cookie, index, None)
    before = footprint.settle(args.settle)
    progress(f"baseline {before}; {args.cycles} call-socket cycles")
    started = time.monotonic()
    for index in range(args.cycles):
        cycle(call_url, origin, cookie, index, "welcome")
        if index and index % 250 == 0:
            progress(f"{index} cycles: {footprint.sample()}")
    notification_cycles = args.cycles // 5
    for index in range(notification_cycles):
        cycle(notifications_url, origin, cookie, index, None)
    took = time.monotonic() - started
    right_after = footprint.sample()
    after = footprint.settle(args.settle, before)
    return {
        "layer": args.layer,
        "call_cycles": args.cycles,
        "notification_cycles": notification_cycles,
        "seconds": round(took, 1),
        "before": before,
        "right_after": right_after,
        "after": after,
    }


def problem(report: dict) -> str | None:
    before, after = report["before"], report["after"]
    if after["subscriptions"] > before["subscriptions"] + NOISE:
        return f"subscriptions grew from {before['subscriptions']} to {after['subscriptions']}"
    if after["layer_clients"] > before["layer_clients"] + NOISE:
        return f"the channel layer's Redis connections grew from {before['layer_clients']} to {after['layer_clients']}"
    if report["tracebacks"]:
        return f"{report['tracebacks']} tracebacks in the Daphne log"
    return None


def render(report: dict) -> str:
    before, right_after, after = report["before"], report["right_after"], report["after"]
    return (
        f"[baseline] {report['call_cycles']} call + {report['notification_cycles']} notification socket cycles "
        f"({report['layer']} layer, half closed 1000, half dropped) in {report['seconds']} s: "
        f"subscriptions {before['subscriptions']} -> {after['subscriptions']}, "
        f"Redis clients {before['layer_clients'] + before['other_clients']} -> {after['layer_clients'] + after['other_clients']} "
        f"(channel layer {before['layer_clients']} -> {after['layer_clients']}, cache and others "
        f"{before['other_clients']} -> {right_after['other_clients']} right after -> {after['other_clients']}), "
        f"RSS {before['rss_mb']:.0f} -> {after['rss_mb']:.0f} MB, tracebacks {report['tracebacks']}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logs = [ROOT / "var" / f"bench-socket-baseline-{time.strftime('%Y%m%d-%H%M%S')}.log"]
    return run_against_servers(args, run, logs, problem=problem, render=render)


if __name__ == "__main__":
    sys.exit(main())
