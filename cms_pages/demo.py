"""Demo content for local use (``seed_demo``): the home, About and Contact pages, reusable snippets
(testimonials, FAQs, people), the course catalog and the site's menus. Never for production data."""

from __future__ import annotations

from django.db import transaction
from wagtail.models import Page

from .models import StandardPage
from .selectors import home_page_get

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
        ("testimonial", {"testimonial": "Priya"}),  # a Testimonial snippet, by name (demo_snippets_seed)
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
        ("people", {"heading": "Meet the team and our mentors", "people": ["Ada Moreno", "Kenji Sato", "Lena Weber"]}),
        ("faqs", {"heading": "Frequently asked questions", "questions": "all"}),
        ("testimonial", {"testimonial": "Tomás"}),
    ],
}

DEMO_TESTIMONIALS = [
    (
        "Priya",
        "Learning data engineering",
        "Two sessions with my mentor saved me a month of guessing. She looked at my code and showed me how she "
        "would have approached it.",
    ),
    ("Tomás", "Mentor, Django", "I mentor two evenings a month. Booking, reminders and the call just work."),
    ("Amara", "Career changer", "The group sessions made me brave enough to ask the questions I had been hiding."),
]
DEMO_FAQS = [
    (
        "What do I need for a call?",
        "<p>A current browser (Chrome, Edge or Firefox), a camera and a microphone. Nothing to install.</p>",
    ),
    ("How big are sessions?", "<p>One-to-one or groups of up to six learners.</p>"),
    ("Can I become a mentor?", "<p>Yes: sign up and choose <i>Mentor learners</i>.</p>"),
]
DEMO_PEOPLE = [
    ("Ada Moreno", "Co-founder", "team", "Ran a coding bootcamp for eight years before starting PeerLearn."),
    ("Kenji Sato", "Community and support", "team", "Answers your messages and looks after our mentors."),
    ("Lena Weber", "Python and data mentor", "mentor", "Data engineer who loves turning messy data into answers."),
]
DEMO_CONTACT = {
    "title": "Contact us",
    "slug": "contact",
    "intro": "Questions about sessions, mentoring or your account? Write to us and we answer within two working days.",
    "thank_you_text": "<p>Thank you, your message is on its way to our team. We answer within two working days.</p>",
    "to_address": "staff@peerlearn.local",
    "subject": "Contact form: a new message",
    "fields": [
        ("Your name", "singleline", True, ""),
        ("Your email", "email", True, "So we can answer you."),
        ("Message", "multiline", True, ""),
    ],
}


def demo_snippets_seed() -> dict[str, dict]:
    """Testimonials, FAQs and people to choose in page bodies (each by its name), unless already there."""
    from .models import FAQ, Person, Testimonial

    testimonials = {
        name: Testimonial.objects.get_or_create(name=name, defaults={"role": role, "quote": quote})[0]
        for name, role, quote in DEMO_TESTIMONIALS
    }
    faqs = [FAQ.objects.get_or_create(question=q, defaults={"answer": a})[0] for q, a in DEMO_FAQS]
    people = {
        name: Person.objects.get_or_create(name=name, defaults={"role": role, "kind": kind, "bio": bio})[0]
        for name, role, kind, bio in DEMO_PEOPLE
    }
    return {"testimonials": testimonials, "faqs": faqs, "people": people}


def _with_snippets(body: list, snippets: dict) -> list:
    """A demo body whose snippet blocks name their snippets; the blocks' values as Wagtail stores them."""
    out = []
    for kind, value in body:
        if kind == "testimonial":
            value = {"testimonial": snippets["testimonials"][value["testimonial"]]}
        elif kind == "people":
            value = {**value, "people": [snippets["people"][name] for name in value["people"]]}
        elif kind == "faqs":
            value = {**value, "questions": snippets["faqs"]}
        out.append((kind, value))
    return out


def demo_contact_seed(home) -> bool:
    """A Contact form page under the home page (submissions in the admin, an email to staff)."""
    from .models import FormField, FormPage

    if FormPage.objects.child_of(home).filter(slug=DEMO_CONTACT["slug"]).exists():
        return False
    contact = FormPage(
        title=DEMO_CONTACT["title"],
        slug=DEMO_CONTACT["slug"],
        intro=DEMO_CONTACT["intro"],
        thank_you_text=DEMO_CONTACT["thank_you_text"],
        to_address=DEMO_CONTACT["to_address"],
        subject=DEMO_CONTACT["subject"],
    )
    contact.form_fields = [
        FormField(label=label, field_type=kind, required=required, help_text=help_text, sort_order=order)
        for order, (label, kind, required, help_text) in enumerate(DEMO_CONTACT["fields"])
    ]
    home.add_child(instance=contact)
    contact.save_revision().publish()
    return True


