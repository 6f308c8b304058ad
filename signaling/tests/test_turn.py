"""TURN credentials (signaling/turn.py) checked against a real coturn, and the shipped coturn config."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import time
from pathlib import Path

import pytest

from signaling import turn
from signaling.turn import ice_servers_for, turn_credentials
from tests.coturn import CoturnProcess, config_lines, peer_range
from tests.turn_client import stun_binding, turn_allocate, turn_create_permission
from tests.waiting import wait_until

DEPLOY_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "turnserver.conf"


# --------------------------------------------------------------------------- credentials
def test_username_is_expiry_and_user_id_and_password_is_base64_hmac_sha1():
    username, password = turn_credentials(user_id=42, secret="peerlearn-test-secret", ttl=3600, now=1_700_000_000.9)
    assert username == "1700003600:42"  # int(now) + ttl
    # `echo -n 1700003600:42 | openssl dgst -sha1 -hmac peerlearn-test-secret -binary | base64`
    assert password == "hNCwURWC4aB7FZl08gSKmOzgW+I="
    expected = base64.b64encode(hmac.new(b"peerlearn-test-secret", b"1700003600:42", hashlib.sha1).digest()).decode()
    assert password == expected


def test_expiry_defaults_to_the_current_time_plus_ttl():
    before = int(time.time())
    username, _ = turn_credentials(user_id=7, secret="s", ttl=600)
    after = int(time.time())
    expiry, user_id = username.split(":")
    assert user_id == "7"
    assert before + 600 <= int(expiry) <= after + 600


def test_credentials_need_a_secret_and_a_positive_ttl():
    with pytest.raises(ValueError):
        turn_credentials(user_id=1, secret="", ttl=60)
    with pytest.raises(ValueError):
        turn_credentials(user_id=1, secret="s", ttl=0)


def test_ice_servers_carry_stun_and_short_lived_turn_credentials(settings):
    settings.STUN_URLS = ["stun:turn.example.com:3478"]
    settings.TURN_URLS = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"]
    settings.TURN_SECRET = "shared"
    settings.TURN_CREDENTIAL_TTL = 900
    servers = ice_servers_for(user_id=5, now=1_700_000_000)
    assert servers == [
        {"urls": ["stun:turn.example.com:3478"]},
        {
            "urls": ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"],
            "username": "1700000900:5",
            "credential": turn_credentials(user_id=5, secret="shared", ttl=900, now=1_700_000_000)[1],
        },
    ]
    assert "shared" not in repr(servers)


def test_no_ice_servers_when_nothing_is_configured(settings):
    settings.STUN_URLS = []
    settings.TURN_URLS = []
    settings.TURN_SECRET = ""
    assert ice_servers_for(user_id=5) == []
    settings.TURN_SECRET = "shared"  # a secret alone gives nothing either
    assert ice_servers_for(user_id=5) == []


def test_turn_is_left_out_without_a_secret_with_one_warning(settings, caplog, monkeypatch):
    monkeypatch.setattr(turn, "_warned_missing_secret", False)
    settings.STUN_URLS = ["stun:turn.example.com:3478"]
    settings.TURN_URLS = ["turn:turn.example.com:3478"]
    settings.TURN_SECRET = ""
    with caplog.at_level(logging.WARNING, logger="signaling.turn"):
        assert ice_servers_for(user_id=5) == [{"urls": ["stun:turn.example.com:3478"]}]
        assert ice_servers_for(user_id=6) == [{"urls": ["stun:turn.example.com:3478"]}]
    warnings = [r for r in caplog.records if r.name == "signaling.turn" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "TURN_SECRET" in warnings[0].getMessage()


# --------------------------------------------------------------------------- real coturn
@pytest.fixture(scope="module")
def coturn():
    with CoturnProcess(secret=secrets.token_urlsafe(24), allow_loopback=True) as server:
        yield server


def _tamper(text: str, index: int = 0) -> str:
    return text[:index] + ("B" if text[index] != "B" else "C") + text[index + 1 :]


def _allocate(server: CoturnProcess, username: str, password: str):
    result = turn_allocate(server.host, server.port, username, password)
    result.close()
    return result


def test_coturn_accepts_fresh_credentials_and_rejects_expired_or_tampered_ones(coturn):
    username, password = turn_credentials(user_id=101, secret=coturn.secret, ttl=300)
    fresh = _allocate(coturn, username, password)
    assert fresh.ok, f"{fresh.error_code} {fresh.reason}\n{coturn.log_text()[-2000:]}"
    relay_host, relay_port = fresh.relayed
    assert relay_host == "127.0.0.1" and coturn.relay_range[0] <= relay_port <= coturn.relay_range[1]

    expired = _allocate(coturn, *turn_credentials(user_id=101, secret=coturn.secret, ttl=60, now=time.time() - 120))
    bad_password = _allocate(coturn, username, _tamper(password))
    expiry = username.split(":")[0]
    other_user = _allocate(coturn, f"{expiry}:102", password)  # another user id, the original password
    later = _allocate(coturn, f"{int(expiry) + 3600}:101", password)  # a longer life, the original password
    wrong_secret = _allocate(coturn, *turn_credentials(user_id=101, secret=coturn.secret + "x", ttl=300))
    print(
        f"\n[turn] fresh: allocated relay {relay_host}:{relay_port} (lifetime {fresh.lifetime}s); "
        f"expired: {expired.error_code}; tampered password: {bad_password.error_code}; "
        f"other user id: {other_user.error_code}; extended expiry: {later.error_code}; "
        f"wrong secret: {wrong_secret.error_code}"
    )
    for name, result in [
        ("expired", expired),
        ("tampered password", bad_password),
        ("other user id", other_user),
        ("extended expiry", later),
        ("wrong secret", wrong_secret),
    ]:
        assert not result.ok and result.error_code == 401, f"{name}: {result}"


def test_ice_servers_from_settings_work_against_coturn(coturn, settings):
    settings.STUN_URLS = [coturn.stun_url]
    settings.TURN_URLS = [coturn.url]
    settings.TURN_SECRET = coturn.secret
    settings.TURN_CREDENTIAL_TTL = 120
    stun, turn_server = ice_servers_for(user_id=103)
    host, port = re.fullmatch(r"stun:([\d.]+):(\d+)", stun["urls"][0]).groups()
    assert stun_binding(host, int(port))[0] == "127.0.0.1"
    host, port = re.fullmatch(r"turn:([\d.]+):(\d+)\?transport=udp", turn_server["urls"][0]).groups()
    result = turn_allocate(host, int(port), turn_server["username"], turn_server["credential"])
    result.close()
    assert result.ok, f"{result.error_code} {result.reason}"


# Uses real users, so it needs the test database. (It also keeps this module runnable on its own:
# conftest's autouse baseline fixture reads the test database, which pytest-django only creates when
# some selected test uses the database.)
def test_each_participant_gets_working_credentials_of_their_own(coturn, settings, learner, mentor):
    settings.STUN_URLS = []
    settings.TURN_URLS = [coturn.url]
    settings.TURN_SECRET = coturn.secret
    settings.TURN_CREDENTIAL_TTL = 120
    issued = {user.pk: ice_servers_for(user_id=user.pk)[0] for user in (learner, mentor)}
    assert issued[learner.pk]["username"].endswith(f":{learner.pk}")
    assert issued[mentor.pk]["username"].endswith(f":{mentor.pk}")
    assert issued[learner.pk]["credential"] != issued[mentor.pk]["credential"]
    for server in issued.values():
        result = _allocate(coturn, server["username"], server["credential"])
        assert result.ok, f"{server['username']}: {result.error_code} {result.reason}"
    # One participant's password does not work with the other's username.
    swapped = _allocate(coturn, issued[learner.pk]["username"], issued[mentor.pk]["credential"])
    assert swapped.error_code == 401


def test_loopback_peers_only_when_the_helper_is_asked(coturn):
    username, password = turn_credentials(user_id=104, secret=coturn.secret, ttl=60)
    allowed = turn_allocate(coturn.host, coturn.port, username, password)
    try:
        assert turn_create_permission(allowed, "127.0.0.1")[0] == 0
    finally:
        allowed.close()
    with CoturnProcess() as strict:
        username, password = turn_credentials(user_id=104, secret=strict.secret, ttl=60)
        refused = turn_allocate(strict.host, strict.port, username, password)
        try:
            assert refused.ok
            assert turn_create_permission(refused, "127.0.0.1")[0] == 403
        finally:
            refused.close()


# --------------------------------------------------------------------------- the shipped config
REQUIRED_DENIED = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::1/128",
    "::ffff:0:0/96",  # IPv4-mapped
    "64:ff9b::/96",  # NAT64
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
]
# What an attacker would point a relay at: the TURN host itself, the cloud metadata service, the
# private network, multicast and broadcast, also spelled as IPv4-mapped or NAT64 IPv6.
FORBIDDEN_PEERS = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "10.1.2.3",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "192.168.255.254",
    "169.254.169.254",
    "100.64.0.1",
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",
    "fe80::1",
    "fc00::1",
]
PUBLIC_PEERS = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2001:4860:4860::8888"]


def test_the_shipped_config_denies_private_peers_and_uses_the_shared_secret():
    options = config_lines(DEPLOY_CONFIG.read_text())
    keys = {key for key, _ in options}
    values = dict(options)
    for flag in ["use-auth-secret", "no-multicast-peers", "fingerprint", "no-cli", "no-tlsv1", "no-tlsv1_1"]:
        assert flag in keys, flag
    assert "allow-loopback-peers" not in keys and "lt-cred-mech" not in keys and "user" not in keys
    assert values["static-auth-secret"] == "CHANGE_ME"
    assert values["realm"] == "peerlearn.example.com"
    assert (values["listening-port"], values["tls-listening-port"]) == ("3478", "5349")
    assert (values["user-quota"], values["total-quota"], values["stale-nonce"]) == ("12", "1200", "600")
    assert int(values["max-bps"]) > 0

    denied_values = [value for key, value in options if key == "denied-peer-ip"]
    assert not [v for v in denied_values if "/" in v], "coturn 4.6 ignores CIDR notation in denied-peer-ip"
    denied = [peer_range(value) for value in denied_values]
    for cidr in REQUIRED_DENIED:
        network = ipaddress.ip_network(cidr)
        assert any(
            start.version == network.version and start <= network.network_address and network.broadcast_address <= end
            for start, end in denied
        ), f"{cidr} is not denied"
    for public in PUBLIC_PEERS:
        address = ipaddress.ip_address(public)
        assert not any(start.version == address.version and start <= address <= end for start, end in denied), public


def test_coturn_starts_with_the_shipped_config_and_enforces_it():
    denied_values = [value for key, value in config_lines(DEPLOY_CONFIG.read_text()) if key == "denied-peer-ip"]
    with CoturnProcess(
        base_config=DEPLOY_CONFIG, secret=secrets.token_urlsafe(24)
    ) as server:  # returns once it answers STUN
        # It logs its configuration before that, but the log may reach the file a moment later; if it
        # never does, the assertions below say what is missing.
        with contextlib.suppress(TimeoutError):
            wait_until(
                lambda: all(f"Black listing: {value}" in server.log_text() for value in denied_values), timeout=5
            )
        assert server.running(), server.log_text()[-3000:]
        assert server.config_errors() == [], server.config_errors()
        log = server.log_text()
        not_loaded = [value for value in denied_values if f"Black listing: {value}" not in log]
        assert not_loaded == [], f"coturn did not load these denied-peer-ip lines: {not_loaded}"

        mapped = stun_binding(server.host, server.port)
        username, password = turn_credentials(user_id=201, secret=server.secret, ttl=300)
        allocation = turn_allocate(server.host, server.port, username, password)
        try:
            assert allocation.ok, f"{allocation.error_code} {allocation.reason}\n{server.log_text()[-2000:]}"
            assert allocation.realm == "peerlearn.example.com"
            answers = {
                peer: turn_create_permission(allocation, peer)[0] for peer in FORBIDDEN_PEERS + ["8.8.8.8", "1.1.1.1"]
            }
        finally:
            allocation.close()
        allowed = [peer for peer in FORBIDDEN_PEERS if answers[peer] == 0]
        print(
            f"\n[turn] deploy config: up {server.port}, {len(denied_values)} denied ranges loaded, "
            f"binding {mapped[0]}:{mapped[1]}, relay {allocation.relayed[0]}:{allocation.relayed[1]}, "
            "permissions " + ", ".join(f"{peer}={code or 'ok'}" for peer, code in answers.items())
        )
        v4 = [peer for peer in FORBIDDEN_PEERS if ":" not in peer]
        print(
            f"[turn] relay policy: {len(FORBIDDEN_PEERS)} forbidden targets probed with valid credentials, relays allowed {len(allowed)} "
            f"({len(v4)} IPv4 refused by denied-peer-ip with 403; {len(FORBIDDEN_PEERS) - len(v4)} IPv6 refused by the IPv4 relay's "
            "address family with 443, their denied ranges checked in the config)"
        )
        assert allowed == []
        # IPv4 targets are refused by denied-peer-ip (403); the IPv6 ones, on this IPv4 relay, by the
        # address family (443) before the list is consulted; the list's IPv6 ranges are checked above.
        assert all(answers[peer] == 403 for peer in FORBIDDEN_PEERS if ":" not in peer), answers
        assert answers["8.8.8.8"] == answers["1.1.1.1"] == 0, answers


CALL_CHECK_ICE = re.compile(r'<script id="cc-ice-servers" type="application/json">(.*?)</script>', re.S)


@pytest.mark.django_db
def test_relay_credentials_go_only_to_people_with_a_booked_call_soon(client, settings, learner, mentor, outsider):
    """The call check hands out TURN credentials only to the mentor and the booked learners of a
    session with a booking that starts within 48 hours: sign-up is open to anyone, and a throwaway
    session (far off, or booked by nobody) must not be a key to the relay."""
    import json
    from datetime import timedelta

    from django.utils import timezone

    from conftest import make_user
    from mentoring.models import Booking, Session
    from mentoring.tests.factories import make_session

    settings.STUN_URLS = ["stun:stun.example.org:3478"]
    settings.TURN_URLS = ["turn:turn.example.org:3478"]
    settings.TURN_SECRET = "call-check-secret"
    session = make_session(mentor, starts_in=timedelta(hours=30), capacity=2)
    Booking.objects.create(session=session, learner=learner)

    def issued(user) -> tuple[list[dict], bool]:
        client.force_login(user)
        response = client.get("/call-check/")
        assert response.status_code == 200
        html = response.content.decode()
        return json.loads(CALL_CHECK_ICE.search(html).group(1)), "data-relay-withheld" in html

    def relay_user(user) -> str | None:
        relays = [s for s in issued(user)[0] if any(u.startswith("turn") for u in s["urls"])]
        return relays[0]["username"].split(":")[1] if relays else None

    assert relay_user(learner) == str(learner.pk) and relay_user(mentor) == str(mentor.pk)
    servers, withheld = issued(outsider)
    assert servers == [{"urls": ["stun:stun.example.org:3478"]}] and withheld  # STUN only, and the page says why

    # A mentor's own sessions nobody booked, or a booking months away, are no key.
    lone = make_user("lone@example.com", "Lone Mentor", "mentor")
    make_session(lone, starts_in=timedelta(hours=2), capacity=3)
    far = make_session(lone, starts_in=timedelta(days=90), capacity=3)
    Booking.objects.create(session=far, learner=outsider)
    assert relay_user(lone) is None and relay_user(outsider) is None

    Booking.objects.filter(learner=learner).update(status=Booking.Status.CANCELLED)
    assert relay_user(learner) is None and relay_user(mentor) is None  # nobody booked any more
    Booking.objects.filter(learner=learner).update(status=Booking.Status.ACTIVE)
    ended = timezone.now() - timedelta(hours=2)
    Session.objects.filter(pk=session.pk).update(starts_at=ended, ends_at=ended + timedelta(hours=1))
    assert relay_user(mentor) is None and relay_user(learner) is None
