"""Two-factor authentication: available to everyone, required (MFA_REQUIRED_FOR_STAFF) for accounts
that can enter the Django or Wagtail admin, and every login form is the site's own, so the second
step cannot be skipped through an admin's login page."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.test import override_settings

from conftest import PASSWORD
from tests.totp import totp

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mfa_required")]


@pytest.fixture
def mfa_required():
    with override_settings(MFA_REQUIRED_FOR_STAFF=True):
        yield


def verified(user):
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    return user


def activate_totp(client, user) -> str:
    """Sign in, open the activation page, read the secret like a person would, confirm a code."""
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith("/accounts/reauthenticate/"), (
        "asks for the password again"
    )
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = re.search(
        r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"|value="([A-Z2-7]{16,})"[^>]*id="authenticator_secret"',
        page.text,
    )
    secret = next(g for g in secret.groups() if g)
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret)})
    assert response.status_code == 302, response.text
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    client.logout()
    return secret


def test_staff_and_editors_are_sent_to_set_up_an_authenticator_before_the_admins(client, admin_user, editor):
    for user, path in [
        (admin_user, "/admin/"),
        (admin_user, "/admin/mentoring/session/"),
        (editor, "/cms/"),
        (editor, "/cms/pages/"),
    ]:
        client.force_login(user)
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == f"/accounts/2fa/totp/activate/?next={path.replace('/', '%2F')}"
        assert client.get("/dashboard/").status_code == 200, "the rest of the site stays open to them"
        client.logout()


def test_learners_are_not_asked_and_can_turn_it_on_themselves(client, learner):
    client.force_login(learner)
    assert client.get("/cms/").status_code == 302 and "2fa" not in client.get("/cms/")["Location"]
    assert (
        "Authenticator app" in client.get("/accounts/2fa/").text
        or "Authenticator App" in client.get("/accounts/2fa/").text
    )
    client.logout()
    activate_totp(client, verified(learner))


def test_with_an_authenticator_staff_log_in_with_password_then_code_and_reach_the_admin(client, admin_user):
    secret = activate_totp(client, verified(admin_user))
    response = client.post("/accounts/login/", {"login": admin_user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/").status_code == 302, "a password alone does not sign in"
    wrong = client.post(
        "/accounts/2fa/authenticate/", {"code": "000000" if totp(secret, step_offset=1) != "000000" else "111111"}
    )
    assert wrong.status_code == 200 and "Incorrect code" in wrong.text
    response = client.post("/accounts/2fa/authenticate/", {"code": totp(secret, step_offset=1)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert client.get("/cms/").status_code == 200


def test_admin_and_wagtail_login_pages_lead_to_the_sites_login(client):
    assert client.get("/admin/login/?next=/admin/")["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/cms/login/")["Location"] == "/accounts/login/?next=%2Fcms%2F"
    assert client.get("/cms/")["Location"].startswith("/cms/login/?next=/cms/")
    assert client.get("/_util/login/?next=https://evil.example/")["Location"] == "/accounts/login/?next=%2F"
    # posting a password to the admins' old forms signs nobody in
    client.post("/admin/login/", {"username": "root@example.com", "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_wrong_codes_are_throttled_like_wrong_passwords(client, admin_user):
    secret = activate_totp(client, verified(admin_user))
    client.post("/accounts/login/", {"login": admin_user.email, "password": PASSWORD})
    good = {totp(secret, step_offset=k) for k in (-1, 0, 1, 2)}
    wrong_codes = [c for c in (f"{n:06d}" for n in range(100000, 100100)) if c not in good]
    answers = [client.post("/accounts/2fa/authenticate/", {"code": code}) for code in wrong_codes[:12]]
    throttled = next(i for i, r in enumerate(answers) if r.status_code == 429 or "Too many" in r.text)
    print(f"\n[mfa] wrong codes accepted before throttling: {throttled}")
    assert throttled == 5  # ACCOUNT_RATE_LIMITS['login_failed']: 5 per account
    response = client.post("/accounts/2fa/authenticate/", {"code": totp(secret, step_offset=1)})
    assert "_auth_user_id" not in client.session or response.status_code == 429, "a throttled login is not completed"
