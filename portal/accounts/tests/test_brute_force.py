"""Password guessing is throttled at the documented limits (ACCOUNT_RATE_LIMITS["login_failed"]:
10 failures a minute per client address, 5 per account in 5 minutes), on every login door, and a
forged X-Forwarded-For does not buy an attacker fresh attempts: allauth's own proxy setting is
exercised here with both values, and in the running site portal/proxies.py believes the header only
from TRUSTED_PROXY_IPS (tested in test_trusted_proxies.py); nginx (deploy/nginx.conf) replaces it."""

from __future__ import annotations

import itertools
import random

import pytest
from django.test import override_settings

from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
THROTTLED = "Too many failed login attempts"
PROXY = "10.0.0.2"  # nginx, as Daphne sees it
CLIENT = "198.51.100.7"  # the attacker's real address


def spoofed() -> str:
    return f"{random.randint(1, 223)}.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def headers(behind_proxy: bool) -> dict:
    """One request's addressing: a fresh forged X-Forwarded-For every time."""
    if behind_proxy:  # nginx overwrites the header with the address it saw; a leftover forged value is ignored too
        return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{spoofed()}, {CLIENT}"}
    return {"REMOTE_ADDR": CLIENT, "HTTP_X_FORWARDED_FOR": spoofed()}


def attempts_until_throttled(client, emails, behind_proxy: bool, limit: int = 30) -> int:
    for attempt, email in zip(range(limit), itertools.cycle(emails)):
        response = client.post(LOGIN, {"login": email, "password": "not-the-password-1"}, **headers(behind_proxy))
        if THROTTLED in response.text:
            return attempt
        assert "not correct" in response.text
    return limit


@pytest.fixture
def accounts(db):
    return [make_user(f"user{i}@example.com", f"User {i}", "learner") for i in range(12)]


@pytest.mark.parametrize("behind_proxy", [False, True], ids=["direct", "behind-proxy"])
def test_guessing_one_accounts_password_stops_after_5_whatever_the_forwarded_for(client, accounts, behind_proxy):
    with override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1 if behind_proxy else 0):
        allowed = attempts_until_throttled(client, [accounts[0].email], behind_proxy)
        # Once throttled, even the right password from a "new" address does not sign in: no bypass.
        bypasses = 0
        for _ in range(5):
            client.post(LOGIN, {"login": accounts[0].email, "password": PASSWORD}, **headers(behind_proxy))
            bypasses += "_auth_user_id" in client.session
    print(
        f"\n[brute-force] one account, {'behind proxy' if behind_proxy else 'direct'}, X-Forwarded-For forged every time: "
        f"{allowed} attempts before throttle, bypasses {bypasses}"
    )
    assert allowed == 5
    assert bypasses == 0


@pytest.mark.parametrize("behind_proxy", [False, True], ids=["direct", "behind-proxy"])
def test_guessing_across_accounts_from_one_client_stops_after_10_whatever_the_forwarded_for(
    client, accounts, behind_proxy
):
    with override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1 if behind_proxy else 0):
        allowed = attempts_until_throttled(client, [a.email for a in accounts], behind_proxy)
        # the throttle holds for a fresh account and a fresh forged address, with the right password too
        bypass = client.post(LOGIN, {"login": accounts[-1].email, "password": PASSWORD}, **headers(behind_proxy))
    print(
        f"\n[brute-force] 12 accounts from one client, {'behind proxy' if behind_proxy else 'direct'}: "
        f"{allowed} attempts before throttle, bypasses {int('_auth_user_id' in client.session)}"
    )
    assert allowed == 10
    assert THROTTLED in bypass.text and "_auth_user_id" not in client.session


def test_the_admins_login_pages_are_the_same_throttled_form(client, admin_user, editor):
    """/admin/login/, /cms/login/ and Wagtail's /_util/login/ take no password: they send the visitor
    to the site's login, so a staff password is guessed at the same throttled door."""
    for path in ("/admin/login/", "/cms/login/", "/_util/login/"):
        response = client.post(path, {"username": admin_user.email, "password": PASSWORD, "login": admin_user.email})
        assert response.status_code == 302 and response["Location"].startswith(LOGIN), path
        assert "_auth_user_id" not in client.session, path
    allowed = attempts_until_throttled(client, [admin_user.email], behind_proxy=False)
    refused = client.post(LOGIN, {"login": admin_user.email, "password": PASSWORD}, REMOTE_ADDR=spoofed())
    print(
        f"\n[brute-force] staff account through the admin's login: {allowed} attempts before throttle, "
        f"bypasses {int('_auth_user_id' in client.session)}"
    )
    assert allowed == 5 and THROTTLED in refused.text and "_auth_user_id" not in client.session


def test_password_reset_requests_are_throttled_per_account(client, accounts):
    answers = [
        client.post("/accounts/password/reset/", {"email": accounts[0].email}, REMOTE_ADDR=spoofed()).status_code
        for _ in range(8)
    ]
    print(
        f"\n[brute-force] password reset mails for one account: {answers.index(429) if 429 in answers else len(answers)} before throttle"
    )
    assert answers[:5] == [302] * 5 and 429 in answers
