"""Call-room signaling under load: chat relay latency through Daphne and the Redis channel layer.

    .venv/bin/python -m bench.signaling --rooms 500 --rate 1            # a summary
    .venv/bin/python -m bench.signaling --rooms 500 --json              # exactly one JSON line on stdout
    .venv/bin/python -m bench.signaling --rooms 500 --processes 2 --layer pubsub --json

What one run does:

1. drops and creates a PostgreSQL database (``peerlearn_bench``; ``--database-url`` to change it) as a copy
   of a migrated template (see bench/load.py; ``--no-template`` runs ``manage.py migrate --no-input``
   instead) and makes ``--rooms`` + 1 live sessions, each with its own mentor and one booked learner,
   both signed in by a Django session written straight to the session store;
2. starts ``--processes`` Daphne servers (dev settings, DEBUG off, the ``--layer`` Redis channel layer
   under a channel prefix of its own), logging to ``var/bench-signaling-*.log``;
3. the floor: raw redis-py PUBLISH -> subscriber round trips on the same Redis, ``--floor-samples`` back to
   back (``floor_p50_ms``; ``ratio_idle`` = idle relay p50 / floor p50);
4. the idle relay: one room (its two sockets on different servers with ``--processes 2``), nothing else
   connected, ``--idle-messages`` chat lines sent one at a time, each after the previous one arrived and
   was echoed. The server's 40 messages/s per socket forbid back to back, and a machine that idles
   between messages wakes up slower on every hop, so a floor sample and a ping -> pong (Daphne and the
   consumer without the channel layer) are taken in the same rhythm, between the chat lines
   (``floor_paced_p50_ms``, ``ratio_idle_paced``: like against like);
5. connects the two sockets of every room (``--connect-concurrency`` handshakes at a time), then every room
   sends ``--rate`` chat lines a second for ``--seconds``, alternating between its two clients, the rooms'
   sends spread evenly over each interval; waits up to ``--grace`` seconds for the last ones;
6. stops the servers and drops the database (unless ``--keep-db``), also after an error or Ctrl-C.

A chat line's text carries its sequence number and the sender's ``perf_counter`` (every client lives in
this one process, so there is one clock). Relay latency is from the send to the *other* client's receive;
the echo to the sender is ignored. ``refused`` counts sockets whose handshake failed or that were closed
before the end, ``lost`` the chat lines the other client had not received by the end of the grace period.
``rss_per_socket_kib`` is the servers' VmRSS growth from connecting the sockets, per connected socket.

Progress and problems go to stderr. The exit status is 1 when a socket was refused or a line was lost,
2 when the benchmark could not run; missing a latency goal does not change it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import secrets
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

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
    process_rss_kib,
    run_against_servers,
    running_daphne,
)
from tests.servers import ROOT

# The issue's goals at 500 rooms and 1 message/s per room.
GOAL_RELAY_P99_MS = 50.0
GOAL_RATIO_IDLE = 10.0
IDLE_WARMUP_MESSAGES = 20  # sent before the idle measurement, not counted: first-use costs
# The room page pings every ``heartbeat`` seconds of the welcome (this when there is none).
DEFAULT_HEARTBEAT = 10.0
KEEPALIVE_PING = json.dumps({"type": "ping", "t": -1})
# Between the steps of the idle measurement (floor sample, chat line, ping): each socket then sends
# a chat line and a ping every 6 * IDLE_PAUSE, about 30 messages/s, under the server's 40/s.
IDLE_PAUSE = 0.01


# --------------------------------------------------------------------------- clients
@dataclass(eq=False)
class Client:
    room: int  # index into the run's rooms
    side: int  # 0 = mentor, 1 = learner
    port: int
    key: str  # the Django session key
    room_id: str
    ws: ClientConnection | None = None
    peer_id: str = ""
    reader: asyncio.Task | None = None
    keepalive: asyncio.Task | None = None
    connect_s: float | None = None
    failure: str | None = None  # why the handshake failed
    closed_early: str | None = None  # how the socket ended before we closed it
    closing: bool = False


@dataclass
class Relay:
    """Chat lines in flight and the latencies of those that arrived."""

    pending: dict[tuple[int, int, int], float] = field(default_factory=dict)  # (room, sender side, seq) -> sent at
    latencies: list[float] = field(default_factory=list)
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (sent at, latency)
    sent: int = 0
    late_or_unknown: int = 0
    echo_waiters: dict[tuple[int, int, int], asyncio.Future] = field(default_factory=dict)
    arrival_waiters: dict[tuple[int, int, int], asyncio.Future] = field(default_factory=dict)
    pong_waiters: dict[int, asyncio.Future] = field(default_factory=dict)
    server_errors: Counter = field(default_factory=Counter)  # error frames by code

    def text(self, client: Client, seq: int) -> tuple[str, float]:
        sent_at = time.perf_counter()
        return f"{client.room} {client.side} {seq} {sent_at:.9f}", sent_at

    def received(self, client: Client, message: dict, at: float) -> None:
        try:
            room, side, seq, sent_at = message["text"].split(" ")
            key = (int(room), int(side), int(seq))
        except (KeyError, ValueError):
            self.late_or_unknown += 1
            return
        if message.get("from") == client.peer_id:  # the echo to the sender
            waiter = self.echo_waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(at)
            return
        if self.pending.pop(key, None) is None:
            self.late_or_unknown += 1
            return
        self.latencies.append(at - float(sent_at))
        self.timeline.append((float(sent_at), at - float(sent_at)))
        waiter = self.arrival_waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(at)


def socket_url(client: Client) -> str:
    # ?client= is the per-page-load identity the room page sends; the server may use it for reconnects.
    return f"ws://{HOST}:{client.port}/ws/session/{client.room_id}/?client={secrets.token_hex(8)}"


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, InvalidStatus):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, ConnectionClosed):
        return f"closed {exc.rcvd.code if exc.rcvd else 'without a close frame'} before the welcome"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__


async def open_client(client: Client, relay: Relay, *, timeout: float) -> bool:
    """Handshake and wait for the welcome; records the failure reason instead of raising."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            client.ws = await connect(
                socket_url(client),
                origin=f"http://{HOST}:{client.port}",
                additional_headers={"Cookie": f"sessionid={client.key}"},
                open_timeout=None,  # the asyncio.timeout above covers handshake and welcome
                ping_interval=None,  # browsers do not ping; Daphne pings idle sockets itself
                close_timeout=5,
                max_queue=None,
            )
            first = json.loads(await client.ws.recv())
    except (OSError, WebSocketException, TimeoutError, ValueError) as exc:
        client.failure = failure_reason(exc)
        if client.ws is not None:
            with contextlib.suppress(Exception):
                await client.ws.close()
        return False
    if first.get("type") != "welcome":
        client.failure = f"first message {first.get('type')!r}, not welcome"
        await client.ws.close()
        return False
    client.connect_s = time.perf_counter() - started
    client.peer_id = first["you"]["id"]
    client.reader = asyncio.create_task(read_forever(client, relay))
    # Like the room page: a ping every heartbeat, or the server closes a socket it has not heard from.
    heartbeat = first.get("heartbeat") if isinstance(first.get("heartbeat"), int | float) else DEFAULT_HEARTBEAT
    client.keepalive = asyncio.create_task(keep_alive(client, heartbeat))
    return True


