"""Menus and footer: editors may edit them, changes go through draft, preview and the moderators'
approval like pages, and the public only ever sees the published version."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from wagtail.models import WorkflowState
from wagtail.test.utils.form_data import inline_formset, nested_form_data

from cms_pages.models import SiteChrome
from conftest import make_user


def chrome_form(site_name: str, menu: list[tuple[str, str]], footer_text: str = "© PeerLearn.") -> dict:
    return nested_form_data(
        {
            "site_name": site_name,
            "tagline": "Live mentoring sessions, in your browser.",
            "social_image": "",
            "footer_text": footer_text,
            "menu_items": inline_formset([{"label": label, "link_page": "", "link_url": url} for label, url in menu]),
            "footer_links": inline_formset([]),
        }
    )


@pytest.fixture
def chrome(db):
    chrome = SiteChrome.load()
    chrome.menu_items.create(label="Mentors", link_url="/mentors/", sort_order=0)
    chrome.save()
    return chrome


@pytest.fixture
def moderator(db):
    user = make_user("mo@example.com", "Mo Moderator")
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def test_editors_may_open_menus_and_footer_under_settings(client, editor, chrome):
    client.force_login(editor)
    admin_home = client.get("/cms/").text
    assert "Menus and footer" in admin_home
    edit = client.get(reverse("wagtailsnippets_cms_pages_sitechrome:edit", args=[chrome.pk]))
    assert edit.status_code == 200
    assert "Submit to Moderators approval" in edit.text
    # The preview opens at desktop width, where the main menu being edited shows in full.
    checked = re.search(r'<input[^>]*name="preview-size"[^>]*value="(\w+)"[^>]*\schecked', edit.text)
    assert checked and checked.group(1) == "desktop"


def test_a_submitted_draft_is_not_public_until_a_moderator_approves(client, editor, moderator, chrome):
    url = reverse("wagtailsnippets_cms_pages_sitechrome:edit", args=[chrome.pk])
    client.force_login(editor)
    # Publishing is the moderators' right: an editor's "publish" leaves the live chrome as it was.
    client.post(url, {**chrome_form("Hacked name", [("Nope", "/nope/")]), "action-publish": "publish"})
    response = client.post(
        url,
        {
            **chrome_form("PeerLearn Academy", [("Mentors", "/mentors/"), ("Events", "/events/")]),
            "action-submit": "submit",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    chrome.refresh_from_db()
    assert chrome.site_name == "PeerLearn" and chrome.has_unpublished_changes
    state = WorkflowState.objects.get(base_content_type__model="sitechrome", object_id=str(chrome.pk))
    assert state.status == WorkflowState.STATUS_IN_PROGRESS

    # The draft shows in the preview only.
    preview_url = reverse("wagtailsnippets_cms_pages_sitechrome:preview_on_edit", args=[chrome.pk])
    assert client.post(preview_url, chrome_form("PeerLearn Academy", [("Events", "/events/")])).json()["is_valid"]
    preview = client.get(preview_url)
    assert "PeerLearn Academy" in preview.text and 'href="/events/"' in preview.text
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]
    client.logout()
    public = client.get("/mentors/").text
    assert "PeerLearn Academy" not in public and "/events/" not in public and "Hacked name" not in public

    state.current_task_state.task.specific.on_action(state.current_task_state, moderator, "approve")
    public = client.get("/mentors/").text
    assert "PeerLearn Academy" in public and 'href="/events/"' in public
    print(f"[chrome] draft public before approval: False, after: {'PeerLearn Academy' in public}")


def test_the_chrome_row_is_the_published_version(chrome):
    chrome.refresh_from_db()
    assert chrome.live and not chrome.has_unpublished_changes
    assert [i.label for i in chrome.menu_items.all()] == ["Mentors"]
