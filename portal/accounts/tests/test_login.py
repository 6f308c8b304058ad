from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail

from conftest import PASSWORD

LOGIN_URL = "/accounts/login/"


@pytest.mark.django_db
def test_login_by_email_goes_to_dashboard_and_logout_ends_session(client, mentor):
    response = client.post(LOGIN_URL, {"login": mentor.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200

    logout = client.post("/accounts/logout/")
    assert logout.status_code == 302
    assert "_auth_user_id" not in client.session
    after = client.get("/dashboard/")
    assert after.status_code == 302
    assert after["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_wrong_password_is_refused_with_a_message(client, learner):
    response = client.post(LOGIN_URL, {"login": learner.email, "password": "wrong-password-1"})
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_login_is_rate_limited_after_repeated_failures(client, learner):
    for _ in range(5):
        response = client.post(LOGIN_URL, {"login": learner.email, "password": "wrong-password-1"})
        assert "not correct" in response.text

    # The documented limit (5 failures per account in 5 minutes) now refuses even the right password.
    response = client.post(LOGIN_URL, {"login": learner.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts. Try again later." in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_password_reset_mail_link_sets_a_new_password(client, learner):
    response = client.post("/accounts/password/reset/", {"email": learner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [learner.email]
    link = re.search(re.escape(settings.SITE_URL) + r"(/accounts/password/reset/key/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    done = client.post(set_url, {"password1": "brand-new-secret-77", "password2": "brand-new-secret-77"})
    assert done.status_code == 302

    learner.refresh_from_db()
    assert learner.check_password("brand-new-secret-77")
    assert not learner.check_password(PASSWORD)
    assert client.post(LOGIN_URL, {"login": learner.email, "password": "brand-new-secret-77"}).status_code == 302


@pytest.mark.django_db
def test_password_reset_for_unknown_email_answers_like_a_known_one(client, learner):
    known = client.post("/accounts/password/reset/", {"email": learner.email})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])


@pytest.mark.django_db
def test_passwords_change_only_on_the_sites_account_pages(client, admin_user, editor):
    client.force_login(admin_user)
    assert client.get("/admin/password_change/")["Location"] == "/accounts/password/change/"
    client.force_login(editor)
    assert client.get("/cms/account/").status_code == 200
    assert client.get("/cms/account/change_password/").status_code == 404
    assert client.get("/cms/password_reset/").status_code == 404
