from __future__ import annotations

import pytest
from django.test import Client
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from cms_pages.models import CourseIndexPage, FormPage, HomePage, StandardPage
from cms_pages.selectors import home_page_get
from conftest import PASSWORD, make_user


class PageTreeRulesTests(WagtailPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.admin = make_user("root@example.com", "Root", is_staff=True, is_superuser=True)

    def setUp(self):
        self.client.force_login(self.admin)

    def test_home_page_is_the_site_root_and_only_one_may_exist(self):
        self.assertIsInstance(home_page_get(), HomePage)
        self.assertFalse(HomePage.can_create_at(Page.get_first_root_node()))  # max_count = 1, already there
        self.assertAllowedParentPageTypes(HomePage, {Page})

    def test_standard_pages_live_under_home_or_each_other(self):
        self.assertAllowedParentPageTypes(StandardPage, {HomePage, StandardPage})
        self.assertAllowedSubpageTypes(HomePage, {StandardPage, CourseIndexPage, FormPage})
        self.assertAllowedParentPageTypes(FormPage, {HomePage, StandardPage})
        self.assertCanNotCreateAt(StandardPage, HomePage)

    def test_editor_can_create_a_standard_page_through_the_admin_form(self):
        self.assertCanCreate(
            home_page_get(),
            StandardPage,
            nested_form_data(
                {
                    "title": "FAQ",
                    "slug": "faq",
                    "intro": "Answers to common questions.",
                    "body": streamfield([("paragraph", rich_text("<p>Yes, it is free to sign up.</p>"))]),
                }
            ),
        )
        self.assertTrue(StandardPage.objects.filter(slug="faq").exists())


@pytest.mark.django_db
def test_landing_page_is_served_by_wagtail(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["page"].specific.__class__ is HomePage
    assert home_page_get().hero_heading in response.text
    assert 'href="/accounts/signup/"' in response.text and 'href="/accounts/login/"' in response.text


@pytest.mark.django_db
def test_every_block_renders_on_a_standard_page(client):
    image = Image.objects.create(title="Mentor at work", file=get_test_image_file(size=(1200, 800)))
    page = StandardPage(
        title="Blocks",
        slug="blocks",
        intro="All of them",
        body=[
            ("heading", {"text": "A heading block", "size": "h2"}),
            ("paragraph", "<p>Some <b>rich</b> text.</p>"),
            (
                "image",
                {
                    "image": {"image": image, "alt_text": "A mentor pointing at a screen", "decorative": False},
                    "caption": "Pairing",
                },
            ),
            ("quote", {"text": "Best hour of my week.", "attribution": "Sam"}),
            (
                "call_to_action",
                {
                    "heading": "Join now",
                    "text": "It is free.",
                    "button_label": "Sign up",
                    "button_page": None,
                    "button_url": "/accounts/signup/",
                },
            ),
        ],
    )
    home_page_get().add_child(instance=page)
    page.save_revision().publish()

    html = client.get("/blocks/").text
    assert '<h2 class="block-heading">A heading block</h2>' in html
    assert "<b>rich</b>" in html
    assert 'alt="A mentor pointing at a screen"' in html and "srcset=" in html
    assert "Best hour of my week." in html and "— Sam" in html
    assert '<a class="btn btn-accent" href="/accounts/signup/">Sign up</a>' in html


@pytest.mark.django_db
def test_editor_submits_the_hero_a_moderator_approves_and_an_anonymous_visitor_sees_it(client, editor):
    from django.contrib.auth.models import Group

    moderator = make_user("mo@example.com", "Mo Moderator")
    moderator.groups.add(Group.objects.get(name="Moderators"))
    page = home_page_get()
    edit_url = f"/cms/pages/{page.pk}/edit/"
    form = {
        "title": page.title,
        "slug": page.slug,
        "hero_heading": "Mentors for every step of your career",
        "hero_intro": "Fresh from the editor.",
        "signup_label": "Join PeerLearn",
        "login_label": "Sign in",
        "body": streamfield([("heading", {"text": "Edited by Erin", "size": "h2"})]),
    }
    editor_client = Client()
    assert editor_client.post("/accounts/login/", {"login": editor.email, "password": PASSWORD}).status_code == 302
    # Editors have no Publish action: publishing through the edit view is refused.
    editor_client.post(edit_url, nested_form_data({**form, "action-publish": "action-publish"}))
    assert "Mentors for every step" not in client.get("/").text
    response = editor_client.post(edit_url, nested_form_data({**form, "action-submit": "action-submit"}))
    assert response.status_code == 302, response.content[:2000]
    page.refresh_from_db()
    assert page.hero_heading != "Mentors for every step of your career"  # submitted, not live
    assert "Mentors for every step" not in client.get("/").text

    mod_client = Client()
    mod_client.force_login(moderator)
    approve = mod_client.post(
        edit_url, nested_form_data({**form, "action-workflow-action": "true", "workflow-action-name": "approve"})
    )
    assert approve.status_code == 302, approve.content[:2000]
    page.refresh_from_db()
    assert page.live and page.hero_heading == "Mentors for every step of your career"
    html = client.get("/").text
    assert "Mentors for every step of your career" in html
    assert "Join PeerLearn" in html and "Edited by Erin" in html


@pytest.mark.django_db
def test_call_to_action_needs_a_page_or_a_safe_link(editor):
    from wagtail.blocks.struct_block import StructBlockValidationError

    from cms_pages.blocks import CallToActionBlock

    block = CallToActionBlock()
    for url, message in [("", "Choose a page or enter a link."), ("javascript:alert(1)", "Links start with /")]:
        value = block.to_python(
            {"heading": "Go", "text": "", "button_label": "Go", "button_page": None, "button_url": url}
        )
        with pytest.raises(StructBlockValidationError) as excinfo:
            block.clean(value)
        assert message in str(excinfo.value.block_errors["button_url"])


@pytest.mark.django_db
def test_editor_is_refused_at_django_admin_and_admin_gets_in(client, editor, admin_user):
    client.force_login(editor)
    refused = client.get("/admin/")
    assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/")
    assert client.get("/cms/").status_code == 200  # but Wagtail admin is theirs

    client.force_login(admin_user)
    allowed = client.get("/admin/")
    assert allowed.status_code == 200
    assert "PeerLearn administration" in allowed.text


@pytest.mark.django_db
def test_learner_cannot_enter_wagtail_admin(client, learner):
    client.force_login(learner)
    response = client.get("/cms/")
    assert response.status_code == 302 and response["Location"].startswith("/cms/login/")
    assert client.get(response["Location"]).status_code == 403  # refused, not sent round to log in again


@pytest.mark.django_db
def test_missing_page_gets_the_styled_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We couldn't find that page" in response.text
    assert "site-header" in response.text
