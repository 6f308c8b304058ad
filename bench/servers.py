"""The benchmarks' servers: a throwaway PostgreSQL database, ``manage.py`` and Daphne with the
benchmark environment, what the processes use, and the options and exit codes every benchmark that
starts servers shares.

Nothing here imports Django: the application only runs in the child processes (``manage.py``, Daphne).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from bench.report import progress
from tests.servers import ROOT, DaphneProcess, wait_for_port

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/peerlearn_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Per checkout (the suite's reduced runs name it through PEERLEARN_CHECKOUT), so benches of two
# checkouts on one Redis never read each other's messages.
CHANNEL_LAYER_PREFIX = f"peerlearn-bench-{os.environ.get('PEERLEARN_CHECKOUT', 'local')}"
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


def with_database_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


# What decides a migrated database's contents: the migrations, the pinned packages (their migrations), the
# settings and the code that runs after every migrate (site records).
_TEMPLATE_INPUTS = (
    "*/migrations/*.py",
    "requirements.txt",
    "portal/settings/*.py",
    "portal/apps.py",
    "portal/sites.py",
)


def template_key() -> str:
    digest = hashlib.sha256()
    for path in sorted({path for pattern in _TEMPLATE_INPUTS for path in ROOT.glob(pattern)}):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def migrated_template_database(url: str, *, migrate: Callable[[str], object]) -> str:
    """The name of a template database holding what ``manage.py migrate`` makes of an empty database, for
    this checkout's migrations: ``peerlearn_bench_tpl_<hash of _TEMPLATE_INPUTS>`` on the server ``url``
    names, whichever database the run itself uses (the suite's reduced runs and the full-size ones share it). Made the first time (``migrate``
    is called with its URL) and kept, so later runs copy it in a second instead of migrating for a minute;
    a change to any input names a new one. Old ones are left for whoever may still use them: drop
    ``*_tpl_*`` databases by hand to reclaim their space."""
    name = f"peerlearn_bench_tpl_{template_key()}"
    exists = "SELECT 1 FROM pg_database WHERE datname = %s"
    try:
        lock = _maintenance(url)
    except psycopg.Error as exc:
        raise BenchError(f"cannot reach PostgreSQL: {exc}") from exc
    with lock:
        if lock.execute(exists, [name]).fetchone():
            return name
        # Two runs that both find none: the second waits for the first to finish it.
        lock.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"peerlearn-bench-template:{name}"])
        if lock.execute(exists, [name]).fetchone():
            return name
        building = f"{name}_new"[:63]
        try:
            lock.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(building)))
            lock.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
            migrate(with_database_name(url, building))
            # Renamed only once complete: a half-migrated template is never found. No connections: copying
            # a database fails while anyone is connected to it.
            lock.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(name))
            )
            lock.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(sql.Identifier(name))
            )
        except psycopg.Error as exc:
            raise BenchError(f"cannot make the template database {name!r}: {exc}") from exc
        finally:
            lock.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(building)))
    return name


def migrated_template(env: dict[str, str], *, timeout: float) -> str:
    """The name of a migrated template database for this checkout's migrations (made now if there is none)."""

    def migrate(url: str) -> None:
        progress(f"no migrated template for these migrations yet: migrating {database_name(url)}")
        manage(["migrate", "--no-input"], env={**env, "DATABASE_URL": url}, timeout=timeout)

    return migrated_template_database(env["DATABASE_URL"], migrate=migrate)


@contextlib.contextmanager
def fresh_database(url: str, *, keep: bool = False, template: str | None = None) -> Iterator[str]:
    """Drop and create the database ``url`` names (a copy of ``template`` when given); drop it again on the
    way out unless ``keep``.

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
            if template is None:
                lock.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            else:
                lock.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
                )
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


def python_child(args: list[str], *, env: dict[str, str], timeout: float, what: str) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` in the repository with ``env``; the finished process, or BenchError saying ``what``
    failed with the end of its output."""
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    try:
        proc = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env={**inherited, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what} took longer than {timeout:.0f}s") from exc
    if proc.returncode:
        raise BenchError(f"{what} failed with exit code {proc.returncode}:\n{tail(proc.stdout + proc.stderr)}")
    return proc


def manage(args: list[str], *, env: dict[str, str], timeout: float) -> str:
    """Run ``manage.py ARGS`` in a child process; its output, or BenchError with the end of it."""
    command = ["manage.py", *args]
    return python_child(command, env=env, timeout=timeout, what=" ".join(command)).stdout


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


def parse_server_env(parser, args) -> None:
    """Turn the repeated ``--server-env NAME=VALUE`` options into a dict, refusing malformed ones."""
    bad = [item for item in args.server_env if "=" not in item]
    if bad:
        parser.error(f"--server-env takes NAME=VALUE, got {bad[0]!r}")
    args.server_env = dict(item.split("=", 1) for item in args.server_env)
