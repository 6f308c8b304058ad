"""Wagtail's admin reads and shows dates in the editor's own time zone (their site profile's)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command
from wagtail.models import Page
from wagtail.test.utils.form_data import nested_form_data, streamfield

from cms_pages.models import StandardPage
from cms_pages.selectors import home_page_get
from conftest import make_user


@pytest.fixture
def berlin_moderator(db):
    user = make_user("mo@example.com", "Mo Moderator", "learner", "Europe/Berlin")
    user.groups.add(*Group.objects.filter(name__in=["Editors", "Moderators"]))
    return user


@pytest.mark.django_db
def test_an_editor_in_berlin_schedules_in_berlin_time_and_it_goes_live_at_that_minute(client, berlin_moderator):
    page = StandardPage(title="Winter sale", slug="winter-sale", intro="Soon", live=False)
    home_page_get().add_child(instance=page)
    client.force_login(berlin_moderator)

    year = datetime.now(UTC).year + 1  # a January always ahead: winter, Berlin is UTC+1
    form = client.get(f"/cms/pages/{page.pk}/edit/")
    assert form.status_code == 200
    dialog = form.text[form.text.index('id="schedule-publishing-dialog"') :]
    assert "Dates and times are in <strong>Europe/Berlin</strong>" in dialog[:3000]

    data = nested_form_data(
        {
            "title": "Winter sale",
            "slug": "winter-sale",
            "intro": "Now on",
            "body": streamfield([]),
            "go_live_at": f"{year}-01-15 19:31",  # what the editor typed: Berlin time (UTC+1 in winter)
            "expire_at": "",
            "comments-TOTAL_FORMS": "0",
            "comments-INITIAL_FORMS": "0",
            "comments-MIN_NUM_FORMS": "0",
            "comments-MAX_NUM_FORMS": "1000",
        }
    )
    response = client.post(f"/cms/pages/{page.pk}/edit/", {**data, "action-publish": "action-publish"})
    assert response.status_code == 302, response.content.decode()[:2000]

    page = Page.objects.get(pk=page.pk)
    assert page.go_live_at == datetime(year, 1, 15, 18, 31, tzinfo=UTC)
    assert page.latest_revision.approved_go_live_at == datetime(year, 1, 15, 18, 31, tzinfo=UTC)
    assert not page.live

    # The job publishes it at that minute, not an hour off either way.
    with time_machine.travel(datetime(year, 1, 15, 18, 30, 30, tzinfo=UTC)):
        call_command("publish_scheduled", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert not Page.objects.get(pk=page.pk).live
    with time_machine.travel(datetime(year, 1, 15, 18, 31, 30, tzinfo=UTC)):
        call_command("publish_scheduled", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert Page.objects.get(pk=page.pk).live


@pytest.mark.django_db
def test_the_wagtail_profile_follows_the_site_profile(client, berlin_moderator):
    from wagtail.users.models import UserProfile

    client.force_login(berlin_moderator)
    assert client.get("/cms/").status_code == 200
    assert UserProfile.get_for_user(berlin_moderator).current_time_zone == "Europe/Berlin"
    berlin_moderator.time_zone = "America/New_York"
    berlin_moderator.save(update_fields=["time_zone"])
    assert client.get("/cms/").status_code == 200
    assert UserProfile.get_for_user(berlin_moderator).current_time_zone == "America/New_York"
    # Wagtail's own account page offers no second, contradicting choice of zone.
    account = client.get("/cms/account/")
    assert account.status_code == 200 and "current_time_zone" not in account.text
