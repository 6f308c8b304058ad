"""Calls and browsing at once: signaling rooms and HTTP visitors on two Daphne processes, one Redis and one PostgreSQL.

    .venv/bin/python -m bench.load                                   # a summary
    .venv/bin/python -m bench.load --json                            # exactly one JSON line on stdout
    .venv/bin/python -m bench.load --rooms 20 --seconds 4 --json     # the size tests/test_load.py runs

What one run does:

1. drops and creates a PostgreSQL database (``peerlearn_bench``; ``--database-url`` to change it), runs
   ``manage.py migrate --no-input`` and ``manage.py seed_demo`` (landing page, course catalog, the demo
   learner), and makes ``--rooms`` live sessions, each with its own mentor and one booked learner, both
   signed in by a Django session written straight to the session store (as bench/signaling.py does);
   ``seed_demo``'s images go to a temporary ``MEDIA_ROOT``, removed at the end;
2. meanwhile starts two Daphne servers (dev settings, DEBUG off, production's anonymous page cache, the
   ``--layer`` Redis channel layer under a channel prefix of its own), logging to ``var/bench-load-*.log``;
3. signs in as learner1@peerlearn.local through the login form, reads the course pages' addresses from
   ``/courses/`` and fetches every page once on each server (a warm-up, and a check that each answers 200);
4. connects the two sockets of every room, one on each server (``--connect-concurrency`` handshakes at a
   time), so every chat line crosses from one process to the other through Redis;
5. for ``--seconds``, at the same time: every room sends ``--rate`` chat lines a second, alternating between
   its two clients (bench/signaling.py's senders), and ``--users`` visitors browse, each on its own keep-alive
   connection, half of them on each server: ``/``, ``/courses/``, a course page, ``/dashboard/`` (signed in),
   round and round, ``--think`` seconds between pages; then waits up to ``--grace`` seconds for the last lines;
6. counts the sockets still open, closes them, stops the servers and drops the database (unless
   ``--keep-db``), also after an error or Ctrl-C.

Relay latency is from a chat line's send to the *other* client's receive (one process, one clock).
``sockets_held`` counts the sockets that connected and were still open at the end; ``socket_errors`` the
handshakes that failed, the sockets closed before the end and the error frames the server sent; ``lost`` the
chat lines the other client had not received by the end of the grace period. HTTP latencies are of the 2xx
responses; any other status, a reset or a timeout (``--timeout``) is an HTTP error; ``http_rps`` counts the
2xx responses per second of the run.

Progress and problems go to stderr. The exit status is 1 when a line was lost, a socket was refused or not
held, or a request failed; 2 when the benchmark could not run; missing the latency goal does not change it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.http_client import DEMO_LEARNER, HTTP_FAILURES, HttpConnection, build_request, cookie_header, login
from bench.report import percentile, progress
from bench.rooms import Room, add_room_arguments, check_room_arguments, make_rooms
from bench.servers import (
    CHANNEL_LAYER_PREFIX,
    HOST,
    BenchError,
    add_server_arguments,
    app_env,
    check_socket_limit,
    fresh_database,
    manage,
    parse_server_env,
    process_cpu_seconds,
    run_against_servers,
    running_daphne,
)
from bench.signaling import (
    Client,
    Relay,
    close_client,
    open_client,
    room_sender,
    wait_for_pending,
)
from tests.servers import ROOT

# The goals at 500 rooms: nothing lost, no errors, relay p99 under 50 ms.
GOAL_RELAY_P99_MS = 50.0
PROCESSES = 2
_COURSE_LINK = re.compile(r"""href=["'](?:https?://[^/"']+)?(/courses/[\w-]+/)["']""")


# --------------------------------------------------------------------------- browsing
@dataclass(frozen=True, slots=True)
class Page:
    name: str  # landing, courses, course, dashboard
    path: str
    signed_in: bool = False


@dataclass
class Browsing:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # page name -> seconds, of 2xx responses
    errors: Counter = field(default_factory=Counter)  # "dashboard: HTTP 302", "course: TimeoutError", ...


def visit_order(course_paths: list[str]) -> list[Page]:
    """One visitor's round: landing, catalog, a course, dashboard; a different course each round."""
    return [
        page
        for path in course_paths
        for page in (
            Page("landing", "/"),
            Page("courses", "/courses/"),
            Page("course", path),
            Page("dashboard", "/dashboard/", True),
        )
    ]


