"""A real coturn ``turnserver`` process for one test, on free 127.0.0.1 ports.

Everything it reads and writes (config, log, pid file, its SQLite user database) lives in a
temporary directory; it never touches /etc/turnserver.conf, /var/lib/turn or a system service.

    with CoturnProcess(secret="s3cret") as turn:
        turn_allocate("127.0.0.1", turn.port, *turn_credentials(user_id=1, secret=turn.secret, ttl=60))

``base_config`` starts a copy of a given config file (e.g. the shipped deploy/turnserver.conf) with
only the machine-specific lines (ports, addresses, secret, log, pid file, database, certificates)
replaced for the test.
"""

from __future__ import annotations

import ipaddress
import os
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.servers import check_allowed, free_port
from tests.turn_client import StunError, stun_binding
from tests.waiting import wait_until

TURNSERVER = "/usr/bin/turnserver"

# Lines of a base config replaced by the test's own values.
MACHINE_KEYS = frozenset(
    {
        "listening-port",
        "tls-listening-port",
        "alt-listening-port",
        "alt-tls-listening-port",
        "listening-ip",
        "relay-ip",
        "external-ip",
        "min-port",
        "max-port",
        "static-auth-secret",
        "log-file",
        "syslog",
        "no-stdout-log",
        "simple-log",
        "pidfile",
        "userdb",
        "cert",
        "pkey",
        "allow-loopback-peers",
        "cli-password",
    }
)

LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

# What coturn prints for config lines it could not use (it keeps running and ignores them).
CONFIG_ERROR_MARKERS = ("ERROR", "Wrong address format", "Bad configuration", "unknown option", "invalid")
# ...as opposed to errors about client traffic (bad credentials, denied peers).
RUNTIME_ERROR_MARKERS = ("check_stun_auth", "A peer IP", "session ")


def turnserver_binary() -> str:
    path = TURNSERVER if os.access(TURNSERVER, os.X_OK) else shutil.which("turnserver")
    if not path:
        raise RuntimeError(
            "coturn's turnserver is not installed (looked for /usr/bin/turnserver): run `make test`, "
            "which installs Debian's coturn package."
        )
    return path


def config_lines(text: str) -> list[tuple[str, str]]:
    """``(key, value)`` for each option line of a coturn config (comments and blanks skipped)."""
    options = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        options.append((key.strip().lstrip("-"), value.strip().strip('"')))
    return options


