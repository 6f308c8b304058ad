"""What the benchmarks share: a throwaway PostgreSQL database, a Daphne server with the benchmark
environment, a small HTTP/1.1 keep-alive client on asyncio streams and the demo login.

Nothing here imports Django: the application only runs in the child processes (``manage.py``, Daphne,
and the ``python -c`` child of :func:`make_rooms`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from tests.servers import ROOT, DaphneProcess, wait_for_port

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/peerlearn_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Per checkout (the suite's reduced runs name it through PEERLEARN_CHECKOUT), so benches of two
# checkouts on one Redis never read each other's messages.
CHANNEL_LAYER_PREFIX = f"peerlearn-bench-{os.environ.get('PEERLEARN_CHECKOUT', 'local')}"
DEMO_LEARNER = "learner1@peerlearn.local"
HOST = "127.0.0.1"


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


_ACCESS_LINE = re.compile(r'^\S+ - - \[[^\]]*\] "')


def without_access_lines(log: str, lines: int = 120) -> str:
    """The end of a Daphne log without its access-log lines: tracebacks and warnings."""
    return tail("\n".join(line for line in log.splitlines() if not _ACCESS_LINE.match(line)), lines)


def server_logs_end(logs: list[Path], lines: int = 40) -> str:
    """The end of each server's log, access lines left out (visitors fill it with them)."""
    return "\n".join(
        f"--- {log}\n{without_access_lines(log.read_text('utf-8', 'replace'), lines) or '(empty)'}"
        for log in logs
        if log.exists()
    )


# --------------------------------------------------------------------------- running a benchmark
def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: the servers stop, the database is dropped


def stop_on_signals() -> None:
    """SIGTERM unwinds like Ctrl-C, and Ctrl-C works even when started with SIGINT ignored (`cmd &`)."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run_against_servers(
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace, list[Path]], dict],
    logs: list[Path],
    *,
    problem: Callable[[dict], str | None],
    render: Callable[[dict], str],
) -> int:
    """Run a benchmark whose servers write ``logs``: 0 done, 1 done with ``problem(report)`` (the
    servers' logs are shown), 2 could not run, 130 interrupted. Prints the report (JSON with --json)."""
    stop_on_signals()
    try:
        report = run(args, logs)
    except BenchError as exc:
        progress(f"cannot benchmark: {exc}")
        if any(log.exists() for log in logs):
            progress(f"the end of the servers' logs:\n{server_logs_end(logs)}")
        return 2
    except KeyboardInterrupt:
        progress("interrupted; the servers are stopped" + ("" if args.keep_db else " and the database dropped"))
        return 130
    trouble = problem(report)
    if trouble:
        progress(f"{trouble}; the end of the servers' logs:\n{server_logs_end(logs)}")
    print(json.dumps(report) if args.json else render(report), flush=True)
    return 1 if trouble else 0


# --------------------------------------------------------------------------- database
def database_name(url: str) -> str:
    name = conninfo_to_dict(url).get("dbname")
    if not name:
        raise BenchError(f"the database URL names no database: {url!r}")
    return name


def _maintenance(url: str) -> psycopg.Connection:
    return psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=10)


def database_drop(url: str) -> None:
    name = database_name(url)
    with _maintenance(url) as conn:
        force = " WITH (FORCE)" if conn.info.server_version >= 130000 else ""
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}" + force).format(sql.Identifier(name)))


@contextlib.contextmanager
def fresh_database(url: str, *, keep: bool = False) -> Iterator[str]:
    """Drop and create the database ``url`` names; drop it again on the way out unless ``keep``.

    Only databases whose name contains ``bench`` are touched, so a mistyped URL cannot wipe real data.
    An advisory lock held for the whole run makes a second run on the same database fail at once
    instead of dropping the database under the first (and two runs would skew each other's numbers).
    """
    name = database_name(url)
    if "bench" not in name:
        raise BenchError(f"refusing to drop and recreate {name!r}: the benchmark database's name must contain 'bench'")
    try:
        lock = _maintenance(url)
    except psycopg.Error as exc:
        raise BenchError(f"cannot reach PostgreSQL: {exc}") from exc
    with lock:
        if not lock.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [f"peerlearn-bench:{name}"]).fetchone()[0]:
            raise BenchError(f"another benchmark run is using the database {name!r}; let it finish first")
        try:
            database_drop(url)
            lock.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise BenchError(f"cannot create the database {name!r}: {exc}") from exc
        try:
            yield name
        finally:
            if not keep:
                try:
                    database_drop(url)
                except psycopg.Error as exc:
                    print(f"[bench] could not drop the database {name!r}: {exc}", file=sys.stderr)


