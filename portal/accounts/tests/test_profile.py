from __future__ import annotations

import pytest

from portal.accounts.models import User


@pytest.mark.django_db
def test_profile_requires_login(client):
    response = client.get("/profile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_profile_updates_name_and_time_zone(client, learner):
    client.force_login(learner)
    response = client.post("/profile/", {"display_name": "Alice L.", "time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    learner.refresh_from_db()
    assert (learner.display_name, learner.time_zone) == ("Alice L.", "Europe/Berlin")
    assert "Your profile is saved." in client.get("/profile/").text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"display_name": "", "time_zone": "Europe/Berlin"}, "This field is required."),
        ({"display_name": "Alice", "time_zone": "Nowhere/Land"}, "Choose a time zone from the list"),
    ],
)
def test_profile_bad_input_changes_nothing(client, learner, data, message):
    client.force_login(learner)
    response = client.post("/profile/", data)
    assert response.status_code == 200
    assert message in response.text
    fresh = User.objects.get(pk=learner.pk)
    assert (fresh.display_name, fresh.time_zone) == ("Alice Learner", "Asia/Kolkata")
