from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.db import connection

from portal.accounts.models import User

SIGNUP_URL = "/accounts/signup/"


def signup_data(**overrides) -> dict:
    data = {
        "display_name": "Grace Hopper",
        "email": "grace@example.com",
        "password1": "compiler-cobol-1959",
        "password2": "compiler-cobol-1959",
        "role": "learner",
        "time_zone": "Asia/Kolkata",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["learner", "mentor"])
def test_signup_stores_role_and_time_zone_and_lands_on_dashboard(client, role):
    assert connection.vendor == "postgresql"  # the suite runs on the real PostgreSQL

    response = client.post(SIGNUP_URL, signup_data(role=role, time_zone="America/New_York"))

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    user = User.objects.get(email="grace@example.com")
    assert (user.display_name, user.role, user.time_zone) == ("Grace Hopper", role, "America/New_York")
    assert EmailAddress.objects.filter(user=user, email="grace@example.com", primary=True).exists()
    dashboard = client.get("/dashboard/")
    assert dashboard.status_code == 200
    assert "Welcome, Grace Hopper" in dashboard.text
    assert ("Mentor dashboard" if role == "mentor" else "Learner dashboard") in dashboard.text


@pytest.mark.django_db
def test_signup_page_labels_every_field(client):
    page = client.get(SIGNUP_URL).text
    for field_id, label in [
        ("id_display_name", "Your name"),
        ("id_email", "Email"),
        ("id_password1", "Password"),
        ("id_password2", "Repeat password"),
        ("id_time_zone", "Time zone"),
    ]:
        assert f'<label class="field-label" for="{field_id}">{label}' in page
    assert '<legend class="field-label">I want to</legend>' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"password1": "short1", "password2": "short1"}, "password1", "at least 10 characters"),
        ({"password1": "password123", "password2": "password123"}, "password1", "too common"),
        ({"password2": "something-else-2024"}, "password2", "You must type the same password each time."),
        ({"role": "admin"}, "role", "Select a valid choice"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Choose a time zone from the list"),
        ({"display_name": "   "}, "display_name", "Tell us your name"),
    ],
)
def test_signup_bad_input_shows_specific_error_and_creates_nothing(client, overrides, field, message):
    response = client.post(SIGNUP_URL, signup_data(**overrides))

    assert response.status_code == 200
    errors = " ".join(str(e) for e in response.context["form"].errors.get(field, []))
    assert message in errors, response.context["form"].errors
    assert message.split("'")[0] in response.text.replace("&#x27;", "'")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_signup_with_existing_email_is_refused(client, learner):
    response = client.post(SIGNUP_URL, signup_data(email=learner.email.upper()))

    assert response.status_code == 200
    assert "A user is already registered with this email address." in response.text
    assert User.objects.count() == 1
    assert User.objects.get().display_name == "Alice Learner"
