"""Editors manage Wagtail's redirects (portal/migrations/0002_editors_manage_redirects.py)."""

from __future__ import annotations

import pytest
from wagtail.contrib.redirects.models import Redirect


@pytest.mark.django_db
def test_editors_add_a_redirect_that_visitors_follow(client, editor, learner):
    client.force_login(editor)
    assert "/cms/redirects/" in client.get("/cms/").text  # in the editor's menu
    assert client.get("/cms/redirects/").status_code == 200
    response = client.post(
        "/cms/redirects/add/",
        {
            "old_path": "/old-pricing/",
            "site": "",
            "is_permanent": "on",
            "redirect_link": "https://learn.example.org/courses/",
        },
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    assert Redirect.objects.filter(old_path="/old-pricing").exists()
    client.logout()
    visit = client.get("/old-pricing/")
    assert visit.status_code == 301 and visit["Location"] == "https://learn.example.org/courses/"

    # A learner has no such permission: Wagtail's admin refuses them.
    client.force_login(learner)
    assert client.get("/cms/redirects/").status_code in (302, 403)
    assert Redirect.objects.count() == 1