async def keep_alive(client: Client, every: float) -> None:
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.sleep(every)
            await client.ws.send(KEEPALIVE_PING)


async def read_forever(client: Client, relay: Relay) -> None:
    ws = client.ws
    try:
        async for raw in ws:
            at = time.perf_counter()
            message = json.loads(raw)
            if message.get("type") == "chat":
                relay.received(client, message, at)
            elif message.get("type") == "pong":
                waiter = relay.pong_waiters.pop(message.get("t"), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(at)
            elif message.get("type") == "error":
                relay.server_errors[str(message.get("code"))] += 1
                if sum(relay.server_errors.values()) <= 5:
                    progress(
                        f"room {client.room} side {client.side}: error {message.get('code')}: {message.get('message')}"
                    )
    except ConnectionClosed:
        pass
    if not client.closing:
        code = ws.close_code
        client.closed_early = f"closed by the server ({code})" if code is not None else "connection lost"


async def close_client(client: Client) -> None:
    client.closing = True
    if client.keepalive is not None:
        client.keepalive.cancel()
    if client.ws is not None:
        with contextlib.suppress(Exception):
            await client.ws.close()
    if client.reader is not None:
        with contextlib.suppress(Exception):
            await client.reader


async def send_chat(client: Client, relay: Relay, seq: int) -> tuple[int, int, int] | None:
    if client.ws is None or client.closed_early:
        return None
    text, sent_at = relay.text(client, seq)
    key = (client.room, client.side, seq)
    relay.pending[key] = sent_at
    try:
        await client.ws.send(json.dumps({"type": "chat", "text": text}))
    except ConnectionClosed:
        relay.pending.pop(key, None)
        return None
    relay.sent += 1
    return key


# --------------------------------------------------------------------------- phases
class RedisFloor:
    """PUBLISH -> subscriber round trips with redis-py's asyncio client, the one channels-redis uses."""

    def __init__(self, redis_url: str):
        self.channel = f"{CHANNEL_LAYER_PREFIX}-floor-{uuid.uuid4().hex}"
        self.publisher = aioredis.Redis.from_url(redis_url)
        self.subscriber = aioredis.Redis.from_url(redis_url)
        self.pubsub = self.subscriber.pubsub(ignore_subscribe_messages=True)
        self.waiting: list[asyncio.Future] = []
        self.listener: asyncio.Task | None = None

    async def __aenter__(self) -> RedisFloor:
        try:
            await self.pubsub.subscribe(self.channel)
        except (OSError, aioredis.RedisError) as exc:
            raise BenchError(f"cannot subscribe on Redis for the floor: {exc!r}") from exc
        self.listener = asyncio.create_task(self._listen())
        for _ in range(50):  # warm up the connections and code paths
            await self.sample()
        return self

    async def _listen(self) -> None:
        async for message in self.pubsub.listen():
            at = time.perf_counter()
            if message.get("type") == "message" and self.waiting:
                self.waiting.pop(0).set_result(at)

    async def sample(self) -> float:
        arrived = asyncio.get_running_loop().create_future()
        self.waiting.append(arrived)
        started = time.perf_counter()
        try:
            await self.publisher.publish(self.channel, b"x")
            return await asyncio.wait_for(arrived, 5) - started
        except (OSError, aioredis.RedisError, TimeoutError) as exc:
            raise BenchError(f"the Redis floor measurement failed: {exc!r}") from exc

    async def __aexit__(self, *exc_info: object) -> None:
        if self.listener is not None:
            self.listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.listener
        with contextlib.suppress(Exception):
            await self.pubsub.unsubscribe(self.channel)
            await self.pubsub.aclose()
        await self.publisher.aclose()
        await self.subscriber.aclose()


async def measure_idle(
    room: Room, ports: list[int], floor: RedisFloor, messages: int, timeout: float
) -> dict[str, list[float]]:
    """One room alone: each chat line is sent once the previous one reached the other side and echoed.

    The server allows a socket 40 messages a second, so the lines cannot go back to back; between steps
    the client pauses IDLE_PAUSE. A pause lets the machine go idle, and waking up costs every hop (here a
    Redis round trip takes ~4x longer after 30 ms of quiet than back to back), so a Redis floor sample is
    taken in the same rhythm, between the chat lines, to compare like with like. So is a ping -> pong
    of the same socket, which crosses Daphne and the consumer but not the channel layer.
    """
    relay = Relay()
    clients = [
        Client(room=-1, side=0, port=ports[0], key=room.mentor_key, room_id=room.room_id),
        Client(room=-1, side=1, port=ports[-1], key=room.learner_key, room_id=room.room_id),
    ]
    out: dict[str, list[float]] = {"relay": [], "ping": [], "floor": []}
    try:
        for client in clients:
            if not await open_client(client, relay, timeout=timeout):
                raise BenchError(
                    f"the idle room's {('mentor', 'learner')[client.side]} socket was refused: {client.failure}"
                )
        loop = asyncio.get_running_loop()
        for seq in range(IDLE_WARMUP_MESSAGES + messages):
            counted = seq >= IDLE_WARMUP_MESSAGES
            floor_sample = await floor.sample()
            await asyncio.sleep(IDLE_PAUSE)

            sender = clients[seq % 2]
            key = (sender.room, sender.side, seq)
            arrived, echoed = loop.create_future(), loop.create_future()
            relay.arrival_waiters[key], relay.echo_waiters[key] = arrived, echoed
            if await send_chat(sender, relay, seq) is None:
                raise BenchError(f"the idle room's socket closed: {sender.closed_early}")
            try:
                await asyncio.wait_for(asyncio.gather(arrived, echoed), timeout)
            except TimeoutError as exc:
                raise BenchError(f"an idle chat line took longer than {timeout:g}s to come back") from exc
            relay_sample = relay.latencies[-1]
            await asyncio.sleep(IDLE_PAUSE)

            pong = relay.pong_waiters[seq] = loop.create_future()
            started = time.perf_counter()
            await sender.ws.send(json.dumps({"type": "ping", "t": seq}))
            try:
                ping_sample = await asyncio.wait_for(pong, timeout) - started
            except TimeoutError as exc:
                raise BenchError(f"a pong took longer than {timeout:g}s") from exc
            await asyncio.sleep(IDLE_PAUSE)
            if counted:
                out["relay"].append(relay_sample)
                out["ping"].append(ping_sample)
                out["floor"].append(floor_sample)
        return out
    finally:
        await asyncio.gather(*(close_client(c) for c in clients))


def servers_rss_kib(pids: list[int]) -> int | None:
    values = [process_rss_kib(pid) for pid in pids]
    return None if None in values else sum(values)


async def room_sender(
    index: int, pair: list[Client], relay: Relay, *, start: float, end: float, period: float, rooms: int
) -> None:
    """Send this room's lines on its own phase of the interval, alternating sides."""
    due = start + period * index / rooms
    seq = 0
    while due < end:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await send_chat(pair[seq % 2], relay, seq)
        seq += 1
        due += period


async def wait_for_pending(relay: Relay, grace: float) -> None:
    deadline = time.perf_counter() + grace
    while relay.pending and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)