@transaction.atomic
def demo_pages_seed() -> dict[str, bool]:
    """Fill the home page and create the About and Contact pages, unless an editor has already given
    them content; the snippets they use first."""
    home = home_page_get()
    created = {"home": False, "about": False}
    snippets = demo_snippets_seed()
    if not home.body:
        home.title = "PeerLearn"
        home.seo_title = "PeerLearn: live mentoring sessions"
        home.search_description = "Book live video sessions with mentors in programming, data, design and careers."
        home.hero_heading = DEMO_HOME["hero_heading"]
        home.hero_intro = DEMO_HOME["hero_intro"]
        home.body = _with_snippets(DEMO_HOME["body"], snippets)
        home.save_revision().publish()
        created["home"] = True
    if not Page.objects.child_of(home).filter(slug=DEMO_ABOUT["slug"]).exists():
        about = StandardPage(
            title=DEMO_ABOUT["title"],
            slug=DEMO_ABOUT["slug"],
            intro=DEMO_ABOUT["intro"],
            body=_with_snippets(DEMO_ABOUT["body"], snippets),
        )
        home.add_child(instance=about)
        about.save_revision().publish()
        created["about"] = True
    created["contact"] = demo_contact_seed(home)
    return created


DEMO_COURSES = [
    (
        "Python foundations",
        "python-foundations",
        "Write clear Python: data structures, functions, testing and the standard library.",
        "beginner",
        "4 weeks, 3 hours a week",
        ["Python"],
        ("#4f46e5", "#06b6d4"),
    ),
    (
        "Web apps with Django",
        "web-apps-with-django",
        "Build and ship a real Django app: models, views, forms, auth and deployment.",
        "intermediate",
        "6 weeks, 4 hours a week",
        ["Django", "Python"],
        ("#7c3aed", "#f59e0b"),
    ),
    (
        "SQL for everyday work",
        "sql-for-everyday-work",
        "Joins, window functions and query plans, on data that looks like your job's.",
        "beginner",
        "3 weeks, 2 hours a week",
        ["SQL"],
        ("#0ea5e9", "#22c55e"),
    ),
    (
        "Data science in practice",
        "data-science-in-practice",
        "From a messy spreadsheet to an honest analysis with pandas and plots.",
        "intermediate",
        "6 weeks, 5 hours a week",
        ["Data Science", "Python"],
        ("#db2777", "#f97316"),
    ),
    (
        "Machine learning that ships",
        "machine-learning-that-ships",
        "Evaluate, deploy and monitor models without fooling yourself.",
        "advanced",
        "8 weeks, 5 hours a week",
        ["Machine Learning", "Data Science"],
        ("#1e1b4b", "#6366f1"),
    ),
    (
        "UX design portfolio",
        "ux-design-portfolio",
        "Turn your projects into case studies that hiring managers read to the end.",
        "beginner",
        "4 weeks, 3 hours a week",
        ["UX Design"],
        ("#be185d", "#fbbf24"),
    ),
    (
        "Career switch into tech",
        "career-switch-into-tech",
        "Plan the switch, prepare for interviews and negotiate your first offer.",
        "beginner",
        "5 weeks, 2 hours a week",
        ["Career Coaching", "Product Management"],
        ("#15803d", "#a3e635"),
    ),
    (
        "DevOps for developers",
        "devops-for-developers",
        "Containers, CI and observability for people who mostly write application code.",
        "advanced",
        "6 weeks, 4 hours a week",
        ["DevOps"],
        ("#334155", "#38bdf8"),
    ),
]


