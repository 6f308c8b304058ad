from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Site


@pytest.mark.django_db
def test_anonymous_visits_are_served_from_the_cache_until_something_is_published(client):
    first = client.get("/")
    assert first["X-Page-Cache"] == "miss"
    with CaptureQueriesContext(connection) as queries:
        second = client.get("/")
    assert second["X-Page-Cache"] == "hit" and second.content == first.content
    assert len(queries.captured_queries) == 0
    # A hit says its length, as a rendered page does: Daphne would otherwise send it chunked.
    assert second["Content-Length"] == first["Content-Length"] == str(len(first.content))

    home = Site.objects.get(is_default_site=True).root_page.specific
    home.hero_heading = "Freshly published heading"
    home.save_revision().publish()

    third = client.get("/")
    assert third["X-Page-Cache"] == "miss"
    assert "Freshly published heading" in third.text


@pytest.mark.django_db
def test_signed_in_users_and_query_strings_bypass_the_cache(client, learner):
    client.get("/")
    assert "X-Page-Cache" not in client.get("/?utm=1")
    client.force_login(learner)
    response = client.get("/")
    assert "X-Page-Cache" not in response
    assert "Go to your dashboard" in response.text  # personalised, never the anonymous copy


@pytest.mark.django_db
def test_unpublished_page_is_not_served_from_the_cache(client):
    from cms_pages.models import StandardPage

    about = StandardPage(title="About", slug="about-us", intro="Hi")
    Site.objects.get(is_default_site=True).root_page.add_child(instance=about)
    about.save_revision().publish()
    assert client.get("/about-us/").status_code == 200
    assert client.get("/about-us/")["X-Page-Cache"] == "hit"
    about.unpublish()
    assert client.get("/about-us/").status_code == 404
