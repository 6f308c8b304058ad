"""The deployment files are accepted by the tools that read them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from tests.servers import ROOT

FILLED = {
    "SECRET_KEY": "x" * 64,
    "POSTGRES_PASSWORD": "pw",
    "SITE_HOST": "peerlearn.example.com",
    "TURN_HOST": "turn.example.com",
    "TURN_SECRET": "s3cret",
}


def compose(env: dict) -> subprocess.CompletedProcess:
    assert shutil.which("docker-compose"), "make test installs Debian's docker-compose (scripts/test-services.sh)"
    clean = {k: v for k, v in os.environ.items() if k not in FILLED}
    return subprocess.run(
        ["docker-compose", "config", "-q"], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_docker_compose_accepts_the_file_with_the_documented_variables():
    result = compose(FILLED)
    assert result.returncode == 0, result.stderr


def test_docker_compose_names_a_missing_required_variable():
    result = compose({k: v for k, v in FILLED.items() if k != "TURN_SECRET"})
    assert result.returncode != 0 and "set TURN_SECRET in .env" in result.stderr


def test_the_env_example_lists_every_variable_the_compose_file_requires():
    example = (ROOT / "deploy" / "env.example").read_text()
    for name in FILLED:
        assert f"\n{name}=" in example


def _services_by_role(config: str) -> dict[str, set[str]]:
    """From ``docker-compose config``'s canonical YAML (two-space indents, sorted keys): the services
    whose environment sets PROCESS_ROLE, by role. (No YAML library in the test environment.)"""
    roles: dict[str, set[str]] = {}
    service = None
    for line in config.splitlines():
        if re.fullmatch(r"  [\w-]+:", line):
            service = line.strip(" :")
        elif line.startswith("      PROCESS_ROLE: ") and service:
            roles.setdefault(line.split(":", 1)[1].strip().strip("'\""), set()).add(service)
        elif not line.startswith(" "):
            service = None
    return roles


def _nginx_upstreams(conf: str) -> dict[str, set[str]]:
    """Each upstream's server hosts (without ports)."""
    return {
        name: set(re.findall(r"^\s*server\s+([\w.-]+):\d+", body, re.MULTILINE))
        for name, body in re.findall(r"upstream\s+(\w+)\s*\{(.*?)\}", conf, re.DOTALL)
    }


def _nginx_location_pass(conf: str, location: str) -> list[str]:
    """The upstreams every ``location <location> { ... }`` passes to (a location that only redirects,
    like plain HTTP's ``/``, passes to none)."""
    pattern = rf"location\s+{re.escape(location)}\s*\{{(.*?)\}}"
    return [
        target
        for body in re.findall(pattern, conf, re.DOTALL)
        for target in re.findall(r"proxy_pass\s+http://(\w+);", body)
    ]


def test_compose_and_nginx_split_pages_and_sockets_into_two_pools():
    result = subprocess.run(
        ["docker-compose", "config"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in FILLED}, **FILLED},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    roles = _services_by_role(result.stdout)
    assert set(roles) == {"web", "signaling"} and len(roles["web"]) >= 1 and len(roles["signaling"]) >= 1, roles
    assert not roles["web"] & roles["signaling"]

    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    upstreams = _nginx_upstreams(conf)
    assert upstreams == {"peerlearn_web": roles["web"], "peerlearn_signaling": roles["signaling"]}, upstreams
    assert _nginx_location_pass(conf, "/ws/") == ["peerlearn_signaling"]  # every socket to the signaling pool
    assert _nginx_location_pass(conf, "/") == ["peerlearn_web"]  # pages to the web pool
    assert _nginx_location_pass(conf, "/health/") == ["peerlearn_web"]  # the plain-HTTP probes too
    # Each process of both pools reports its own readiness (a signaling process answers /health/ too).
    for service in roles["web"] | roles["signaling"]:
        assert "/health/ready/" in _service_block(result.stdout, service), service


def _service_block(config: str, service: str) -> str:
    after = config.split(f"\n  {service}:\n", 1)[1]
    return re.split(r"\n(?=  [\w-]+:\n|\S)", after, maxsplit=1)[0]