def requests_for(pages: list[Page], port: int, session_cookie: str) -> list[tuple[str, bytes]]:
    host = f"{HOST}:{port}"
    return [
        (
            page.name,
            build_request("GET", page.path, host=host, headers={"Cookie": session_cookie} if page.signed_in else None),
        )
        for page in pages
    ]


async def discover_and_warm(ports: list[int], session_cookie: str, timeout: float) -> list[str]:
    """The course pages' paths from /courses/; every page fetched once on every server, each must answer 200."""
    catalog = HttpConnection(HOST, ports[0])
    try:
        answer = await asyncio.wait_for(
            catalog.request(build_request("GET", "/courses/", host=f"{HOST}:{ports[0]}")), timeout
        )
    finally:
        await catalog.close()
    if answer.status != 200:
        raise BenchError(f"GET /courses/ answered {answer.status}")
    course_paths = sorted(set(_COURSE_LINK.findall(answer.body.decode("utf-8", "replace"))))
    if not course_paths:
        raise BenchError("/courses/ links to no course page; did seed_demo run?")
    for port in ports:
        conn = HttpConnection(HOST, port)
        try:
            seen = set()
            for name, raw in requests_for(visit_order(course_paths), port, session_cookie):
                if raw in seen:
                    continue
                seen.add(raw)
                first = await asyncio.wait_for(conn.request(raw), timeout)
                if first.status != 200:
                    request_line = raw.split(b"\r\n", 1)[0].decode()
                    raise BenchError(
                        f"{name}: {request_line} on port {port} answered {first.status} "
                        f"(Location: {first.header('location')})\n{first.body[:300].decode('utf-8', 'replace')}"
                    )
        finally:
            await conn.close()
    return course_paths


async def browse(
    visitor: int,
    port: int,
    rounds: list[tuple[str, bytes]],
    browsing: Browsing,
    *,
    start: float,
    end: float,
    think: float,
    timeout: float,
) -> None:
    """One visitor on one keep-alive connection, one page at a time, ``think`` seconds between pages."""
    conn = HttpConnection(HOST, port)
    step = visitor  # visitors start on different pages
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    try:
        while (started := time.perf_counter()) < end:
            name, raw = rounds[step % len(rounds)]
            step += 1
            try:
                async with asyncio.timeout(timeout):
                    response = await conn.request(raw)
            except HTTP_FAILURES as exc:
                await conn.close()
                browsing.errors[f"{name}: {type(exc).__name__}"] += 1
                await asyncio.sleep(0.05)  # do not spin on a refused connection
                continue
            if 200 <= response.status < 300:
                browsing.latencies.setdefault(name, []).append(time.perf_counter() - started)
            else:
                browsing.errors[f"{name}: HTTP {response.status}"] += 1
            if think:
                await asyncio.sleep(think)
    finally:
        await conn.close()


