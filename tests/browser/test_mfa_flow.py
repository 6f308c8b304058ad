"""A staff member's first visit to the admin in Chromium, with two-factor authentication required:
sign in, confirm the password, scan (here: read) the secret, enter a code, reach the admin; next
time, password then code. No Content Security Policy violation on the way."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from playwright.sync_api import expect

from conftest import PASSWORD
from tests.browser.test_csp import LISTEN
from tests.servers import DaphneProcess, database_url
from tests.totp import totp

pytestmark = pytest.mark.browser


@pytest.fixture
def strict_server(live_db):
    server = DaphneProcess(
        env={"DATABASE_URL": database_url(connection.settings_dict), "MFA_REQUIRED_FOR_STAFF": "true"}
    ).start()
    yield server
    server.stop()


def sign_in(page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_staff_set_up_an_authenticator_on_first_visit_then_sign_in_with_a_code(strict_server, chromium, admin_user):
    EmailAddress.objects.create(user=admin_user, email=admin_user.email, verified=True, primary=True)
    base = strict_server.url
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(LISTEN)
    violations = []
    try:
        page = context.new_page()
        page.goto(base + "/admin/")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=(/admin/|%2Fadmin%2F)"))
        sign_in(page, admin_user.email)

        # Sent to set up an authenticator, after confirming the password once more.
        expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
        violations += page.evaluate("window.__csp")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
        expect(page.get_by_text("two-factor authentication", exact=False).first).to_be_visible()
        expect(page.locator("img[src^='data:image/svg+xml']")).to_be_visible()  # the QR code
        secret = page.locator("#authenticator_secret").input_value()
        violations += page.evaluate("window.__csp")
        page.get_by_label("Authenticator code").fill(totp(secret))
        page.get_by_role("button", name="Activate").click()
        violations += page.evaluate("window.__csp")

        page.goto(base + "/admin/")
        expect(page.get_by_text("PeerLearn administration").first).to_be_visible()

        # Next time: the password alone is not enough.
        context.clear_cookies()
        page.goto(base + "/admin/")
        sign_in(page, admin_user.email)
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
        violations += page.evaluate("window.__csp")
        page.get_by_label("Code", exact=True).fill(totp(secret, step_offset=1))  # a code not used yet
        page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
        expect(page).to_have_url(re.compile(r"/admin/$"))
        expect(page.get_by_text("PeerLearn administration").first).to_be_visible()
        violations += page.evaluate("window.__csp")
    except Exception:
        page.screenshot(path=str(strict_server.log_path.with_suffix(".png")), full_page=True)
        raise
    finally:
        context.close()
    print(
        f"\n[mfa] staff set up an authenticator on first visit and signed in with password + code; CSP violations {len(violations)}"
    )
    assert violations == []
