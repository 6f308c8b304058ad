"""GET /live/identity/: who this browser is signed in as now, for tabs whose socket was closed."""

from __future__ import annotations

import pytest

from mentoring.services.notifications import notify

pytestmark = pytest.mark.django_db


def test_signed_out_it_says_nobody_and_is_never_cached(client):
    response = client.get("/live/identity/")
    assert response.status_code == 200
    assert response.json() == {"user": None}
    assert "no-store" in response["Cache-Control"]


def test_signed_in_it_says_who_and_their_unread_count(client, learner, other_learner):
    notify(user=learner, kind="reminder", text="Starts soon")
    notify(user=other_learner, kind="reminder", text="Not Alice's")
    client.force_login(learner)
    response = client.get("/live/identity/")
    assert response.json() == {"user": {"id": learner.pk, "name": "Alice"}, "unread": 1}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("method", ["post", "put", "delete", "head"])
def test_only_get(client, learner, method):
    client.force_login(learner)
    assert getattr(client, method)("/live/identity/").status_code == 405