async def run_clients(args: argparse.Namespace, rooms: list[Room], ports: list[int], pids: list[int]) -> dict:
    async with RedisFloor(args.redis_url) as floor:
        progress(f"floor: {args.floor_samples} PUBLISH -> subscriber round trips on {args.redis_url}, back to back")
        floor_burst = sorted([await floor.sample() for _ in range(args.floor_samples)])
        progress(
            f"idle relay: one room, {args.idle_messages} chat lines one at a time, "
            f"each with a floor sample and a ping, {IDLE_PAUSE * 1000:g} ms apart"
        )
        idle = {
            k: sorted(v)
            for k, v in (await measure_idle(rooms[0], ports, floor, args.idle_messages, args.timeout)).items()
        }
    await asyncio.sleep(1.0)  # let the idle room's departure settle before the memory baseline

    load_rooms = rooms[1:]
    relay = Relay()
    pairs = [
        [
            Client(room=i, side=0, port=ports[0], key=room.mentor_key, room_id=room.room_id),
            Client(room=i, side=1, port=ports[-1], key=room.learner_key, room_id=room.room_id),
        ]
        for i, room in enumerate(load_rooms)
    ]
    clients = [client for pair in pairs for client in pair]
    rss_before = servers_rss_kib(pids)
    progress(f"connecting {len(clients)} sockets, {args.connect_concurrency} handshakes at a time")
    gate = asyncio.Semaphore(args.connect_concurrency)

    async def gated(client: Client) -> None:
        async with gate:
            await open_client(client, relay, timeout=args.timeout)

    connect_started = time.perf_counter()
    await asyncio.gather(*(gated(c) for c in clients))
    connect_wall = time.perf_counter() - connect_started
    connected = [c for c in clients if c.ws is not None and c.failure is None]
    await asyncio.sleep(1.0)  # peer-joined announcements and first group refreshes
    rss_after = servers_rss_kib(pids)
    progress(f"{len(connected)} of {len(clients)} sockets connected in {connect_wall:.1f}s")

    period = 1.0 / args.rate
    live_pairs = [(i, pair) for i, pair in enumerate(pairs) if all(c.failure is None for c in pair)]
    progress(f"{len(live_pairs)} rooms send {args.rate:g} chat lines/s each for {args.seconds:g}s")
    start = time.perf_counter() + 0.2
    end = start + args.seconds
    cpu_before = [process_cpu_seconds(pid) for pid in pids], time.process_time()
    await asyncio.gather(
        *(room_sender(i, pair, relay, start=start, end=end, period=period, rooms=len(pairs)) for i, pair in live_pairs)
    )
    send_wall = time.perf_counter() - start
    cpu_after = [process_cpu_seconds(pid) for pid in pids], time.process_time()
    server_cpu = [
        None if a is None or b is None else round(100 * (b - a) / send_wall)
        for a, b in zip(cpu_before[0], cpu_after[0], strict=True)
    ]
    client_cpu = round(100 * (cpu_after[1] - cpu_before[1]) / send_wall)
    await wait_for_pending(relay, args.grace)
    await asyncio.sleep(0.2)  # a socket the server closes at the very end is still "before the end"
    refused = Counter(c.failure for c in clients if c.failure)
    closed_early = Counter(c.closed_early for c in clients if c.closed_early)
    lost = len(relay.pending)
    progress("closing the sockets")
    await asyncio.gather(*(close_client(c) for c in clients))

    latencies = sorted(relay.latencies)
    by_second: dict[int, list[float]] = {}
    for sent_at, latency in relay.timeline:
        by_second.setdefault(int(sent_at - start), []).append(latency)
    connects = sorted(c.connect_s for c in connected)
    sockets_connected = len(connected)
    return {
        "floor": floor_burst,
        "floor_paced": idle["floor"],
        "idle": idle["relay"],
        "pings": idle["ping"],
        "latencies": latencies,
        "p99_by_second": [percentile(sorted(by_second.get(i, [])), 99) for i in range(math.ceil(args.seconds))],
        "sent": relay.sent,
        "lost": lost,
        "sockets": len(clients),
        "connected": sockets_connected,
        "refused": sum(refused.values()) + sum(closed_early.values()),
        "refused_reasons": {**{f"handshake: {k}": v for k, v in refused.items()}, **closed_early},
        "connect_wall_s": connect_wall,
        "connects": connects,
        "rss_before": rss_before,
        "rss_after": rss_after,
        "unexpected": relay.late_or_unknown,
        "server_cpu_pct": server_cpu,
        "server_errors": dict(relay.server_errors),
        "client_cpu_pct": client_cpu,
    }


