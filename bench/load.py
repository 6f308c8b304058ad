"""Calls and browsing at once, on the production split: a signaling pool and a web pool of Daphne processes,
one Redis and one PostgreSQL.

    .venv/bin/python -m bench.load                                   # a summary
    .venv/bin/python -m bench.load --json                            # exactly one JSON line on stdout
    .venv/bin/python -m bench.load --rooms 20 --seconds 4 --json     # the size tests/test_load.py runs

What one run does:

1. makes a PostgreSQL database (``peerlearn_bench``; ``--database-url`` to change it) as a copy of a migrated
   template (``peerlearn_bench_tpl_<hash>``, made by ``manage.py migrate --no-input`` the first time and kept: the hash
   covers every migration, the pinned requirements and the site-record code, so a change to any makes a new
   one; ``--no-template`` migrates the run's own database instead), then runs ``manage.py seed_demo`` (landing
   page, course catalog, the demo learner) and makes ``--rooms`` live sessions, each with its own mentor and one
   booked learner, both signed in by a Django session written straight to the session store (as
   bench/signaling.py does); ``seed_demo``'s images go to a temporary ``MEDIA_ROOT``, removed at the end;
2. meanwhile starts ``--signaling-processes`` Daphne servers with ``PROCESS_ROLE=signaling`` and
   ``--web-processes`` with ``PROCESS_ROLE=web`` (dev settings, DEBUG off, production's anonymous page cache, the
   ``--layer`` Redis channel layer under a channel prefix of its own), logging to ``var/bench-load-*.log``;
3. signs in as learner1@peerlearn.local through the login form on the web pool, reads the course pages'
   addresses from ``/courses/`` and fetches every page once on each web server (a warm-up, and a check that each
   answers 200);
4. unless ``--rps`` is given, measures the web pool's capacity: ``--capacity-connections`` keep-alive
   connections request the pages back to back (a closed loop) for ``--capacity-seconds``; the offered rate is
   half of the 2xx responses per second it completed (``http_capacity_rps``);
5. connects the two sockets of every room to the signaling pool (with two or more signaling processes a room's
   sockets sit on different ones), ``--connect-concurrency`` handshakes at a time;
6. for ``--seconds``, at the same time: every room sends ``--rate`` chat lines a second, alternating between its
   two clients (bench/signaling.py's senders), and page requests are offered at a fixed rate (an open loop):
   one every 1/rps seconds, round robin over the web servers and over ``/``, ``/courses/``, a course page and
   ``/dashboard/`` (signed in), each on an idle keep-alive connection or a new one, whether or not the earlier
   ones have been answered (at most ``--max-in-flight`` at once; one more is an error); then waits up to
   ``--grace`` seconds for the last lines and answers;
7. counts the sockets still open, closes them, stops the servers and drops the database (unless ``--keep-db``),
   also after an error or Ctrl-C.

Relay latency is from a chat line's send to the *other* client's receive (one process, one clock). A page's
latency is from the moment its request was due, so a server that falls behind is charged for the wait.
``sockets_held`` counts the sockets that connected and were still open at the end; ``socket_errors`` the
handshakes that failed, the sockets closed before the end and the error frames the server sent; ``lost`` the
chat lines the other client had not received by the end of the grace period. Any status but 2xx, a reset or a
timeout (``--timeout``) is an HTTP error; ``http_rps`` counts the 2xx responses per second of the run. The CPU
each pool used while sending is ``cpu_pct`` (per process, in % of one core).

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
    migrated_template,
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
ROLES = ("signaling", "web")
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
    offered: int = 0


def visit_order(course_paths: list[str]) -> list[Page]:
    """The pages in turn: landing, catalog, a course, dashboard; a different course each round."""
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
    """The course pages' paths from /courses/; every page fetched once on every web server, each must answer 200."""
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


async def measure_capacity(
    ports: list[int], rounds: list[list[tuple[str, bytes]]], *, connections: int, seconds: float, timeout: float
) -> float:
    """2xx responses per second the web pool completes with ``connections`` keep-alive connections asking back
    to back (a closed loop: the pool's throughput when nothing else limits it)."""
    done = 0
    end = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal done
        port_index = index % len(ports)
        conn, step = HttpConnection(HOST, ports[port_index]), index
        try:
            while time.perf_counter() < end:
                name, raw = rounds[port_index][step % len(rounds[port_index])]
                step += 1
                try:
                    async with asyncio.timeout(timeout):
                        response = await conn.request(raw)
                except HTTP_FAILURES:
                    await conn.close()
                    continue
                if 200 <= response.status < 300 and time.perf_counter() <= end:
                    done += 1
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    return done / (time.perf_counter() - started)