# --------------------------------------------------------------------------- the run
async def run_clients(args: argparse.Namespace, rooms: list[Room], ports: list[int], pids: list[int]) -> dict:
    password = os.environ.get("DEMO_PASSWORD") or "peerlearn-demo"  # what seed_demo used
    progress(f"signing in as {DEMO_LEARNER}")
    session_cookie = cookie_header(await login(ports[0], DEMO_LEARNER, password))
    course_paths = await discover_and_warm(ports, session_cookie, args.timeout)
    progress(f"{len(course_paths)} course pages; every page answered 200 on both servers")

    relay = Relay()
    # Room i's mentor on server i % 2 and its learner on the other: every line crosses processes.
    pairs = [
        [
            Client(room=i, side=0, port=ports[i % 2], key=room.mentor_key, room_id=room.room_id),
            Client(room=i, side=1, port=ports[(i + 1) % 2], key=room.learner_key, room_id=room.room_id),
        ]
        for i, room in enumerate(rooms)
    ]
    clients = [client for pair in pairs for client in pair]
    progress(f"connecting {len(clients)} sockets, {args.connect_concurrency} handshakes at a time")
    gate = asyncio.Semaphore(args.connect_concurrency)

    async def gated(client: Client) -> None:
        async with gate:
            await open_client(client, relay, timeout=args.timeout)

    connect_started = time.perf_counter()
    await asyncio.gather(*(gated(c) for c in clients))
    connect_wall = time.perf_counter() - connect_started
    progress(f"{sum(c.failure is None for c in clients)} of {len(clients)} sockets connected in {connect_wall:.1f}s")
    await asyncio.sleep(1.0)  # peer-joined announcements settle

    live_pairs = [(i, pair) for i, pair in enumerate(pairs) if all(c.failure is None for c in pair)]
    browsing = Browsing()
    rounds = [requests_for(visit_order(course_paths), port, session_cookie) for port in ports]
    progress(
        f"for {args.seconds:g}s: {len(live_pairs)} rooms send {args.rate:g} chat lines/s each; "
        f"{args.users} visitors browse, {args.think:g}s between pages"
    )
    start = time.perf_counter() + 0.2
    end = start + args.seconds
    cpu_before = [process_cpu_seconds(pid) for pid in pids], time.process_time()
    await asyncio.gather(
        *(
            room_sender(i, pair, relay, start=start, end=end, period=1.0 / args.rate, rooms=len(pairs))
            for i, pair in live_pairs
        ),
        *(
            browse(
                v, ports[v % 2], rounds[v % 2], browsing, start=start, end=end, think=args.think, timeout=args.timeout
            )
            for v in range(args.users)
        ),
    )
    wall = time.perf_counter() - start
    cpu_after = [process_cpu_seconds(pid) for pid in pids], time.process_time()
    await wait_for_pending(relay, args.grace)
    await asyncio.sleep(0.2)  # a socket the server closes at the very end is still "before the end"
    held = sum(c.ws is not None and c.failure is None and c.closed_early is None for c in clients)
    refused = Counter(f"handshake: {c.failure}" for c in clients if c.failure)
    closed_early = Counter(c.closed_early for c in clients if c.closed_early)
    lost = len(relay.pending)
    progress("closing the sockets")
    await asyncio.gather(*(close_client(c) for c in clients))
    return {
        "relay": relay,
        "browsing": browsing,
        "sockets": len(clients),
        "held": held,
        "socket_problems": refused + closed_early,
        "lost": lost,
        "start": start,
        "wall": wall,
        "connect_wall": connect_wall,
        "server_cpu_pct": [
            None if a is None or b is None else round(100 * (b - a) / wall)
            for a, b in zip(cpu_before[0], cpu_after[0], strict=True)
        ],
        "client_cpu_pct": round(100 * (cpu_after[1] - cpu_before[1]) / wall),
    }


