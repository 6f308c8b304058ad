"""Wagtail's live preview frames the edited page inside the admin; the public site stays unframeable."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import RequestFactory
from wagtail.models import get_page_models
from wagtail.test.utils.form_data import nested_form_data

from cms_pages.demo import demo_contact_seed
from cms_pages.models import SiteChrome, StandardPage
from cms_pages.selectors import home_page_get
from cms_pages.tests.factories import make_catalog, make_course


def frame_ancestors(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(p.strip() for p in policy.split(";") if p.strip().startswith("frame-ancestors"))


@pytest.mark.django_db
def test_the_admin_preview_may_be_framed_by_the_admin_and_the_public_page_may_not(client, admin_user):
    home = home_page_get()
    client.force_login(admin_user)
    url = f"/cms/pages/{home.pk}/edit/preview/"
    data = nested_form_data(
        {
            "title": home.title,
            "slug": home.slug,
            "hero_heading": "Previewed heading",
            "hero_intro": "",
            "signup_label": "Go",
            "login_label": "In",
            "body-count": 0,
        }
    )
    assert client.post(url, data).json()["is_valid"]
    preview = client.get(url + "?mode=")
    assert preview.status_code == 200 and "Previewed heading" in preview.text
    assert frame_ancestors(preview) == "frame-ancestors 'self'"
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    client.logout()
    public = client.get("/")
    assert "Previewed heading" not in public.text
    assert frame_ancestors(public) == "frame-ancestors 'none'" and public.headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_every_page_type_and_the_chrome_preview_in_every_mode(client, admin_user):
    home = home_page_get()
    index = make_catalog()
    course = make_course(index)
    about = StandardPage(title="About", slug="about")
    home.add_child(instance=about)
    demo_contact_seed(home)
    objects = [home, index, course, about, home.get_children().get(slug="contact").specific, SiteChrome.load()]
    page_types = {m for m in get_page_models() if m._meta.app_label == "cms_pages"}
    assert page_types == {type(o) for o in objects[:-1]}, "a page type without a preview check"
    client.force_login(admin_user)  # the editor's session cookie goes along to the preview request
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    admin_request = RequestFactory().get("/cms/", HTTP_COOKIE=f"{session.key}={session.value}")
    admin_request.user = admin_user
    previews = 0
    for obj in objects:
        for mode, _label in obj.preview_modes:
            response = obj.make_preview_request(admin_request, mode, extra_request_attrs={"user": admin_user})
            assert response.status_code == 200, (obj, mode)
            assert frame_ancestors(response) == "frame-ancestors 'self'", (obj, mode)
            previews += 1
    client.logout()
    for obj in objects[:-1]:
        assert frame_ancestors(client.get(obj.url)) == "frame-ancestors 'none'", obj
    print(f"[preview] {len(page_types)} page types + menus and footer, {previews} preview modes framable by the admin")


@pytest.mark.django_db
def test_a_course_preview_from_the_edit_form_renders(client, admin_user):
    """The edit form's unsaved course (its skills held in memory) renders in the preview, no 500."""
    from mentoring.tests.factories import skill

    course = make_course(make_catalog())
    python = skill("Python")
    client.force_login(admin_user)
    url = f"/cms/pages/{course.pk}/edit/preview/"
    data = nested_form_data(
        {
            "title": course.title,
            "slug": course.slug,
            "summary": "A previewed summary.",
            "level": "beginner",
            "estimated_effort": "",
            "skills": [python.pk],
            "hero_image": "",
            "hero_image_alt": "",
            "body-count": 0,
        }
    )
    assert client.post(url, data).json()["is_valid"]
    preview = client.get(url + "?mode=")
    assert preview.status_code == 200 and "A previewed summary." in preview.text
    assert frame_ancestors(preview) == "frame-ancestors 'self'"