class OpenLoop:
    """Page requests offered at a fixed rate, each on an idle keep-alive connection to its server or a new one,
    whether or not the earlier ones have been answered."""

    def __init__(self, ports: list[int], rounds: list[list[tuple[str, bytes]]], browsing: Browsing, **limits):
        self.ports, self.rounds, self.browsing = ports, rounds, browsing
        self.timeout: float = limits["timeout"]
        self.max_in_flight: int = limits["max_in_flight"]
        self.idle: dict[int, list[HttpConnection]] = {port: [] for port in ports}
        self.in_flight = 0
        self.opened: list[HttpConnection] = []

    async def run(self, *, rps: float, start: float, end: float) -> None:
        tasks: set[asyncio.Task] = set()
        k = 0
        while (due := start + k / rps) < end:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            port_index = k % len(self.ports)
            name, raw = self.rounds[port_index][(k // len(self.ports)) % len(self.rounds[port_index])]
            k += 1
            self.browsing.offered += 1
            if self.in_flight >= self.max_in_flight:
                self.browsing.errors[f"{name}: over {self.max_in_flight} requests in flight"] += 1
                continue
            task = asyncio.create_task(self.one(self.ports[port_index], name, raw, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    async def one(self, port: int, name: str, raw: bytes, due: float) -> None:
        self.in_flight += 1
        idle = self.idle[port]
        conn = idle.pop() if idle else None
        if conn is None:
            conn = HttpConnection(HOST, port)
            self.opened.append(conn)
        try:
            async with asyncio.timeout(self.timeout):
                response = await conn.request(raw)
        except HTTP_FAILURES as exc:
            await conn.close()
            self.browsing.errors[f"{name}: {type(exc).__name__}"] += 1
            return
        finally:
            self.in_flight -= 1
        if 200 <= response.status < 300:
            self.browsing.latencies.setdefault(name, []).append(time.perf_counter() - due)
        else:
            self.browsing.errors[f"{name}: HTTP {response.status}"] += 1
        idle.append(conn)

    async def close(self) -> None:
        await asyncio.gather(*(conn.close() for conn in self.opened))


# --------------------------------------------------------------------------- the run
def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, list[float | None]]:
    return {role: [process_cpu_seconds(pid) for pid in role_pids] for role, role_pids in pids.items()}


def cpu_pct(before: dict, after: dict, wall: float) -> dict[str, list[int | None]]:
    return {
        role: [
            None if a is None or b is None else round(100 * (b - a) / wall)
            for a, b in zip(before[role], after[role], strict=True)
        ]
        for role in before
    }


async def run_clients(
    args: argparse.Namespace, rooms: list[Room], ports: dict[str, list[int]], pids: dict[str, list[int]]
) -> dict:
    password = os.environ.get("DEMO_PASSWORD") or "peerlearn-demo"  # what seed_demo used
    web, signaling = ports["web"], ports["signaling"]
    progress(f"signing in as {DEMO_LEARNER}")
    session_cookie = cookie_header(await login(web[0], DEMO_LEARNER, password))
    course_paths = await discover_and_warm(web, session_cookie, args.timeout)
    progress(f"{len(course_paths)} course pages; every page answered 200 on every web server")
    rounds = [requests_for(visit_order(course_paths), port, session_cookie) for port in web]

    capacity = None
    rps = args.rps
    if rps is None:
        progress(
            f"web pool capacity: {args.capacity_connections} connections back to back for {args.capacity_seconds:g}s"
        )
        capacity = await measure_capacity(
            web, rounds, connections=args.capacity_connections, seconds=args.capacity_seconds, timeout=args.timeout
        )
        if capacity <= 0:
            raise BenchError("the web pool answered no page while its capacity was measured")
        rps = capacity / 2
        progress(f"capacity {capacity:.1f} pages/s: offering half, {rps:.1f}/s")

    relay = Relay()
    # Room i's mentor on signaling server i and its learner on the next one: with two or more, every line
    # crosses processes.
    pairs = [
        [
            Client(room=i, side=0, port=signaling[i % len(signaling)], key=room.mentor_key, room_id=room.room_id),
            Client(
                room=i, side=1, port=signaling[(i + 1) % len(signaling)], key=room.learner_key, room_id=room.room_id
            ),
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
    loop = OpenLoop(web, rounds, browsing, timeout=args.timeout, max_in_flight=args.max_in_flight)
    progress(
        f"for {args.seconds:g}s: {len(live_pairs)} rooms send {args.rate:g} chat lines/s each; "
        f"pages offered at {rps:.1f}/s"
    )
    start = time.perf_counter() + 0.2
    end = start + args.seconds
    cpu_before, client_before = cpu_seconds(pids), time.process_time()
    try:
        await asyncio.gather(
            *(
                room_sender(i, pair, relay, start=start, end=end, period=1.0 / args.rate, rooms=len(pairs))
                for i, pair in live_pairs
            ),
            loop.run(rps=rps, start=start, end=end),
        )
        wall = time.perf_counter() - start
        cpu_after, client_after = cpu_seconds(pids), time.process_time()
        await wait_for_pending(relay, args.grace)
    finally:
        await loop.close()
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
        "rps": rps,
        "capacity": capacity,
        "connections_opened": len(loop.opened),
        "sockets": len(clients),
        "held": held,
        "socket_problems": refused + closed_early,
        "lost": lost,
        "start": start,
        "wall": wall,
        "connect_wall": connect_wall,
        "cpu_pct": cpu_pct(cpu_before, cpu_after, wall),
        "client_cpu_pct": round(100 * (client_after - client_before) / wall),
    }


def run(args: argparse.Namespace, logs: dict[str, list[Path]]) -> dict:
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
    setup_started = time.perf_counter()
    template = None if args.no_template else migrated_template(env, timeout=args.setup_timeout)
    with media, fresh_database(args.database_url, keep=args.keep_db, template=template) as database:
        if template is None:
            progress(f"database {database}: migrate")
            manage(["migrate", "--no-input"], env=env, timeout=args.setup_timeout)
        else:
            progress(f"database {database}: a copy of the migrated {template}")
        servers_wanted = [(role, log) for role in ROLES for log in logs[role]]
        progress(f"database {database}: seed_demo, {args.rooms} live rooms and {len(servers_wanted)} Daphne servers")
        with contextlib.ExitStack() as stack:
            # Each is a process importing the project, seconds of work; side by side they overlap.
            with ThreadPoolExecutor(2 + len(servers_wanted)) as pool:
                seeded = pool.submit(manage, ["seed_demo"], env=env, timeout=args.setup_timeout)
                made = pool.submit(make_rooms, args.rooms, env=env, timeout=args.setup_timeout)
                started = [
                    (
                        role,
                        pool.submit(
                            stack.enter_context, running_daphne(env={**env, "PROCESS_ROLE": role}, log_path=log)
                        ),
                    )
                    for role, log in servers_wanted
                ]
            servers = {role: [] for role in ROLES}
            for role, future in started:  # a server that did start is stopped by the stack
                servers[role].append(future.result())
            seeded.result()
            rooms = made.result()
            for role in ROLES:
                for server in servers[role]:
                    progress(
                        f"{role} Daphne on {server.url} (pid {server.proc.pid}, layer {args.layer}, log {server.log_path})"
                    )
            setup_s = time.perf_counter() - setup_started
            raw = asyncio.run(
                run_clients(
                    args,
                    rooms,
                    {role: [s.port for s in servers[role]] for role in ROLES},
                    {role: [s.proc.pid for s in servers[role]] for role in ROLES},
                )
            )
            dead = [s for role in ROLES for s in servers[role] if s.proc.poll() is not None]
            if dead:
                raise BenchError(f"Daphne on port {dead[0].port} exited with {dead[0].proc.returncode}")
        progress("stopped Daphne")
    progress(f"kept the database {database} (--keep-db)" if args.keep_db else f"dropped the database {database}")
    return summarise(args, {**raw, "setup_s": setup_s})


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
        "processes": {"signaling": args.signaling_processes, "web": args.web_processes},
        "layer": args.layer,
        "http_offered_rps": round(raw["rps"], 1),
        "http_capacity_rps": None if raw["capacity"] is None else round(raw["capacity"], 1),
        "sockets": raw["sockets"],
        "sockets_held": raw["held"],
        "socket_errors": socket_errors,
        "sent": relay.sent,
        "relayed": len(latencies),
        "lost": raw["lost"],
        "relay_p50_ms": ms(percentile(latencies, 50)),
        "relay_p95_ms": ms(percentile(latencies, 95)),
        "relay_p99_ms": relay_p99,
        "http_offered": browsing.offered,
        "http_requests": len(http_latencies),
        "http_rps": round(len(http_latencies) / raw["wall"], 1),
        "http_p50_ms": ms(percentile(http_latencies, 50)),
        "http_p99_ms": ms(percentile(http_latencies, 99)),
        "http_errors": http_errors,
        # Per process of each pool, in % of one core, while the rooms sent and the pages were offered.
        "cpu_pct": raw["cpu_pct"],
        "client_cpu_pct": raw["client_cpu_pct"],  # this process: every socket and every request
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
        "http_connections_opened": raw["connections_opened"],
        "connect_wall_s": round(raw["connect_wall"], 2),
        "setup_s": round(raw["setup_s"], 1),  # database, seed, rooms and servers, before the first request
        "load_average_1m": round(os.getloadavg()[0], 2),
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
    capacity = report["http_capacity_rps"]
    offered = f"{report['http_offered_rps']:g}/s" + (
        f" (half the web pool's measured {capacity:g}/s)" if capacity is not None else " (--rps)"
    )
    cpu = "; ".join(
        f"{role} pool {', '.join(num(v, '.0f') + '%' for v in values)}" for role, values in report["cpu_pct"].items()
    )
    processes = report["processes"]
    return "\n".join(
        [
            f"PeerLearn load: {report['rooms']} rooms x 2 sockets, {report['rate']:g} chat line/s per room, and pages "
            f"offered at {offered}, for {report['seconds']:g}s; {processes['signaling']} signaling + "
            f"{processes['web']} web Daphne processes, channel layer {report['layer']!r}",
            "",
            f"sockets      {report['sockets_held']} of {report['sockets']} held, {report['socket_errors']} errors"
            f"{kinds(report['socket_error_reasons'])}; connected in {report['connect_wall_s']:g}s",
            f"chat lines   {report['sent']} sent, {report['relayed']} relayed, {report['lost']} lost  (goal 0: {verdict('lost')})",
            f"relay        p50 {num(report['relay_p50_ms'])} ms, p95 {num(report['relay_p95_ms'])} ms, "
            f"p99 {num(report['relay_p99_ms'])} ms, max {num(report['relay_max_ms'])} ms  "
            f"(goal p99 < {GOAL_RELAY_P99_MS:g} ms: {verdict('relay_p99_ms')})",
            f"             p99 second by second: {' '.join(num(v, '.0f') for v in report['relay_p99_by_second_ms'])} ms",
            f"http         {report['http_requests']} of {report['http_offered']} offered answered, {report['http_rps']:g} req/s, "
            f"p50 {num(report['http_p50_ms'])} ms, p99 {num(report['http_p99_ms'])} ms (from when each was due), "
            f"{report['http_errors']} errors{kinds(report['http_error_kinds'])}",
            f"             {pages}",
            f"errors       {report['socket_errors'] + report['http_errors']}  (goal 0, every socket held: {verdict('errors')})",
            f"cpu          {cpu} of a core; this client {report['client_cpu_pct']}%; load average {report['load_average_1m']}",
        ]
    )


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Signaling rooms and page requests at once on a signaling pool and a web pool of Daphne processes, "
        "one Redis and one PostgreSQL.",
    )
    add_room_arguments(
        parser,
        seconds_help="how long rooms send and pages are offered (default 20)",
        timeout_help="seconds for a handshake and its welcome, or a request (default 30)",
    )
    parser.add_argument(
        "--rps",
        type=float,
        default=None,
        help="page requests offered per second, over the web pool (default: half its capacity, measured first)",
    )
    parser.add_argument(
        "--capacity-seconds", type=float, default=4.0, help="how long the capacity is measured (default 4)"
    )
    parser.add_argument(
        "--capacity-connections",
        type=int,
        default=8,
        help="keep-alive connections asking back to back while the capacity is measured (default 8)",
    )
    parser.add_argument(
        "--max-in-flight", type=int, default=200, help="page requests unanswered at once before one is an error"
    )
    parser.add_argument("--signaling-processes", type=int, default=1, help="PROCESS_ROLE=signaling servers (default 1)")
    parser.add_argument("--web-processes", type=int, default=1, help="PROCESS_ROLE=web servers (default 1)")
    parser.add_argument(
        "--no-template", action="store_true", help="migrate the run's database instead of copying a migrated template"
    )
    add_server_arguments(
        parser, setup_help="seconds allowed for migrate, seed_demo and making rooms", env_example="DB_POOL_MAX_SIZE=20"
    )
    args = parser.parse_args(argv)
    check_room_arguments(parser, args)
    if args.rps is not None and args.rps <= 0:
        parser.error("--rps must be positive")
    if args.capacity_seconds <= 0 or args.capacity_connections < 1 or args.max_in_flight < 1:
        parser.error("--capacity-seconds must be positive, --capacity-connections and --max-in-flight >= 1")
    if args.signaling_processes < 1 or args.web_processes < 1:
        parser.error("--signaling-processes and --web-processes must be >= 1")
    parse_server_env(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    count = {"signaling": args.signaling_processes, "web": args.web_processes}
    logs = {
        role: [ROOT / "var" / f"bench-load-{stamp}-{os.getpid()}-{role}{i}.log" for i in range(count[role])]
        for role in ROLES
    }
    return run_against_servers(
        args,
        lambda run_args, _all_logs: run(run_args, logs),
        [log for role in ROLES for log in logs[role]],
        problem=problem,
        render=render,
    )


if __name__ == "__main__":
    sys.exit(main())
