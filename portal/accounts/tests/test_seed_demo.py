from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from wagtail.models import Site

from cms_pages.models import StandardPage
from portal.accounts.models import User


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_creates_the_documented_accounts(monkeypatch, client):
    monkeypatch.setenv("DEMO_PASSWORD", "local-demo-pass-1")
    call_command("seed_demo")
    call_command("seed_demo")

    emails = set(User.objects.values_list("email", flat=True))
    expected = {"admin@peerlearn.local", "editor@peerlearn.local"}
    expected |= {f"mentor{i}@peerlearn.local" for i in range(1, 4)}
    expected |= {f"learner{i}@peerlearn.local" for i in range(1, 6)}
    assert emails == expected
    assert User.objects.get(email="admin@peerlearn.local").is_superuser
    editor = User.objects.get(email="editor@peerlearn.local")
    assert list(editor.groups.values_list("name", flat=True)) == ["Editors"] and not editor.is_staff
    assert User.objects.filter(role="mentor").count() == 3
    assert StandardPage.objects.filter(slug="about").count() == 1
    assert Site.objects.get(is_default_site=True).root_page.specific.body

    assert (
        client.post(
            "/accounts/login/", {"login": "learner1@peerlearn.local", "password": "local-demo-pass-1"}
        ).status_code
        == 302
    )

    from cms_pages.models import CoursePage, SiteChrome
    from mentoring.models import Session

    courses = CoursePage.objects.live()
    assert courses.count() >= 6
    assert len(set(courses.values_list("level", flat=True))) == 3
    assert all(c.hero_image_id and c.hero_image_alt for c in courses)
    assert len({s for c in courses for s in c.skills.values_list("slug", flat=True)}) >= 6
    chrome = SiteChrome.load()
    assert chrome.menu_items.count() >= 3 and chrome.footer_links.count() >= 3
    assert Session.objects.filter(status="scheduled", booked_count__gte=1).exists()
    assert Session.objects.filter(feedback__isnull=False).exists()


@pytest.mark.django_db
def test_seed_demo_keeps_what_an_editor_changed(client):
    call_command("seed_demo")
    home = Site.objects.get(is_default_site=True).root_page.specific
    home.hero_heading = "Edited by a human"
    home.save_revision().publish()

    call_command("seed_demo")
    home.refresh_from_db()
    assert home.hero_heading == "Edited by a human"


@pytest.mark.django_db
def test_seed_demo_refuses_production_without_force(monkeypatch):
    monkeypatch.setenv("DJANGO_ENV", "production")
    with pytest.raises(CommandError, match="refuses to run with DJANGO_ENV=production"):
        call_command("seed_demo")
    assert not User.objects.exists()
