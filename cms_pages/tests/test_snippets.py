"""Reusable testimonials, FAQs and people: chosen in page bodies from snippet chooser blocks."""

from __future__ import annotations

import re

import pytest
from wagtail.snippets.blocks import SnippetChooserBlock

from cms_pages import models as cms
from cms_pages.blocks import BodyStreamBlock
from cms_pages.demo import demo_pages_seed
from cms_pages.models import FAQ, Person


def test_body_blocks_choose_the_snippets():
    chosen = {}
    for name, block in BodyStreamBlock().child_blocks.items():
        for child in getattr(block, "child_blocks", {}).values():
            inner = getattr(child, "child_block", child)
            if isinstance(inner, SnippetChooserBlock):
                chosen[name] = inner.target_model
    assert chosen == {"testimonial": cms.Testimonial, "faqs": FAQ, "people": Person}


@pytest.mark.django_db
def test_demo_snippets_render_accessibly_on_home_and_about(client):
    demo_pages_seed()
    demo_pages_seed()  # idempotent
    assert (cms.Testimonial.objects.count(), FAQ.objects.count(), Person.objects.count()) == (3, 3, 3)
    home = client.get("/").text
    assert "Two sessions with my mentor saved me a month of guessing" in home
    assert re.search(r"<figcaption>— Priya", home)
    about = client.get("/about/").text
    # FAQs: native disclosure widgets (keyboard and screen reader friendly) under a labelled section.
    assert about.count('<details class="faq">') == 3 and "<summary>Can I become a mentor?</summary>" in about
    assert re.search(r'<section class="block-faq" aria-labelledby="(faq-[^"]+)">\s*<h2 id="\1"', about)
    assert re.search(r'<section class="block-people" aria-labelledby="(people-[^"]+)">\s*<h2 id="\1"', about)
    assert about.count('<li class="person-card">') == 3 and "<h3>Lena Weber</h3>" in about
    assert "I mentor two evenings a month" in about
    testimonials = home.count('class="block-quote testimonial"') + about.count('class="block-quote testimonial"')
    faqs, people = about.count('<details class="faq">'), about.count('<li class="person-card">')
    print(f"[snippets] rendered on home and about: testimonials {testimonials}, faqs {faqs}, people {people}")


@pytest.mark.django_db
def test_an_edited_snippet_changes_every_page_that_chose_it(client):
    demo_pages_seed()
    cms.SiteChrome.load()  # created now, not by the first visit (whose render that would drop from the cache)
    assert client.get("/about/")["X-Page-Cache"] == "miss"
    assert client.get("/about/")["X-Page-Cache"] == "hit"  # anonymous visitors get it from the page cache
    faq = FAQ.objects.get(question="How big are sessions?")
    faq.answer = "<p>Up to eight learners now.</p>"
    faq.save()  # no page published: the snippet's own save clears the cache
    assert "Up to eight learners now." in client.get("/about/").text


@pytest.mark.django_db
def test_a_deleted_snippet_leaves_the_page_working(client):
    demo_pages_seed()
    assert "Kenji Sato" in client.get("/about/").text
    Person.objects.filter(name="Kenji Sato").delete()
    about = client.get("/about/")
    assert about.status_code == 200 and "Kenji Sato" not in about.text and "Lena Weber" in about.text
