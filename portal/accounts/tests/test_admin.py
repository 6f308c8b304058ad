from __future__ import annotations

import pytest

from portal.accounts.models import User


@pytest.mark.django_db
def test_staff_deactivates_a_user_from_the_admin_list(client, admin_user, learner, other_learner):
    client.force_login(admin_user)
    listing = client.get("/admin/accounts/user/?q=alice")
    assert listing.status_code == 200 and "alice@example.com" in listing.text and "bob@example.com" not in listing.text

    response = client.post(
        "/admin/accounts/user/", {"action": "deactivate_users", "_selected_action": [learner.pk]}, follow=True
    )
    assert "Deactivated 1 user(s)." in response.text
    assert not User.objects.get(pk=learner.pk).is_active
    assert User.objects.get(pk=other_learner.pk).is_active


@pytest.mark.django_db
def test_non_staff_cannot_open_the_user_admin(client, learner):
    client.force_login(learner)
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
