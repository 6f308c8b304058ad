#!/usr/bin/env bash
# Make sure what the test suite talks to is here: Chromium, Firefox and coturn (installed from Debian when
# missing), PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (started when installed but stopped).
set -euo pipefail

apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "Missing $*: install it with your package manager." >&2; exit 1
  fi
  if [ "${_APT_UPDATED:-}" != 1 ]; then apt-get update -qq; _APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

[ -x /usr/bin/chromium ] || { echo "Installing Debian's chromium..."; apt_install chromium; }
command -v firefox-esr >/dev/null || command -v firefox >/dev/null || { echo "Installing Debian's firefox-esr..."; apt_install firefox-esr; }
command -v turnserver >/dev/null || { echo "Installing Debian's coturn..."; apt_install coturn; }
command -v docker-compose >/dev/null || { echo "Installing Debian's docker-compose (to check docker-compose.yml)..."; apt_install docker-compose; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5432; then
  if ls /etc/postgresql >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  fi
  for _ in $(seq 1 30); do port_open 5432 && break; sleep 0.5; done
  port_open 5432 || { echo "PostgreSQL is not answering on 127.0.0.1:5432: start it (trust auth for user postgres) and run make test again." >&2; exit 1; }
fi

if ! port_open 6379; then
  if command -v redis-server >/dev/null; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  fi
  for _ in $(seq 1 30); do port_open 6379 && break; sleep 0.2; done
  port_open 6379 || { echo "Redis is not answering on 127.0.0.1:6379: start redis-server and run make test again." >&2; exit 1; }
fi
echo "Services ready: PostgreSQL :5432, Redis :6379, $(/usr/bin/chromium --version 2>/dev/null | head -1), $( (firefox-esr --version || firefox --version) 2>/dev/null | head -1), coturn $(turnserver --version 2>/dev/null | head -1 || true)"
