from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

from tests.servers import ROOT


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "SECRET_KEY", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "ALLOWED_HOSTS": "peerlearn.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://peerlearn.example.com",
    "SITE_URL": "https://peerlearn.example.com",
}


def test_production_without_secret_key_refuses_to_start_with_a_clear_message():
    result = run_manage("check", env=PRODUCTION_ENV)
    assert result.returncode != 0
    assert "DJANGO_ENV=production needs SECRET_KEY" in result.stderr


def test_production_with_a_dev_looking_secret_key_is_refused():
    result = run_manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "at least 50 characters" in result.stderr


def test_production_without_redis_is_refused():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "REDIS_URL"}
    result = run_manage("check", env={**env, "SECRET_KEY": secrets.token_urlsafe(64)})
    assert result.returncode != 0
    assert "needs REDIS_URL" in result.stderr


def test_production_check_deploy_reports_nothing():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64)}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_sends_real_mail_unless_told_otherwise():
    code = "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    env = {**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64)}
    assert (
        run_manage("shell", "-c", code, env=env).stdout.splitlines()[-1]
        == "django.core.mail.backends.smtp.EmailBackend"
    )
    told = {**env, "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    assert (
        run_manage("shell", "-c", code, env=told).stdout.splitlines()[-1]
        == "django.core.mail.backends.console.EmailBackend"
    )


def test_unknown_django_env_is_refused():
    result = run_manage("check", env={"DJANGO_ENV": "staging"})
    assert result.returncode != 0
    assert "DJANGO_ENV must be one of dev, test, production" in result.stderr


def test_production_logs_one_json_object_per_line_to_stdout():
    code = (
        "import logging\n"
        "log = logging.getLogger('peerlearn.check')\n"
        "log.warning('hello %s', 'there', extra={'room': 5})\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n    log.exception('boom')\n"
    )
    result = run_manage(
        "shell", "--no-imports", "-c", code, env={**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64)}
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    hello, boom = [line for line in lines if line["logger"] == "peerlearn.check"]
    assert (hello["level"], hello["message"], hello["room"]) == ("WARNING", "hello there", 5)
    assert hello["time"].endswith("+00:00")
    assert boom["message"] == "boom" and "ZeroDivisionError" in boom["exception"]