def _demo_image(title: str, colors: tuple[str, str]):
    """A locally generated abstract cover (gradient and circles): ours, so free to ship and use."""
    import io

    from django.core.files.images import ImageFile
    from PIL import Image as PILImage
    from PIL import ImageDraw
    from wagtail.images.models import Image

    existing = Image.objects.filter(title=f"Cover: {title}").first()
    if existing:
        return existing
    width, height = 1200, 800
    start = tuple(int(colors[0][i : i + 2], 16) for i in (1, 3, 5))
    end = tuple(int(colors[1][i : i + 2], 16) for i in (1, 3, 5))
    img = PILImage.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for x in range(width):
        t = x / (width - 1)
        draw.line([(x, 0), (x, height)], fill=tuple(int(a + (b - a) * t) for a, b in zip(start, end, strict=True)))
    seed = sum(map(ord, title))
    for i in range(7):
        r = 60 + (seed * (i + 3)) % 220
        cx, cy = (seed * (i + 7) * 37) % width, (seed * (i + 5) * 53) % height
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(255, 255, 255), width=6 if i % 2 else 3)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", optimize=True)
    return Image.objects.create(
        title=f"Cover: {title}", file=ImageFile(buffer, name=f"{title.lower().replace(' ', '-')}.png")
    )


@transaction.atomic
def demo_catalog_seed() -> dict[str, int]:
    """The course catalog (/courses/) with eight courses, and the site's menus, unless already there."""
    from django.utils import timezone

    from mentoring.models import Session, Skill

    from .models import CourseIndexPage, CoursePage, FormPage, SiteChrome

    created = {"courses": 0}
    home = home_page_get()
    index = CourseIndexPage.objects.child_of(home).first()
    if index is None:
        index = CourseIndexPage(
            title="Courses",
            slug="courses",
            intro="Structured paths through a topic, each with live sessions you can book with mentors who teach it.",
            search_description="PeerLearn courses in programming, data, design and careers, with live mentoring sessions.",
        )
        home.add_child(instance=index)
        index.save_revision().publish()
    for title, slug, summary, level, effort, skill_names, colors in DEMO_COURSES:
        if CoursePage.objects.filter(slug=slug).exists():
            continue
        skills = list(Skill.objects.filter(name__in=skill_names))
        course = CoursePage(
            title=title,
            slug=slug,
            summary=summary,
            level=level,
            estimated_effort=effort,
            hero_image=_demo_image(title, colors),
            hero_image_alt=f"Abstract cover illustration for the course {title}",
            body=[
                ("heading", {"text": "What you will learn", "size": "h2"}),
                (
                    "paragraph",
                    f"<p>{summary}</p><ul><li>Short explanations, then practice on real examples</li>"
                    "<li>Live sessions where a mentor reviews your work</li><li>A small project you can show</li></ul>",
                ),
                ("quote", {"text": "The live sessions are what made it stick.", "attribution": "A PeerLearn learner"}),
            ],
        )
        course.skills = skills
        index.add_child(instance=course)
        course.save_revision().publish()
        created["courses"] += 1
        # A mentor's next session on the course's topic belongs to it, as a mentor would link it.
        upcoming = Session.objects.filter(
            course__isnull=True, status=Session.Status.SCHEDULED, starts_at__gt=timezone.now(), skills__in=skills
        )
        first = upcoming.order_by("starts_at").values_list("pk", flat=True).first()
        if first is not None:
            Session.objects.filter(pk=first).update(course=course)

    chrome = SiteChrome.load()
    if not chrome.menu_items.exists():
        about = Page.objects.child_of(home).filter(slug="about").first()
        chrome.menu_items.create(label="Courses", link_page=index, sort_order=0)
        chrome.menu_items.create(label="Mentors", link_url="/mentors/", sort_order=1)
        chrome.menu_items.create(label="Sessions", link_url="/sessions/", sort_order=2)
        chrome.menu_items.create(label="About", link_page=about, sort_order=3)
        for order, (label, page, url) in enumerate(
            [("About", about, ""), ("Courses", index, ""), ("Mentors", None, "/mentors/"), ("Search", None, "/search/")]
        ):
            chrome.footer_links.create(label=label, link_page=page, link_url=url, sort_order=order)
        chrome.save()  # child rows of a ClusterableModel are written when the parent is saved
    contact = FormPage.objects.child_of(home).filter(slug=DEMO_CONTACT["slug"]).first()
    if contact is not None and not chrome.footer_links.filter(link_page=contact).exists():
        chrome.footer_links.create(label="Contact", link_page=contact, sort_order=chrome.footer_links.count())
        chrome.save()
    return created