# --------------------------------------------------------------------------- report
def ms(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value * 1000, digits)


def summarise(args: argparse.Namespace, raw: dict) -> dict:
    floor_p50 = ms(percentile(raw["floor"], 50), 3)
    floor_paced_p50 = ms(percentile(raw["floor_paced"], 50), 3)
    idle_p50 = ms(percentile(raw["idle"], 50), 3)
    rss = None
    if raw["rss_before"] is not None and raw["rss_after"] is not None and raw["connected"]:
        rss = round((raw["rss_after"] - raw["rss_before"]) / raw["connected"], 1)
    return {
        "rooms": args.rooms,
        "rate": int(args.rate) if args.rate.is_integer() else args.rate,
        "sockets": raw["sockets"],
        "refused": raw["refused"],
        "relay_p50_ms": ms(percentile(raw["latencies"], 50)),
        "relay_p99_ms": ms(percentile(raw["latencies"], 99)),
        "idle_relay_p50_ms": idle_p50,
        "floor_p50_ms": floor_p50,
        "ratio_idle": round(idle_p50 / floor_p50, 1) if idle_p50 and floor_p50 else None,
        "sent": raw["sent"],
        "lost": raw["lost"],
        "rss_per_socket_kib": rss,
        "layer": args.layer,
        "processes": args.processes,
        # Diagnostics beyond the issue's keys.
        "seconds": args.seconds,
        "relay_max_ms": ms(raw["latencies"][-1] if raw["latencies"] else None),
        "idle_ping_p50_ms": ms(percentile(raw["pings"], 50), 3),
        "relay_p99_by_second_ms": [ms(v, 1) for v in raw["p99_by_second"]],
        "server_cpu_pct": raw["server_cpu_pct"],  # per Daphne process, in % of one core, while sending
        "client_cpu_pct": raw["client_cpu_pct"],
        "floor_paced_p50_ms": floor_paced_p50,
        "ratio_idle_paced": round(idle_p50 / floor_paced_p50, 1) if idle_p50 and floor_paced_p50 else None,
        "refused_reasons": raw["refused_reasons"],
        "server_errors": raw["server_errors"],
        "connect_p50_ms": ms(percentile(raw["connects"], 50)),
        "connect_p99_ms": ms(percentile(raw["connects"], 99)),
        "connect_wall_s": round(raw["connect_wall_s"], 2),
    }


