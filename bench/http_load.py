"""HTTP throughput of PeerLearn pages, measured against a trivial Django view on the same Daphne server.

    .venv/bin/python -m bench.http_load                 # a table
    .venv/bin/python -m bench.http_load --json          # exactly one JSON object on stdout

What one run does:

1. drops and creates a PostgreSQL database (``peerlearn_bench``; ``--database-url`` to change it),
   runs ``manage.py migrate --no-input`` and ``manage.py seed_demo`` against it;
2. starts ``daphne -b 127.0.0.1 -p PORT portal.asgi:application`` with the dev settings, DEBUG off,
   ``BENCHMARK_ENDPOINTS=1`` (which adds ``/bench/trivial/``) and Redis for the cache and channel layer;
3. signs in as learner1@peerlearn.local through the login form;
4. for each endpoint, keeps ``--connections`` keep-alive connections busy (one request at a time each),
   first for ``--warmup`` seconds unmeasured, then for ``--duration`` seconds measured;
5. stops Daphne and drops the database (unless ``--keep-db``), also after an error or Ctrl-C.

``rps`` counts the 200 responses completed in the measured window, per second; the latencies are of
those responses. Anything else (another status, a reset, a timeout) is an error. Progress and
problems (with the server's log when a request failed) go to stderr. The exit status is 1 when any
request failed, 2 when the benchmark could not run; missing a goal does not change it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench.http_client import DEMO_LEARNER, HTTP_FAILURES, HttpConnection, build_request, cookie_header, login
from bench.report import percentile, progress
from bench.servers import (
    HOST,
    BenchError,
    add_server_arguments,
    app_env,
    fresh_database,
    manage,
    parse_server_env,
    process_cpu_seconds,
    running_daphne,
    stop_on_signals,
    without_access_lines,
)


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    signed_in: bool = False


ENDPOINTS = (
    Endpoint("trivial", "/bench/trivial/"),
    Endpoint("landing", "/"),
    Endpoint("mentors", "/mentors/"),
    Endpoint("dashboard", "/dashboard/", signed_in=True),
)
# The issue's goals: requests per second as a share of the trivial view's.
GOALS = {"landing": 0.60, "dashboard": 0.25}


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)  # seconds, of the 200 responses in the window
    errors: Counter = field(default_factory=Counter)  # "HTTP 500", "TimeoutError", ...
    client_cpu_s: float = 0.0
    server_cpu_s: float | None = None


async def _worker(port: int, raw: bytes, window: tuple[float, float], timeout: float, sample: Sample) -> None:
    start_of_window, end_of_window = window
    conn = HttpConnection(HOST, port)
    try:
        while (started := time.perf_counter()) < end_of_window:
            try:
                async with asyncio.timeout(timeout):
                    response = await conn.request(raw)
            except HTTP_FAILURES as exc:
                await conn.close()
                if time.perf_counter() >= start_of_window:
                    sample.errors[type(exc).__name__] += 1
                await asyncio.sleep(0.05)  # do not spin on a refused connection
                continue
            done = time.perf_counter()
            if start_of_window <= done <= end_of_window:
                if response.status == 200:
                    sample.latencies.append(done - started)
                else:
                    sample.errors[f"HTTP {response.status}"] += 1
    finally:
        await conn.close()


async def _cpu_meter(window: tuple[float, float], server_pid: int, sample: Sample) -> None:
    """CPU time the client (this process) and the server spend inside the measured window."""
    await asyncio.sleep(max(0.0, window[0] - time.perf_counter()))
    client, server = time.process_time(), process_cpu_seconds(server_pid)
    await asyncio.sleep(max(0.0, window[1] - time.perf_counter()))
    sample.client_cpu_s = time.process_time() - client
    server_after = process_cpu_seconds(server_pid)
    if server is not None and server_after is not None:
        sample.server_cpu_s = server_after - server


async def measure(
    port: int, raw: bytes, *, connections: int, warmup: float, duration: float, timeout: float, server_pid: int
) -> Sample:
    sample = Sample()
    start = time.perf_counter() + warmup
    window = (start, start + duration)
    workers = [_worker(port, raw, window, timeout, sample) for _ in range(connections)]
    await asyncio.gather(_cpu_meter(window, server_pid, sample), *workers)
    return sample


def summarise(endpoint: Endpoint, sample: Sample, duration: float, body_bytes: int | None) -> dict:
    ordered = sorted(sample.latencies)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    def pct_of_core(cpu: float | None) -> float | None:
        return None if cpu is None else round(100 * cpu / duration, 1)

    return {
        "path": endpoint.path,
        "rps": round(len(ordered) / duration, 1),
        "p50_ms": ms(percentile(ordered, 50)),
        "p99_ms": ms(percentile(ordered, 99)),
        "errors": sum(sample.errors.values()),
        "error_kinds": dict(sample.errors),
        "requests": len(ordered),
        "body_bytes": body_bytes,
        "server_cpu_pct": pct_of_core(sample.server_cpu_s),  # of one core: Daphne runs Django in one process
        "client_cpu_pct": pct_of_core(sample.client_cpu_s),  # this process competes for the same cores
    }


async def run_endpoints(args: argparse.Namespace, port: int, server_pid: int) -> dict[str, dict]:
    hostport = f"{HOST}:{port}"
    password = os.environ.get("DEMO_PASSWORD") or "peerlearn-demo"  # what seed_demo used
    progress(f"signing in as {DEMO_LEARNER}")
    session_cookie = cookie_header(await login(port, DEMO_LEARNER, password))
    results = {}
    for endpoint in ENDPOINTS:
        headers = {"Cookie": session_cookie} if endpoint.signed_in else {}
        raw = build_request("GET", endpoint.path, host=hostport, headers=headers)
        probe = HttpConnection(HOST, port)
        try:
            first = await asyncio.wait_for(probe.request(raw), args.timeout)
        finally:
            await probe.close()
        if first.status != 200:
            snippet = first.body[:300].decode("utf-8", "replace")
            progress(
                f"{endpoint.name}: GET {endpoint.path} answered {first.status} (Location: {first.header('location')})"
                f"\n{snippet}"
            )
        progress(
            f"{endpoint.name}: GET {endpoint.path}, {args.connections} connections, "
            f"{args.warmup:g} s warm-up + {args.duration:g} s"
        )
        sample = await measure(
            port,
            raw,
            connections=args.connections,
            warmup=args.warmup,
            duration=args.duration,
            timeout=args.timeout,
            server_pid=server_pid,
        )
        results[endpoint.name] = summarise(
            endpoint, sample, args.duration, len(first.body) if first.status == 200 else None
        )
    return results


def versions() -> dict[str, str]:
    found = {}
    for name in ("django", "wagtail", "channels", "daphne", "twisted", "psycopg"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def ratios(endpoints: dict[str, dict]) -> dict[str, float | None]:
    trivial = endpoints["trivial"]["rps"]
    return {
        name: round(result["rps"] / trivial, 3) if trivial else None
        for name, result in endpoints.items()
        if name != "trivial"
    }


def render_table(report: dict) -> str:
    config, rows = report["config"], report["endpoints"]
    server = config["server"]
    out = [
        f"PeerLearn HTTP benchmark: {config['connections']} keep-alive connections, "
        f"{config['warmup_s']:g} s warm-up + {config['duration_s']:g} s per endpoint",
        f"Daphne on {server['url']} ({server['settings']}, DEBUG {'on' if server['debug'] else 'off'}), "
        f"database {config['database']}, {config['cpu_count']} CPUs, Django {config['versions'].get('django', '?')}, "
        f"load average {config['load_average_1m']['start']} -> {config['load_average_1m']['end']}",
        "",
        f"{'endpoint':<10} {'path':<16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'srv cpu':>8} {'cli cpu':>8} {'vs trivial':>11}  goal",
    ]

    def num(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    for name, row in rows.items():
        ratio = report["ratios"].get(name)
        goal = report["goals"].get(name)
        goal_text = f">= {goal['target']:.0%}: {'met' if goal['met'] else 'MISSED'}" if goal else ""
        out.append(
            f"{name:<10} {row['path']:<16} {row['rps']:>9.1f} {num(row['p50_ms'], '.2f'):>8} "
            f"{num(row['p99_ms'], '.2f'):>8} {row['errors']:>7} {num(row['server_cpu_pct'], '.0f') + '%':>8} "
            f"{num(row['client_cpu_pct'], '.0f') + '%':>8} {'100.0%' if name == 'trivial' else num(ratio, '.1%'):>11}"
            f"  {goal_text}".rstrip()
        )
        if row["error_kinds"]:
            out.append(f"{'':<10} errors: {', '.join(f'{k} x{v}' for k, v in row['error_kinds'].items())}")
    out.append("")
    out.append("srv/cli cpu: CPU time of Daphne / of this client during the measured window, in % of one core.")
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Requests per second and latency of PeerLearn pages against a trivial view, on a real Daphne.",
    )
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per endpoint (default 5)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each (default 2)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a request counts as failed")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    add_server_arguments(
        parser, setup_help="seconds allowed for migrate and for seed_demo each", env_example="DB_CONN_MAX_AGE=60"
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.connections < 1 or args.timeout <= 0:
        parser.error("--duration and --timeout must be positive, --warmup >= 0, --connections >= 1")
    parse_server_env(parser, args)
    return args


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def run(args: argparse.Namespace, log_dir: Path) -> dict:
    load_at_start = load_average()  # other work on the machine skews the numbers; this says how much there was
    env = app_env(database_url=args.database_url, redis_url=args.redis_url, extra=args.server_env)
    with fresh_database(args.database_url, keep=args.keep_db) as database:
        progress(f"database {database}: migrate")
        manage(["migrate", "--no-input"], env=env, timeout=args.setup_timeout)
        progress(f"database {database}: seed_demo")
        manage(["seed_demo"], env=env, timeout=args.setup_timeout)
        with running_daphne(env=env, log_path=log_dir / "daphne.log") as server:
            progress(f"Daphne on {server.url} (pid {server.proc.pid}, log {server.log_path})")
            try:
                endpoints = asyncio.run(run_endpoints(args, server.port, server.proc.pid))
            except HTTP_FAILURES as exc:
                raise BenchError(f"the server stopped answering: {exc!r}") from exc
            finally:
                log = server.log_text()
        progress("stopped Daphne")
    progress(f"kept the database {database} (--keep-db)" if args.keep_db else f"dropped the database {database}")
    effective = {**os.environ, **env}
    report = {
        "endpoints": endpoints,
        "ratios": ratios(endpoints),
        "goals": {
            name: {"target": target, "met": (ratios(endpoints).get(name) or 0) >= target}
            for name, target in GOALS.items()
        },
        "config": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "timeout_s": args.timeout,
            "database": database,
            "redis_url": args.redis_url,
            "login": DEMO_LEARNER,
            "server": {
                "url": server.url,
                "command": f"daphne -b {HOST} -p {server.port} portal.asgi:application",
                "settings": env["DJANGO_SETTINGS_MODULE"],
                "debug": env["DEBUG"].strip().lower() in ("1", "true", "yes", "on"),
                "db_conn_max_age": int(effective.get("DB_CONN_MAX_AGE") or 0),
                "extra_env": args.server_env,
            },
            "cpu_count": os.cpu_count(),
            "load_average_1m": {"start": load_at_start, "end": load_average()},
            "python": platform.python_version(),
            "versions": versions(),
        },
    }
    if any(row["errors"] for row in endpoints.values()):
        progress(f"some requests failed; Daphne's log without access lines:\n{without_access_lines(log)}")
        report["config"]["server"]["log"] = str(log_dir / "daphne.log")
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    log_dir = Path(tempfile.mkdtemp(prefix="peerlearn-bench-"))
    daphne_log = log_dir / "daphne.log"
    keep_log = False
    try:
        report = run(args, log_dir)
        keep_log = "log" in report["config"]["server"]  # some requests failed: the log explains them
    except BenchError as exc:
        progress(f"cannot benchmark: {exc}")
        if daphne_log.exists():
            keep_log = True
            problems = without_access_lines(daphne_log.read_text("utf-8", "replace"))
            progress(f"Daphne's log ({daphne_log}) without access lines:\n{problems}")
        return 2
    except KeyboardInterrupt:
        progress("interrupted; the server is stopped" + ("" if args.keep_db else " and the database dropped"))
        return 130
    finally:
        if not keep_log:
            shutil.rmtree(log_dir, ignore_errors=True)
    print(json.dumps(report, indent=2) if args.json else render_table(report))
    return 1 if keep_log else 0


if __name__ == "__main__":
    sys.exit(main())
