"""Forwarded headers count only from a trusted proxy (issue 13, "Trust").

With ``BEHIND_PROXY=true`` a client that reached Daphne directly, past nginx, could send a fresh
``X-Forwarded-For`` with every guess and never meet the per-address login limit. Now the headers are
believed only when the direct peer is in ``TRUSTED_PROXY_IPS``; anyone else is counted by the address
they connect from, and their ``X-Forwarded-Proto`` is dropped (portal/proxies.py)."""

from __future__ import annotations

import ipaddress
import random
import secrets

import pytest

from conftest import PASSWORD, make_user
from portal.proxies import client_address, proxy_networks_parse
from portal.tests.test_settings import PRODUCTION_ENV, run_manage

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
THROTTLED = "Too many failed login attempts"
PER_CLIENT_LIMIT = 10  # ACCOUNT_RATE_LIMITS["login_failed"]: 10 a minute per client address
NGINX = "10.0.0.2"  # the proxy, as Daphne sees it
ATTACKER = "198.51.100.7"  # reaches Daphne directly, past the proxy


def forged() -> str:
    return str(ipaddress.IPv4Address(random.randint(0x01000000, 0xDFFFFFFF)))


@pytest.fixture
def behind_proxy(settings):
    """production.py with BEHIND_PROXY=true and TRUSTED_PROXY_IPS=10.0.0.0/8."""
    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXY_IPS = ["10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.fixture
def accounts(db):
    return [make_user(f"user{i}@example.com", f"User {i}") for i in range(14)]


def guess(client, email: str, password: str = "not-the-password-1", **addressing) -> str:
    return client.post(LOGIN, {"login": email, "password": password}, **addressing).text


def test_a_direct_client_forging_x_forwarded_for_is_counted_by_its_own_address(client, behind_proxy, accounts):
    answers = [
        guess(client, account.email, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"{forged()}, {forged()}")
        for account in accounts[:12]
    ]
    allowed = next((i for i, text in enumerate(answers) if THROTTLED in text), len(answers))
    assert all("not correct" in text for text in answers[:allowed])
    # Once throttled, the right password for an untouched account under yet another forged address,
    # one that claims to be the proxy itself, does not sign in either.
    bypasses = 0
    for account in accounts[12:]:
        for spoof in (forged(), NGINX, f"{forged()}, {NGINX}"):
            text = guess(client, account.email, PASSWORD, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=spoof)
            bypasses += THROTTLED not in text or "_auth_user_id" in client.session
    print(
        f"\n[proxy] forged X-Forwarded-For from an untrusted peer: bypasses {bypasses} "
        f"(throttled after {allowed} guesses across {allowed} accounts, the documented {PER_CLIENT_LIMIT} per client)"
    )
    assert allowed == PER_CLIENT_LIMIT
    assert bypasses == 0


def test_behind_the_trusted_proxy_each_client_is_counted_by_its_forwarded_address(client, behind_proxy, accounts):
    # 12 people behind nginx, one failed login each: nobody is throttled, though all come from nginx.
    for i, account in enumerate(accounts[:12]):
        assert "not correct" in guess(client, account.email, REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR=f"192.0.2.{i + 1}")
    # One client behind nginx guessing across accounts is throttled at the limit, by its forwarded address.
    answers = [
        guess(client, account.email, REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR="192.0.2.200") for account in accounts[:12]
    ]
    assert [THROTTLED in text for text in answers].index(True) == PER_CLIENT_LIMIT
    # ...while its neighbour behind the same proxy still gets through.
    client.post(
        LOGIN,
        {"login": accounts[13].email, "password": PASSWORD},
        REMOTE_ADDR=NGINX,
        HTTP_X_FORWARDED_FOR="192.0.2.201",
    )
    assert "_auth_user_id" in client.session


def test_x_forwarded_proto_counts_only_from_the_trusted_proxy(client, behind_proxy, settings):
    settings.SECURE_SSL_REDIRECT = True
    direct = client.get(LOGIN, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_PROTO="https")
    proxied = client.get(LOGIN, REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_PROTO="https")
    assert direct.status_code == 301 and direct["Location"].startswith("https://")
    assert proxied.status_code == 200


def test_without_behind_proxy_no_forwarded_header_counts(client, settings, accounts):
    settings.BEHIND_PROXY = False
    settings.TRUSTED_PROXY_IPS = []
    answers = [guess(client, a.email, REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR=forged()) for a in accounts[:12]]
    assert [THROTTLED in text for text in answers].index(True) == PER_CLIENT_LIMIT


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("198.51.100.7", "192.0.2.1", "198.51.100.7"),  # not from the proxy: the header is ignored
        ("10.0.0.2", "192.0.2.1", "192.0.2.1"),  # nginx overwrote the header (deploy/nginx.conf)
        ("10.0.0.2", "6.6.6.6, 192.0.2.1", "192.0.2.1"),  # a proxy that appends: the right-most untrusted hop
        ("10.0.0.2", "6.6.6.6, 192.0.2.1, 10.0.0.9", "192.0.2.1"),  # two trusted proxies in a row
        ("10.0.0.2", "10.0.0.5", "10.0.0.5"),  # every hop trusted: the farthest one
        ("10.0.0.2", "192.0.2.1:5555", "192.0.2.1"),  # with a port
        ("10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:10.0.0.2", "2001:db8::1", "2001:db8::1"),  # a dual-stack socket's mapped IPv4 peer
        ("10.0.0.2", "unknown, 192.0.2.1", "192.0.2.1"),
        ("10.0.0.2", "192.0.2.1, garbage", "10.0.0.2"),  # the hop that wrote garbage is the last one known
        ("10.0.0.2", "", "10.0.0.2"),
    ],
)
def test_client_address(peer, forwarded_for, client):
    assert client_address(peer, forwarded_for, proxy_networks_parse(["10.0.0.0/8"])) == client


def test_production_reads_and_checks_trusted_proxy_ips():
    code = "from django.conf import settings; print(','.join(settings.TRUSTED_PROXY_IPS) or '-')"
    env = {**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64)}
    default = run_manage("shell", "--no-imports", "-c", code, env={**env, "BEHIND_PROXY": "true"})
    assert default.stdout.split()[-1] == "127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7", (
        default.stderr
    )
    told = run_manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        env={**env, "BEHIND_PROXY": "true", "TRUSTED_PROXY_IPS": "10.1.2.3, 10.9.0.0/16"},
    )
    assert told.stdout.split()[-1] == "10.1.2.3,10.9.0.0/16"
    assert (
        run_manage("shell", "--no-imports", "-c", code, env={**env, "TRUSTED_PROXY_IPS": "10.1.2.3"}).stdout.split()[-1]
        == "-"
    )
    wrong = run_manage("check", env={**env, "BEHIND_PROXY": "true", "TRUSTED_PROXY_IPS": "nginx"})
    assert wrong.returncode != 0 and "TRUSTED_PROXY_IPS: 'nginx' is not an IP address or network" in wrong.stderr


async def test_the_check_runs_on_the_asgi_path_too(async_client, behind_proxy, settings):
    """Under Daphne requests take the async middleware path; Django's async test client connects from 127.0.0.1."""
    settings.SECURE_SSL_REDIRECT = True
    assert (await async_client.get("/robots.txt", headers={"x-forwarded-proto": "https"})).status_code == 301
    settings.TRUSTED_PROXY_IPS = ["127.0.0.1"]
    assert (await async_client.get("/robots.txt", headers={"x-forwarded-proto": "https"})).status_code == 200