def render(report: dict) -> str:
    def num(value, spec: str = ".2f") -> str:
        return "-" if value is None else format(value, spec)

    p99_ok = report["relay_p99_ms"] is not None and report["relay_p99_ms"] < GOAL_RELAY_P99_MS
    ratio_ok = report["ratio_idle"] is not None and report["ratio_idle"] <= GOAL_RATIO_IDLE
    lines = [
        f"PeerLearn signaling: {report['rooms']} rooms x 2 sockets, {report['rate']:g} chat line/s per room for "
        f"{report['seconds']:g}s; {report['processes']} Daphne process(es), channel layer {report['layer']!r}",
        "",
        f"sockets          {report['sockets']} ({report['refused']} refused"
        + (
            f": {', '.join(f'{k} x{v}' for k, v in report['refused_reasons'].items())}"
            if report["refused_reasons"]
            else ""
        )
        + ")",
        f"handshake        p50 {num(report['connect_p50_ms'])} ms, p99 {num(report['connect_p99_ms'])} ms, "
        f"all in {report['connect_wall_s']:g}s",
        f"relay under load p50 {num(report['relay_p50_ms'])} ms, p99 {num(report['relay_p99_ms'])} ms, "
        f"max {num(report['relay_max_ms'])} ms  (goal p99 < {GOAL_RELAY_P99_MS:g} ms: {'met' if p99_ok else 'MISSED'})",
        f"p99 per second   {' '.join(num(v, '.0f') for v in report['relay_p99_by_second_ms'])} ms",
        f"chat lines       {report['sent']} sent, {report['lost']} lost  (goal 0: {'met' if report['lost'] == 0 else 'MISSED'})",
        f"idle relay       p50 {num(report['idle_relay_p50_ms'], '.3f')} ms; Redis floor p50 "
        f"{num(report['floor_p50_ms'], '.3f')} ms back to back; ratio {num(report['ratio_idle'], '.1f')}  "
        f"(goal <= {GOAL_RATIO_IDLE:g}: {'met' if ratio_ok else 'MISSED'})",
        f"                 Redis floor p50 {num(report['floor_paced_p50_ms'], '.3f')} ms in the idle relay's rhythm; "
        f"ratio {num(report['ratio_idle_paced'], '.1f')}",
        f"idle ping->pong  p50 {num(report['idle_ping_p50_ms'], '.3f')} ms (Daphne and the consumer, no channel layer)",
        f"server memory    {num(report['rss_per_socket_kib'], '.1f')} KiB RSS per socket",
        f"cpu while sending Daphne {', '.join(num(v, '.0f') + '%' for v in report['server_cpu_pct'])} of a core; "
        f"this client {report['client_cpu_pct']}%",
    ]
    if report["server_errors"]:
        lines.append(f"error frames     {', '.join(f'{k} x{v}' for k, v in report['server_errors'].items())}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Chat relay latency of the call-room WebSocket with many rooms, on real Daphne servers and Redis.",
    )
    add_room_arguments(
        parser,
        seconds_help="how long the rooms send (default 20)",
        timeout_help="seconds for a handshake and its welcome (default 30)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        choices=(1, 2),
        default=1,
        help="Daphne processes; with 2 the two sockets of a room are on different ones (default 1)",
    )
    parser.add_argument(
        "--floor-samples", type=int, default=2000, help="Redis round trips for the floor (default 2000)"
    )
    parser.add_argument("--idle-messages", type=int, default=300, help="chat lines for the idle relay (default 300)")
    parser.add_argument(
        "--no-template", action="store_true", help="migrate the run's database instead of copying a migrated template"
    )
    add_server_arguments(
        parser, setup_help="seconds allowed for migrate and for making rooms", env_example="DB_POOL_MAX_SIZE=20"
    )
    args = parser.parse_args(argv)
    check_room_arguments(parser, args)
    if args.floor_samples < 1 or args.idle_messages < 1:
        parser.error("--floor-samples and --idle-messages must be >= 1")
    parse_server_env(parser, args)
    return args


