"""The one StreamBlock every PeerLearn page body uses, the bakerydemo way."""

from __future__ import annotations

from wagtail import blocks
from wagtail.images.blocks import ImageBlock
from wagtail.snippets.blocks import SnippetChooserBlock

from .choosers import SessionChooserBlock


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=120)
    size = blocks.ChoiceBlock(choices=[("h2", "Section heading"), ("h3", "Sub-heading")], default="h2")

    class Meta:
        icon = "title"
        template = "cms_pages/blocks/heading_block.html"
        preview_value = {"text": "Learn with people who have done it", "size": "h2"}
        description = "A section heading"


class CaptionedImageBlock(blocks.StructBlock):
    """Wagtail's own ImageBlock (the image, its alt text or the "decorative" flag) and an optional caption."""

    image = ImageBlock()
    caption = blocks.CharBlock(required=False, max_length=200)

    class Meta:
        icon = "image"
        template = "cms_pages/blocks/image_block.html"
        description = "An image with alt text (or marked decorative) and an optional caption"


class QuoteBlock(blocks.StructBlock):
    text = blocks.TextBlock(max_length=600)
    attribution = blocks.CharBlock(required=False, max_length=120)

    class Meta:
        icon = "openquote"
        template = "cms_pages/blocks/quote_block.html"
        preview_value = {
            "text": "Two sessions with my mentor saved me a month of guessing.",
            "attribution": "Priya, learner",
        }
        description = "A quotation or testimonial"


class CallToActionBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120)
    text = blocks.TextBlock(required=False, max_length=400)
    button_label = blocks.CharBlock(max_length=40)
    button_page = blocks.PageChooserBlock(required=False, help_text="Link to a page of this site, or")
    button_url = blocks.CharBlock(
        required=False, max_length=300, help_text="a path such as /accounts/signup/ or a full https:// address."
    )

    class Meta:
        icon = "pick"
        template = "cms_pages/blocks/call_to_action_block.html"
        preview_value = {
            "heading": "Ready to start?",
            "text": "Find a mentor and book your first session today.",
            "button_label": "Sign up free",
            "button_url": "/accounts/signup/",
        }
        description = "A highlighted box with a button"

    def clean(self, value):
        from django.core.exceptions import ValidationError
        from wagtail.blocks.struct_block import StructBlockValidationError

        value = super().clean(value)
        url = (value.get("button_url") or "").strip()
        if not value.get("button_page") and not url:
            raise StructBlockValidationError(
                block_errors={"button_url": ValidationError("Choose a page or enter a link.")}
            )
        if url and not (url.startswith("/") or url.startswith("https://") or url.startswith("http://")):
            raise StructBlockValidationError(
                block_errors={"button_url": ValidationError("Links start with / (this site) or https://.")}
            )
        return value


class CourseSessionsBlock(blocks.StructBlock):
    """Live sessions on a page: the ones an editor pins, plus (on a course) the matching ones."""

    heading = blocks.CharBlock(max_length=120, default="Sessions for this course")
    pinned = blocks.ListBlock(
        SessionChooserBlock(), required=False, label="Pinned sessions", help_text="Shown first, in this order."
    )
    include_matching = blocks.BooleanBlock(
        required=False, default=True, help_text="Also list upcoming sessions that teach this course's skills."
    )

    class Meta:
        icon = "date"
        template = "cms_pages/blocks/course_sessions_block.html"
        description = "Bookable sessions, live from the mentoring data"

    def get_context(self, value, parent_context=None):
        from mentoring.selectors import course_sessions, sessions_pinned

        context = super().get_context(value, parent_context=parent_context)
        pinned = sessions_pinned(sessions=list(value["pinned"]))
        sessions = list(pinned)
        page = (parent_context or {}).get("page")
        if value["include_matching"] and page is not None and hasattr(page, "skills"):
            seen = {s.pk for s in sessions}
            sessions += [s for s in course_sessions(course=page) if s.pk not in seen]
        context["sessions"] = sessions
        return context


class TestimonialBlock(blocks.StructBlock):
    """A testimonial snippet, written once and chosen on any page."""

    testimonial = SnippetChooserBlock("cms_pages.Testimonial")

    class Meta:
        icon = "openquote"
        template = "cms_pages/blocks/testimonial_block.html"
        description = "A saved testimonial (Snippets → Testimonials)"


class FAQBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, default="Questions and answers")
    questions = blocks.ListBlock(SnippetChooserBlock("cms_pages.FAQ"), min_num=1)

    class Meta:
        icon = "help"
        template = "cms_pages/blocks/faq_block.html"
        description = "Saved questions and answers (Snippets → FAQs), shown as an expandable list"


class PeopleBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, default="Meet the team")
    people = blocks.ListBlock(SnippetChooserBlock("cms_pages.Person"), min_num=1)

    class Meta:
        icon = "group"
        template = "cms_pages/blocks/people_block.html"
        description = "Team members or mentors in the spotlight (Snippets → People)"


class BodyStreamBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        features=["bold", "italic", "link", "ol", "ul", "h3", "h4"],
        icon="pilcrow",
        template="cms_pages/blocks/paragraph_block.html",
        preview_value="<p>PeerLearn pairs you with mentors who <b>teach by doing</b>.</p>",
        description="Text with simple formatting",
    )
    image = CaptionedImageBlock()
    quote = QuoteBlock()
    call_to_action = CallToActionBlock()
    course_sessions = CourseSessionsBlock()
    testimonial = TestimonialBlock()
    faqs = FAQBlock()
    people = PeopleBlock()