def run(args: argparse.Namespace, logs: list[Path]) -> dict:
    check_socket_limit(args.rooms)
    prefix = f"{CHANNEL_LAYER_PREFIX}-{uuid.uuid4().hex[:8]}"  # no group left over from an earlier run
    media = tempfile.TemporaryDirectory(prefix="peerlearn-bench-load-media-")  # seed_demo's course images
    env = app_env(
        database_url=args.database_url,
        redis_url=args.redis_url,
        extra={
            "CHANNEL_LAYER": args.layer,
            "CHANNEL_LAYER_PREFIX": prefix,
            "MEDIA_ROOT": media.name,
            # No drain on SIGTERM: every socket is closed by then, and the servers stop side by side at once.
            "SHUTDOWN_DRAIN_SECONDS": "0",
            **args.server_env,
        },
    )
    with media, fresh_database(args.database_url, keep=args.keep_db) as database:
        progress(f"database {database}: migrate")
        manage(["migrate", "--no-input"], env=env, timeout=args.setup_timeout)
        progress(f"database {database}: seed_demo, {args.rooms} live rooms and {PROCESSES} Daphne servers")
        with contextlib.ExitStack() as stack:
            # Each is a process importing the project, seconds of work; side by side they overlap.
            with ThreadPoolExecutor(2 + PROCESSES) as pool:
                seeded = pool.submit(manage, ["seed_demo"], env=env, timeout=args.setup_timeout)
                made = pool.submit(make_rooms, args.rooms, env=env, timeout=args.setup_timeout)
                started = [pool.submit(stack.enter_context, running_daphne(env=env, log_path=log)) for log in logs]
            servers = [future.result() for future in started]  # a server that did start is stopped by the stack
            seeded.result()
            rooms = made.result()
            for server in servers:
                progress(f"Daphne on {server.url} (pid {server.proc.pid}, layer {args.layer}, log {server.log_path})")
            raw = asyncio.run(run_clients(args, rooms, [s.port for s in servers], [s.proc.pid for s in servers]))
            dead = [s for s in servers if s.proc.poll() is not None]
            if dead:
                raise BenchError(f"Daphne on port {dead[0].port} exited with {dead[0].proc.returncode}")
        progress("stopped Daphne")
    progress(f"kept the database {database} (--keep-db)" if args.keep_db else f"dropped the database {database}")
    return summarise(args, raw)


# --------------------------------------------------------------------------- report
def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def summarise(args: argparse.Namespace, raw: dict) -> dict:
    relay: Relay = raw["relay"]
    browsing: Browsing = raw["browsing"]
    latencies = sorted(relay.latencies)
    http_latencies = sorted(t for times in browsing.latencies.values() for t in times)
    socket_problems = raw["socket_problems"] + Counter({f"error frame: {k}": v for k, v in relay.server_errors.items()})
    socket_errors = sum(socket_problems.values())
    http_errors = sum(browsing.errors.values())
    relay_p99 = ms(percentile(latencies, 99))
    by_second: dict[int, list[float]] = {}
    for sent_at, latency in relay.timeline:
        by_second.setdefault(int(sent_at - raw["start"]), []).append(latency)
    return {
        "rooms": args.rooms,
        "rate": int(args.rate) if args.rate.is_integer() else args.rate,
        "seconds": args.seconds,
        "processes": PROCESSES,
        "layer": args.layer,
        "users": args.users,
        "think_s": args.think,
        "sockets": raw["sockets"],
        "sockets_held": raw["held"],
        "socket_errors": socket_errors,
        "sent": relay.sent,
        "relayed": len(latencies),
        "lost": raw["lost"],
        "relay_p50_ms": ms(percentile(latencies, 50)),
        "relay_p95_ms": ms(percentile(latencies, 95)),
        "relay_p99_ms": relay_p99,
        "http_requests": len(http_latencies),
        "http_rps": round(len(http_latencies) / raw["wall"], 1),
        "http_p50_ms": ms(percentile(http_latencies, 50)),
        "http_p99_ms": ms(percentile(http_latencies, 99)),
        "http_errors": http_errors,
        "goals": {
            "lost": {"target": 0, "met": raw["lost"] == 0},
            "errors": {"target": 0, "met": socket_errors + http_errors == 0 and raw["held"] == raw["sockets"]},
            "relay_p99_ms": {
                "target": GOAL_RELAY_P99_MS,
                "met": relay_p99 is not None and relay_p99 < GOAL_RELAY_P99_MS,
            },
        },
        # Diagnostics beyond the keys.
        "relay_max_ms": ms(latencies[-1] if latencies else None),
        "relay_p99_by_second_ms": [
            ms(percentile(sorted(by_second.get(i, [])), 99)) for i in range(math.ceil(args.seconds))
        ],
        "unexpected_lines": relay.late_or_unknown,
        "socket_error_reasons": dict(socket_problems),
        "http_error_kinds": dict(browsing.errors),
        "http_pages": {
            name: {
                "requests": len(times),
                "p50_ms": ms(percentile(sorted(times), 50)),
                "p99_ms": ms(percentile(sorted(times), 99)),
            }
            for name, times in sorted(browsing.latencies.items())
        },
        "connect_wall_s": round(raw["connect_wall"], 2),
        "server_cpu_pct": raw["server_cpu_pct"],  # per Daphne process, in % of one core, during the run
        "client_cpu_pct": raw["client_cpu_pct"],  # this process: every socket and every visitor
    }