# --------------------------------------------------------------------------- application processes
def app_env(*, database_url: str, redis_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of ``manage.py`` and Daphne: dev settings with DEBUG off and /bench/trivial/ on."""
    return {
        "DJANGO_ENV": "dev",
        "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
        "DEBUG": "false",
        "BENCHMARK_ENDPOINTS": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CHANNEL_LAYER_PREFIX": CHANNEL_LAYER_PREFIX,
        # The test servers' DaphneProcess turns the page cache off (tests reset the database under
        # it); a benchmark measures the site as it is served, with the settings' default.
        "PAGE_CACHE_SECONDS": "300",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONDONTWRITEBYTECODE": "1",
        **(extra or {}),
    }


def manage(args: list[str], *, env: dict[str, str], timeout: float) -> str:
    """Run ``manage.py ARGS`` in a child process; its output, or BenchError with the end of it."""
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    command = ["manage.py", *args]
    try:
        proc = subprocess.run(
            [sys.executable, *command],
            cwd=ROOT,
            env={**inherited, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{' '.join(command)} took longer than {timeout:.0f}s") from exc
    if proc.returncode:
        raise BenchError(
            f"{' '.join(command)} failed with exit code {proc.returncode}:\n{tail(proc.stdout + proc.stderr)}"
        )
    return proc.stdout


@contextlib.contextmanager
def running_daphne(*, env: dict[str, str], log_path: Path, startup_timeout: float = 60.0) -> Iterator[DaphneProcess]:
    """``daphne -b 127.0.0.1 -p PORT portal.asgi:application`` with ``env``; stopped on the way out."""
    server = DaphneProcess(env=env, log_path=log_path)
    try:
        try:
            server.start()
        except TimeoutError:  # tests.servers waits 20 s; a busy machine may need longer to import everything
            wait_for_port(server.port, timeout=startup_timeout, proc=server.proc)
        except RuntimeError as exc:
            raise BenchError(f"Daphne did not start: {exc}\n{tail(server.log_text())}") from exc
        yield server
    finally:
        server.stop()


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads), from /proc; None where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- HTTP/1.1 client
# What a request can fail with: a refused or reset connection, a cut-off or garbled response, a timeout.
HTTP_FAILURES = (OSError, EOFError, asyncio.LimitOverrunError, ValueError, TimeoutError)


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]]  # names in lower case, in the order received
    body: bytes
    keep_alive: bool

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def cookies(self) -> dict[str, str]:
        """name -> value of every Set-Cookie (an empty value means the cookie was deleted)."""
        jar = {}
        for key, value in self.headers:
            if key == "set-cookie":
                name, _, rest = value.partition("=")
                jar[name.strip()] = rest.split(";", 1)[0].strip().strip('"')
        return jar


def build_request(
    method: str, path: str, *, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """The bytes of one request; built once and sent many times."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: peerlearn-bench", "Accept: */*"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields, if any
                pass
            return b"".join(chunks)
        chunks.append((await reader.readexactly(size + 2))[:-2])


async def read_response(reader: asyncio.StreamReader, *, head: bool = False) -> Response:
    """One response: status line, headers, then a body framed by Content-Length, chunks or EOF."""
    while True:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        status = int(rest[:3])
        if status >= 200 or status == 101:
            break  # 1xx interim responses (100 Continue) are skipped
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    fields = dict(headers)
    connection = fields.get("connection", "").lower()
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    if head or status in (204, 304) or status < 200:
        body = b""
    elif "chunked" in fields.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
    else:
        body, keep_alive = await reader.read(), False  # delimited by the end of the connection
    return Response(status, headers, body, keep_alive)


class HttpConnection:
    """One keep-alive connection; (re)connects on demand and closes when the server asks to."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> Response:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(raw)
        await self.writer.drain()
        response = await read_response(self.reader, head=raw.startswith(b"HEAD "))
        if not response.keep_alive:
            await self.close()
        return response

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items() if value)


_CSRF_INPUT = re.compile(r"<input[^>]*\bname=[\"']csrfmiddlewaretoken[\"'][^>]*>")
_VALUE = re.compile(r"\bvalue=[\"']([^\"']*)[\"']")


async def login(port: int, email: str, password: str) -> dict[str, str]:
    """Sign in through the real allauth form; the cookies (``sessionid``, ``csrftoken``) of the session."""
    hostport = f"{HOST}:{port}"
    conn = HttpConnection(HOST, port)
    try:
        page = await conn.request(build_request("GET", "/accounts/login/", host=hostport))
        if page.status != 200:
            raise BenchError(f"GET /accounts/login/ answered {page.status}")
        cookies = {k: v for k, v in page.cookies().items() if v}
        tag = _CSRF_INPUT.search(page.body.decode("utf-8", "replace"))
        token = _VALUE.search(tag.group(0)) if tag else None
        if "csrftoken" not in cookies or token is None:
            raise BenchError("the login page has no csrftoken cookie or no csrfmiddlewaretoken field")
        form = urlencode({"csrfmiddlewaretoken": token.group(1), "login": email, "password": password}).encode()
        headers = {
            "Cookie": cookie_header(cookies),
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://{hostport}/accounts/login/",
        }
        answer = await conn.request(
            build_request("POST", "/accounts/login/", host=hostport, headers=headers, body=form)
        )
        cookies.update(answer.cookies())
        if answer.status not in (302, 303) or not cookies.get("sessionid"):
            raise BenchError(
                f"signing in as {email} failed: POST /accounts/login/ answered {answer.status} "
                f"(Location: {answer.header('location')}, cookies: {sorted(k for k, v in cookies.items() if v)})"
            )
        return {k: v for k, v in cookies.items() if v}
    finally:
        await conn.close()


# --------------------------------------------------------------------------- shared by the call benchmarks
_STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[bench {time.monotonic() - _STARTED:5.1f}s] {message}", file=sys.stderr, flush=True)


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def process_rss_kib(pid: int) -> int | None:
    """Resident memory of a process (VmRSS), from /proc; None where there is no /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_socket_limit(rooms: int) -> None:
    """Room for each side's sockets, Daphne's sockets and Redis/PostgreSQL connections, or BenchError."""
    limit = raise_open_file_limit(4 * rooms + 1024)
    if limit < 2 * rooms + 256:
        raise BenchError(f"the open-file limit is {limit}; {2 * rooms} sockets need more (ulimit -n)")


def raise_open_file_limit(wanted: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards ``wanted`` (children inherit it); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


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
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    code = "from bench._common import _make_rooms_in_django; _make_rooms_in_django()"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(count)],
            cwd=ROOT,
            env={**inherited, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"making {count} rooms took longer than {timeout:.0f}s") from exc
    if proc.returncode:
        raise BenchError(
            f"making {count} rooms failed with exit code {proc.returncode}:\n{tail(proc.stdout + proc.stderr)}"
        )
    try:
        rows = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError) as exc:
        raise BenchError(f"making rooms printed no JSON:\n{tail(proc.stdout + proc.stderr)}") from exc
    return [Room(**row) for row in rows]


def _make_rooms_in_django() -> None:
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

    from mentoring.demo import _book_directly
    from mentoring.models import LearnerProfile, MentorProfile
    from mentoring.tests.factories import make_session
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
            _book_directly(session, learner)
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


# --------------------------------------------------------------------------- command line
def add_server_arguments(parser, *, setup_help: str, env_example: str) -> None:
    """The options every benchmark that starts its own servers shares."""
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"database to drop, create and use; its name must contain 'bench' (default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help=f"default {DEFAULT_REDIS_URL}")
    parser.add_argument("--setup-timeout", type=float, default=600.0, help=setup_help)
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"extra environment for the servers, e.g. {env_example} (repeatable)",
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


def parse_server_env(parser, args) -> None:
    """Turn the repeated ``--server-env NAME=VALUE`` options into a dict, refusing malformed ones."""
    bad = [item for item in args.server_env if "=" not in item]
    if bad:
        parser.error(f"--server-env takes NAME=VALUE, got {bad[0]!r}")
    args.server_env = dict(item.split("=", 1) for item in args.server_env)
