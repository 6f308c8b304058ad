"""The deployment files are accepted by the tools that read them."""

from __future__ import annotations

import os
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