def peer_range(
    value: str,
) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The first and last address of a ``denied-peer-ip``/``allowed-peer-ip`` value (``a`` or ``a-b``)."""
    first, _, last = value.partition("-")
    start = ipaddress.ip_address(first.strip())
    end = ipaddress.ip_address(last.strip()) if last else start
    if start.version != end.version or start > end:
        raise ValueError(f"bad address range: {value}")
    return start, end


def _covers_loopback(value: str) -> bool:
    try:
        start, end = peer_range(value)
    except ValueError:
        return False
    for network in LOOPBACK_NETWORKS:
        if network.version == start.version and start <= network.broadcast_address and end >= network.network_address:
            return True
    return False


def _udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair() -> int:
    """A port free on 127.0.0.1 for both TCP and UDP."""
    for _ in range(50):
        port = free_port()
        if _udp_port_free(port):
            return port
    raise RuntimeError("no free TCP+UDP port on 127.0.0.1")


def free_udp_range(size: int) -> tuple[int, int]:
    """``size`` consecutive UDP ports free on 127.0.0.1 (for coturn's relay endpoints)."""
    for _ in range(200):
        start = random.randrange(20000, 60000 - size)
        if all(_udp_port_free(port) for port in range(start, start + size)):
            return start, start + size - 1
    raise RuntimeError("no free UDP port range on 127.0.0.1")


class CoturnProcess:
    """``turnserver -c <generated config>`` on 127.0.0.1 with ``use-auth-secret``; a context manager."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        allow_loopback: bool = False,
        base_config: str | Path | None = None,
        realm: str = "peerlearn.test",
        relay_ports: int = 16,
        verbose: bool = False,
        extra_lines: list[str] | None = None,
    ):
        self.binary = turnserver_binary()
        self.secret = secret or secrets.token_urlsafe(24)
        self.allow_loopback = allow_loopback
        self.base_config = Path(base_config) if base_config else None
        self.realm = realm
        self.relay_ports = relay_ports
        self.verbose = verbose
        self.extra_lines = list(extra_lines or [])
        self.port = 0
        self.relay_range: tuple[int, int] = (0, 0)
        self.tmpdir: Path | None = None
        self.config_path: Path | None = None
        self.log_path: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._final_log = ""

    # ------------------------------------------------------------------ addresses
    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def stun_url(self) -> str:
        return f"stun:127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ config
    def config_text(self) -> str:
        assert self.tmpdir is not None
        low, high = self.relay_range = free_udp_range(self.relay_ports)
        machine = [
            "# ---- test values (tests/coturn.py)",
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            f"listening-port={self.port}",
            f"min-port={low}",
            f"max-port={high}",
            f"static-auth-secret={self.secret}",
            "log-file=stdout",
            f"pidfile={self.tmpdir / 'turnserver.pid'}",
            f"userdb={self.tmpdir / 'turndb'}",
        ]
        if self.base_config is not None:
            kept = []
            for raw in self.base_config.read_text().splitlines():
                line = raw.strip()
                key, _, value = line.partition("=")
                key = key.strip().lstrip("-")
                if line and not line.startswith("#") and key in MACHINE_KEYS:
                    kept.append(f"# (replaced for the test) {raw}")
                elif self.allow_loopback and key == "denied-peer-ip" and _covers_loopback(value.strip().strip('"')):
                    kept.append(f"# (loopback allowed for the test) {raw}")
                else:
                    kept.append(raw)
            # A TLS port of its own (no certificate: coturn then serves plain UDP/TCP only).
            machine.append(f"tls-listening-port={free_port_pair()}")
            lines = [*kept, "", *machine]
        else:
            lines = [
                *machine,
                "use-auth-secret",
                f"realm={self.realm}",
                "no-tls",
                "no-dtls",
                "no-cli",
                "fingerprint",
                "no-multicast-peers",
                "no-software-attribute",
                "no-rfc5780",
            ]
        if self.allow_loopback:
            # Tests run on loopback only: browsers' relay candidates there must reach each other.
            lines.append("allow-loopback-peers")
        if self.verbose:
            lines.append("verbose")
        lines.extend(self.extra_lines)
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 10.0) -> CoturnProcess:
        check_allowed("coturn")
        self._tmp = tempfile.TemporaryDirectory(prefix="coturn-test-")
        self.tmpdir = Path(self._tmp.name)
        self.port = free_port_pair()
        self.config_path = self.tmpdir / "turnserver.conf"
        self.config_path.write_text(self.config_text())
        self.log_path = self.tmpdir / "turnserver.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.config_path)],
                cwd=self.tmpdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None

        def answers_stun() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"turnserver exited with {self.proc.returncode}:\n{self.log_text()[-4000:]}")
            try:
                stun_binding("127.0.0.1", self.port, timeout=0.3)
                return True
            except (StunError, OSError):
                return False

        try:
            wait_until(answers_stun, timeout=timeout, what=f"turnserver answering STUN on 127.0.0.1:{self.port}")
        except TimeoutError as error:
            raise TimeoutError(f"{error}:\n{self.log_text()[-4000:]}") from None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._final_log = self.log_text()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> CoturnProcess:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ------------------------------------------------------------------ logs
    def log_text(self) -> str:
        if self._tmp is not None and self.log_path is not None and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return self._final_log

    def config_errors(self) -> list[str]:
        """Log lines where coturn complains about its configuration."""
        return [
            line
            for line in self.log_text().splitlines()
            if any(marker in line for marker in CONFIG_ERROR_MARKERS)
            and not any(marker in line for marker in RUNTIME_ERROR_MARKERS)
        ]
