"""No account enumeration: sign-up, a failed login and a password reset answer an existing email
exactly like an unknown one (same status, same redirect, same page once CSRF tokens are set aside).
Sign-up is checked with production's mandatory email verification: the owner of an existing
address gets an email about it, the visitor sees the usual "check your inbox" page."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client, override_settings

from conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKENS = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+|(csrftoken=)[^;"]+|(name="once" value=")[^"]+')


def answer(path: str, data: dict, email: str) -> tuple[int, str, str]:
    """Status, redirect and the page finally shown to a fresh visitor who posted ``data`` (the email
    they typed, echoed back in the form, is masked)."""
    client = Client()
    response = client.post(path, data)
    location = response.get("Location", "")
    final = client.get(location) if location else response
    return response.status_code, location, TOKENS.sub(r"\1\2\3", final.content.decode()).replace(email, "EMAIL")


def test_a_failed_login_says_the_same_for_a_known_and_an_unknown_email(learner):
    known = answer("/accounts/login/", {"login": learner.email, "password": "wrong-password-1"}, learner.email)
    unknown = answer(
        "/accounts/login/", {"login": "nobody@example.com", "password": "wrong-password-1"}, "nobody@example.com"
    )
    assert known == unknown
    assert known[:2] == (200, "") and "not correct" in known[2]


def test_a_password_reset_says_the_same_for_a_known_and_an_unknown_email(learner):
    known = answer("/accounts/password/reset/", {"email": learner.email}, learner.email)
    unknown = answer("/accounts/password/reset/", {"email": "nobody@example.com"}, "nobody@example.com")
    assert known == unknown
    assert known[:2] == (302, "/accounts/password/reset/done/")
    # Only the mailbox's owner learns which it was: a reset link, or "no account with this address".
    assert [m.to for m in mail.outbox] == [[learner.email], ["nobody@example.com"]]
    assert (
        "/accounts/password/reset/key/" in mail.outbox[0].body
        and "/accounts/password/reset/key/" not in mail.outbox[1].body
    )


@override_settings(ACCOUNT_EMAIL_VERIFICATION="mandatory")
def test_signing_up_with_a_taken_email_looks_like_any_sign_up(learner):
    form = {
        "display_name": "Mallory",
        "role": "learner",
        "time_zone": "UTC",
        "password1": PASSWORD + "x",
        "password2": PASSWORD + "x",
    }
    taken = answer("/accounts/signup/", {**form, "email": learner.email}, learner.email)
    fresh = answer("/accounts/signup/", {**form, "email": "newcomer@example.com"}, "newcomer@example.com")
    assert taken == fresh
    assert taken[0] == 302 and "confirm" in taken[1]
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert set(subjects) == {learner.email, "newcomer@example.com"}
    assert "Account" in subjects[learner.email] or "account" in subjects[learner.email]  # "Account Already Exists"
    print(
        f"\n[enumeration] sign-up, failed login, password reset: taken and unknown emails answered alike; mails: {subjects}"
    )