def run(args: argparse.Namespace, logs: list[Path]) -> dict:
    check_socket_limit(args.rooms)
    prefix = f"{CHANNEL_LAYER_PREFIX}-{uuid.uuid4().hex[:8]}"  # no group left over from an earlier run
    env = app_env(
        database_url=args.database_url,
        redis_url=args.redis_url,
        extra={"CHANNEL_LAYER": args.layer, "CHANNEL_LAYER_PREFIX": prefix, **args.server_env},
    )
    template = None if args.no_template else migrated_template(env, timeout=args.setup_timeout)
    with fresh_database(args.database_url, keep=args.keep_db, template=template) as database:
        if template is None:
            progress(f"database {database}: migrate")
            manage(["migrate", "--no-input"], env=env, timeout=args.setup_timeout)
        else:
            progress(f"database {database}: a copy of the migrated {template}")
        progress(f"database {database}: {args.rooms + 1} live rooms")
        rooms = make_rooms(args.rooms + 1, env=env, timeout=args.setup_timeout)
        with contextlib.ExitStack() as stack:
            servers = [stack.enter_context(running_daphne(env=env, log_path=log)) for log in logs]
            for server in servers:
                progress(f"Daphne on {server.url} (pid {server.proc.pid}, layer {args.layer}, log {server.log_path})")
            ports = [s.port for s in servers]
            pids = [s.proc.pid for s in servers]
            raw = asyncio.run(run_clients(args, rooms, ports, pids))
            dead = [s for s in servers if s.proc.poll() is not None]
            if dead:
                raise BenchError(f"Daphne on port {dead[0].port} exited with {dead[0].proc.returncode}")
        progress("stopped Daphne")
    progress(f"kept the database {database} (--keep-db)" if args.keep_db else f"dropped the database {database}")
    return summarise(args, raw)


def problem(report: dict) -> str | None:
    return "sockets were refused or lines lost" if report["refused"] or report["lost"] else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = [ROOT / "var" / f"bench-signaling-{stamp}-{i}.log" for i in range(args.processes)]
    return run_against_servers(args, run, logs, problem=problem, render=render)


if __name__ == "__main__":
    sys.exit(main())
