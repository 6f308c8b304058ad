"""The body's image block is Wagtail's own ImageBlock (alt text, or marked decorative) with a caption;
migration 0005 converts the bodies and revisions stored in the old shape, and back."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps
from django.db import connection
from wagtail.blocks import StreamBlockValidationError
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import Revision

from cms_pages.blocks import BodyStreamBlock
from cms_pages.models import StandardPage
from cms_pages.selectors import home_page_get

pytestmark = pytest.mark.django_db

CONVERSION = importlib.import_module("cms_pages.migrations.0005_image_block_alt_text_or_decorative")


def publish_page(body: list, slug: str = "pictures") -> StandardPage:
    page = StandardPage(title="Pictures", slug=slug, body=body)
    home_page_get().add_child(instance=page)
    page.save_revision().publish()
    return page


def image_in(html: str, src_part: str) -> str:
    start = html.index("<img", html.index('<figure class="block-image">'))
    tag = html[start : html.index(">", start) + 1]
    assert src_part in tag, tag
    return tag


def test_an_image_with_alt_text_and_a_decorative_one_render_their_alt_and_caption(client):
    image = Image.objects.create(title="Mentor at work", file=get_test_image_file(size=(1200, 800)))
    publish_page(
        [
            (
                "image",
                {
                    "image": {"image": image, "alt_text": "A mentor pointing at a screen", "decorative": False},
                    "caption": "Pairing",
                },
            ),
            # Another instance of the same image: ImageBlock keeps each place's alt text on the instance it is given.
            (
                "image",
                {
                    "image": {
                        "image": Image.objects.get(pk=image.pk),
                        "alt_text": "ignored for a decorative image",
                        "decorative": True,
                    },
                    "caption": "",
                },
            ),
        ]
    )
    html = client.get("/pictures/").text
    first, second = html.split('<figure class="block-image">')[1:3]
    assert (
        'alt="A mentor pointing at a screen"' in first
        and "srcset=" in first
        and "<figcaption>Pairing</figcaption>" in first
    )
    assert 'alt=""' in second and "ignored for a decorative image" not in html and "<figcaption>" not in second


def test_an_image_needs_alt_text_or_the_decorative_flag():
    image = Image.objects.create(title="Cover", file=get_test_image_file())
    block = BodyStreamBlock()
    without = block.normalize(
        [("image", {"image": {"image": image, "alt_text": "", "decorative": False}, "caption": ""})]
    )
    with pytest.raises(StreamBlockValidationError) as refused:
        block.clean(without)
    assert "Please add some alt text for your image or mark it as decorative" in str(refused.value.as_json_data())
    for alt_text, decorative in (("A cover", False), ("", True)):
        value = block.normalize(
            [("image", {"image": {"image": image, "alt_text": alt_text, "decorative": decorative}, "caption": ""})]
        )
        assert block.clean(value)[0].value["image"].decorative is decorative


def old_shape_store(page: StandardPage, body: list[dict]) -> Revision:
    """Write ``body`` as the page's stored body and its live revision's, as they were before 0005."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cms_pages_standardpage SET body = %s::jsonb WHERE page_ptr_id = %s", [json.dumps(body), page.pk]
        )
    page.refresh_from_db()
    revision = Revision.objects.get(pk=page.live_revision_id)
    revision.content["body"] = json.dumps(body)
    revision.save(update_fields=["content"])
    return revision


def stored(page: StandardPage, revision: Revision) -> tuple[list, list]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM cms_pages_standardpage WHERE page_ptr_id = %s", [page.pk])
        (body,) = cursor.fetchone()
    revision.refresh_from_db()
    body = json.loads(body) if isinstance(body, str) else body
    return [b["value"] for b in body], [b["value"] for b in json.loads(revision.content["body"])]


def test_migration_converts_stored_bodies_and_revisions_keeping_alt_text_and_caption(client):
    image = Image.objects.create(title="Mentor at work", file=get_test_image_file(size=(1200, 800)))
    page = publish_page([("paragraph", "<p>Before</p>")])
    old = [
        {"type": "paragraph", "value": "<p>Before</p>", "id": "p1"},
        {
            "type": "image",
            "value": {"image": image.pk, "alt_text": "A mentor pointing at a screen", "caption": "Pairing"},
            "id": "i1",
        },
        {"type": "image", "value": {"image": image.pk, "alt_text": "No caption here", "caption": ""}, "id": "i2"},
    ]
    revision = old_shape_store(page, old)
    migration = CONVERSION.Migration("0005_image_block_alt_text_or_decorative", "cms_pages")
    convert = migration.operations[-1]

    convert.code(apps, None)
    new = [
        {
            "image": {"image": image.pk, "alt_text": "A mentor pointing at a screen", "decorative": False},
            "caption": "Pairing",
        },
        {"image": {"image": image.pk, "alt_text": "No caption here", "decorative": False}, "caption": ""},
    ]
    assert stored(page, revision) == (["<p>Before</p>", *new], ["<p>Before</p>", *new])
    html = client.get("/pictures/").text
    assert 'alt="A mentor pointing at a screen"' in html and "<figcaption>Pairing</figcaption>" in html
    assert 'alt="No caption here"' in html
    page.refresh_from_db()
    assert page.body[1].value["image"].contextual_alt_text == "A mentor pointing at a screen"

    convert.code(apps, None)  # running it again changes nothing
    assert stored(page, revision)[0] == ["<p>Before</p>", *new]

    # Back: the old shape again; a decorative image (no alt text) keeps an empty alt text.
    page.body[2].value["image"].decorative = True
    page.save(update_fields=["body"])
    convert.reverse_code(apps, None)
    assert stored(page, revision) == (
        ["<p>Before</p>", old[1]["value"], {"image": image.pk, "alt_text": "", "caption": ""}],
        ["<p>Before</p>", old[1]["value"], old[2]["value"]],
    )