def problem(report: dict) -> str | None:
    if report["lost"] or report["socket_errors"] or report["http_errors"] or report["sockets_held"] < report["sockets"]:
        return "lines were lost, sockets dropped or requests failed"
    return None


def render(report: dict) -> str:
    def num(value, spec: str = ".2f") -> str:
        return "-" if value is None else format(value, spec)

    def verdict(goal: str) -> str:
        return "met" if report["goals"][goal]["met"] else "MISSED"

    def kinds(counts: dict) -> str:
        return f" ({', '.join(f'{k} x{v}' for k, v in counts.items())})" if counts else ""

    pages = ", ".join(
        f"{name} {row['requests']} p99 {num(row['p99_ms'])} ms" for name, row in report["http_pages"].items()
    )
    return "\n".join(
        [
            f"PeerLearn load: {report['rooms']} rooms x 2 sockets, {report['rate']:g} chat line/s per room, and "
            f"{report['users']} visitors ({report['think_s']:g}s between pages), for {report['seconds']:g}s; "
            f"{report['processes']} Daphne processes, channel layer {report['layer']!r}",
            "",
            f"sockets      {report['sockets_held']} of {report['sockets']} held, {report['socket_errors']} errors"
            f"{kinds(report['socket_error_reasons'])}; connected in {report['connect_wall_s']:g}s",
            f"chat lines   {report['sent']} sent, {report['relayed']} relayed, {report['lost']} lost  (goal 0: {verdict('lost')})",
            f"relay        p50 {num(report['relay_p50_ms'])} ms, p95 {num(report['relay_p95_ms'])} ms, "
            f"p99 {num(report['relay_p99_ms'])} ms, max {num(report['relay_max_ms'])} ms  "
            f"(goal p99 < {GOAL_RELAY_P99_MS:g} ms: {verdict('relay_p99_ms')})",
            f"             p99 second by second: {' '.join(num(v, '.0f') for v in report['relay_p99_by_second_ms'])} ms",
            f"http         {report['http_requests']} requests, {report['http_rps']:g} req/s, p50 {num(report['http_p50_ms'])} ms, "
            f"p99 {num(report['http_p99_ms'])} ms, {report['http_errors']} errors{kinds(report['http_error_kinds'])}",
            f"             {pages}",
            f"errors       {report['socket_errors'] + report['http_errors']}  (goal 0, every socket held: {verdict('errors')})",
            f"cpu          Daphne {', '.join(num(v, '.0f') + '%' for v in report['server_cpu_pct'])} of a core; "
            f"this client {report['client_cpu_pct']}%",
        ]
    )


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Signaling rooms and HTTP browsing at once on two Daphne processes, one Redis and one PostgreSQL.",
    )
    add_room_arguments(
        parser,
        seconds_help="how long rooms send and visitors browse (default 20)",
        timeout_help="seconds for a handshake and its welcome, or a request (default 30)",
    )
    parser.add_argument("--users", type=int, default=8, help="visitors browsing at once (default 8)")
    parser.add_argument("--think", type=float, default=0.5, help="seconds a visitor waits between pages (default 0.5)")
    add_server_arguments(
        parser, setup_help="seconds allowed for migrate, seed_demo and making rooms", env_example="DB_POOL_MAX_SIZE=20"
    )
    args = parser.parse_args(argv)
    check_room_arguments(parser, args)
    if args.users < 0 or args.think < 0:
        parser.error("--users and --think must be >= 0")
    parse_server_env(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = [ROOT / "var" / f"bench-load-{stamp}-{os.getpid()}-{i}.log" for i in range(PROCESSES)]
    return run_against_servers(args, run, logs, problem=problem, render=render)


if __name__ == "__main__":
    sys.exit(main())
