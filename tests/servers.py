"""Real servers for tests and benchmarks: Daphne processes on free local ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Headless Debian Chromium on this closed network, with fake camera and microphone for calls.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


# conftest.py sets this to "0" for a test not marked `servers`: the fast tier must start no server.
ALLOWED_ENV = "PEERLEARN_TEST_MAY_START_SERVERS"


def check_allowed(what: str) -> None:
    """Refuse to start a server process inside a test that is not marked ``servers``."""
    if os.environ.get(ALLOWED_ENV, "1") == "0":
        raise RuntimeError(
            f"this test starts {what} but is not marked `servers`: mark it, or name the fixture in conftest.SERVER_FIXTURES"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Until something listens on ``port`` (a Daphne importing the whole site took over 20 s on a slow,
    busy machine), or ``proc`` exits."""

    def answers() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_until(answers, timeout=timeout, what=f"an answer on 127.0.0.1:{port}")


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database Django is connected to (the pytest test database)."""
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class DaphneProcess:
    """One ``daphne portal.asgi:application`` child process with the given environment."""

    def __init__(self, *, env: dict[str, str], port: int | None = None, log_path: Path | None = None):
        self.port = port or free_port()
        inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        # Tests reset the database between them, which this process's in-memory caches cannot see.
        # No load balancer watches a test's Daphne: stopping it need not wait out the drain (5 s each, ~20 times a
        # run); the shutdown test sets its own.
        defaults = {
            "DJANGO_ENV": "test",
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "PAGE_CACHE_SECONDS": "0",
            "SHUTDOWN_DRAIN_SECONDS": "0",
        }
        self.env = {**inherited, **defaults, **env}
        self.log_path = log_path or ROOT / "var" / f"daphne-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DaphneProcess:
        check_allowed("Daphne")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "portal.serve",  # Daphne's command line on uvloop, as production runs it
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                # as in production (Dockerfile): Daphne itself refuses frames and messages over 128 KiB
                "--websocket-max-message-size",
                "131072",
                "--websocket-max-frame-size",
                "131072",
                "portal.asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_port(self.port, proc=self.proc)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class RedisProcess:
    """A redis-server of the test's own, on a free port, that the test may stop and start again."""

    def __init__(self):
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        check_allowed("a Redis server")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class PostgresCluster:
    """A throwaway PostgreSQL cluster of the test's own (initdb in a temporary directory, a free port,
    trust auth), so a test may stop and start it without touching the machine's shared server."""

    def __init__(self):
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not found:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = found[-1].parent
        # Its own directory right under /tmp: the server's user must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix="peerlearn-pg-"))
        self.data = self.root / "pgdata"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> PostgresCluster:
        check_allowed("a PostgreSQL cluster")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        return self

    def start(self) -> PostgresCluster:
        check_allowed("a PostgreSQL cluster")
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l", str(self.data / "log"), "start")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
