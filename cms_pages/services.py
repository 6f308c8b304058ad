"""Writes on the page tree that code (not editors) performs: demo content."""

from __future__ import annotations

from django.db import transaction
from wagtail.models import Page, Site

from .models import HomePage, StandardPage

DEMO_HOME = {
    "hero_heading": "Learn faster with a mentor who has been there",
    "hero_intro": (
        "Book live one-to-one or small-group video sessions with experienced mentors in Python, "
        "data, design and careers. No installs: your call runs right in the browser."
    ),
    "body": [
        ("heading", {"text": "How PeerLearn works", "size": "h2"}),
        (
            "paragraph",
            "<p><b>1. Find a mentor.</b> Browse mentors by skill and language, read their reviews and pick "
            "a session that fits your week.</p><p><b>2. Book a seat.</b> Sessions are one-to-one or groups "
            "of up to six. You get a reminder the day before and a calendar invite.</p><p><b>3. Meet live.</b> "
            "Click Join when the session opens: video, screen sharing and chat, all in your browser.</p>",
        ),
        (
            "quote",
            {
                "text": "Two sessions with my mentor saved me a month of guessing. She looked at my code and "
                "showed me how she would have approached it.",
                "attribution": "Priya, learning data engineering",
            },
        ),
        ("heading", {"text": "For mentors", "size": "h2"}),
        (
            "paragraph",
            "<p>Share what you know on your own schedule. Offer sessions in your time zone, choose the group "
            "size and let learners book the seats. We handle reminders, calendars and the call.</p>",
        ),
        (
            "call_to_action",
            {
                "heading": "Your first session is one click away",
                "text": "Create a free account as a learner or a mentor.",
                "button_label": "Create your account",
                "button_page": None,
                "button_url": "/accounts/signup/",
            },
        ),
    ],
}

DEMO_ABOUT = {
    "title": "About PeerLearn",
    "slug": "about",
    "intro": "PeerLearn is an open mentoring portal: learners meet experienced people, live, in small groups.",
    "body": [
        ("heading", {"text": "Why we built it", "size": "h2"}),
        (
            "paragraph",
            "<p>Courses teach the what; mentors teach the how. We wanted a place where anyone can book an hour "
            "with someone a few steps ahead of them, without juggling links, calendars and time zones.</p>",
        ),
        ("heading", {"text": "Frequently asked questions", "size": "h2"}),
        (
            "paragraph",
            "<h3>What do I need for a call?</h3><p>A current browser (Chrome, Edge or Firefox), a camera and a "
            "microphone. Nothing to install.</p><h3>How big are sessions?</h3><p>One-to-one or groups of up to six "
            "learners.</p><h3>Can I become a mentor?</h3><p>Yes: sign up and choose <i>Mentor learners</i>.</p>",
        ),
    ],
}


def home_page_get() -> HomePage:
    site = Site.objects.get(is_default_site=True)
    return site.root_page.specific


@transaction.atomic
def demo_pages_seed() -> dict[str, bool]:
    """Fill the home page and create an About page, unless an editor has already given them content."""
    home = home_page_get()
    created = {"home": False, "about": False}
    if not home.body:
        home.title = "PeerLearn"
        home.seo_title = "PeerLearn: live mentoring sessions"
        home.search_description = "Book live video sessions with mentors in programming, data, design and careers."
        home.hero_heading = DEMO_HOME["hero_heading"]
        home.hero_intro = DEMO_HOME["hero_intro"]
        home.body = DEMO_HOME["body"]
        home.save_revision().publish()
        created["home"] = True
    if not Page.objects.child_of(home).filter(slug=DEMO_ABOUT["slug"]).exists():
        about = StandardPage(
            title=DEMO_ABOUT["title"], slug=DEMO_ABOUT["slug"], intro=DEMO_ABOUT["intro"], body=DEMO_ABOUT["body"]
        )
        home.add_child(instance=about)
        about.save_revision().publish()
        created["about"] = True
    return created
