from __future__ import annotations

from django import forms
from django.contrib.contenttypes.fields import GenericRelation
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models
from django.template.response import TemplateResponse
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.contrib.forms.panels import FormSubmissionsPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import (
    DraftStateMixin,
    LockableMixin,
    Orderable,
    Page,
    PreviewableMixin,
    RevisionMixin,
    WorkflowMixin,
)
from wagtail.search import index

from .blocks import BodyStreamBlock
from .forms import SpamCheckedFormBuilder, form_submission_claim, form_submission_count, form_submission_refused

# The catalog cards' image sizes (templates/cms_pages/course_index_page.html uses the same ones).
CARD_RENDITIONS = ("fill-400x200", "fill-640x320", "fill-960x480")


class CacheablePageMixin:
    """Pages whose public rendering is the same for every anonymous visitor (see page_cache).

    Not while the body holds a block of live data (seats left and Book buttons change with every
    booking): such a page renders afresh on each visit."""

    LIVE_BLOCK_TYPES = frozenset({"course_sessions"})

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        response.page_cacheable = not request.user.is_authenticated and not self.shows_live_data()
        return response

    def shows_live_data(self) -> bool:
        body = getattr(self, "body", None)
        return body is not None and any(block["type"] in self.LIVE_BLOCK_TYPES for block in body.raw_data)


class HomePage(CacheablePageMixin, Page):
    """The landing page and root of the site's page tree."""

    hero_heading = models.CharField(max_length=120, default="Learn faster with a mentor who has been there")
    hero_intro = models.TextField(
        max_length=400,
        blank=True,
        default="Book live one-to-one or small-group video sessions with mentors in programming, data, design and more.",
    )
    signup_label = models.CharField("sign-up button", max_length=40, default="Get started free")
    login_label = models.CharField("log-in button", max_length=40, default="Log in")
    body = StreamField(BodyStreamBlock(), blank=True, use_json_field=True)

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [
                FieldPanel("hero_heading"),
                FieldPanel("hero_intro"),
                FieldPanel("signup_label"),
                FieldPanel("login_label"),
            ],
            heading="Hero",
        ),
        FieldPanel("body"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("hero_heading"),
        index.SearchField("hero_intro"),
        index.SearchField("body"),
    ]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["cms_pages.StandardPage", "cms_pages.CourseIndexPage", "cms_pages.FormPage"]
    max_count = 1

    class Meta:
        verbose_name = "home page"


class StandardPage(CacheablePageMixin, Page):
    """About, FAQ and other plain editorial pages."""

    intro = models.TextField(max_length=400, blank=True)
    body = StreamField(BodyStreamBlock(), blank=True, use_json_field=True)

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]

    parent_page_types = ["cms_pages.HomePage", "cms_pages.StandardPage"]
    subpage_types = ["cms_pages.StandardPage", "cms_pages.FormPage"]

    class Meta:
        verbose_name = "standard page"


# ============================================================================ course catalog
class CourseLevel(models.TextChoices):
    BEGINNER = "beginner", "Beginner"
    INTERMEDIATE = "intermediate", "Intermediate"
    ADVANCED = "advanced", "Advanced"


class CourseIndexPage(CacheablePageMixin, Page):
    """The course catalog: every live course below it, filterable by skill and level."""

    intro = models.TextField(max_length=600, blank=True)
    per_page = 9

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    search_fields = [*Page.search_fields, index.SearchField("intro")]
    parent_page_types = ["cms_pages.HomePage"]
    subpage_types = ["cms_pages.CoursePage"]
    max_count = 1

    class Meta:
        verbose_name = "course catalog"

    def get_context(self, request, *args, **kwargs):
        from django.core.paginator import Paginator
        from django.db.models import Prefetch
        from wagtail.images import get_image_model

        from mentoring.models import Skill

        context = super().get_context(request, *args, **kwargs)
        # The cards' images with all their srcset renditions, in one query for the whole page.
        images = get_image_model().objects.prefetch_renditions(*CARD_RENDITIONS)
        courses = (
            CoursePage.objects.live()
            .public()
            .child_of(self)
            .prefetch_related("skills", Prefetch("hero_image", queryset=images))
            .order_by("title")
        )
        skill_slug = request.GET.get("skill", "")
        level = request.GET.get("level", "")
        skills = Skill.objects.filter(courses__in=courses).distinct().order_by("name")
        if skill_slug:
            courses = courses.filter(skills__slug=skill_slug)
        if level in CourseLevel.values:
            courses = courses.filter(level=level)
        context.update(
            page_obj=Paginator(courses.distinct(), self.per_page).get_page(request.GET.get("page")),
            skills=skills,
            levels=CourseLevel.choices,
            current_skill=skill_slug,
            current_level=level if level in CourseLevel.values else "",
        )
        return context


class CoursePage(CacheablePageMixin, Page):
    """One course: editorial content, tied live to the sessions and mentors that teach it."""

    summary = models.TextField(max_length=400)
    level = models.CharField(max_length=12, choices=CourseLevel.choices, default=CourseLevel.BEGINNER)
    estimated_effort = models.CharField(max_length=60, blank=True, help_text="For example: 4 weeks, 3 hours a week")
    hero_image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hero_image_alt = models.CharField(
        "hero image alt text",
        max_length=200,
        blank=True,
        help_text="Describe the image for people who cannot see it (required when there is an image).",
    )
    skills = ParentalManyToManyField("mentoring.Skill", blank=True, related_name="courses")
    body = StreamField(BodyStreamBlock(), blank=True, use_json_field=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        MultiFieldPanel(
            [
                FieldPanel("level"),
                FieldPanel("estimated_effort"),
                FieldPanel("skills", widget=forms.CheckboxSelectMultiple),
            ],
            heading="Course facts",
        ),
        MultiFieldPanel([FieldPanel("hero_image"), FieldPanel("hero_image_alt")], heading="Hero image"),
        FieldPanel("body"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("summary"),
        index.SearchField("body"),
        index.FilterField("level"),
        index.RelatedFields("skills", [index.SearchField("name")]),
    ]
    parent_page_types = ["cms_pages.CourseIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = "course"

    def clean(self):
        super().clean()
        if self.hero_image_id and not self.hero_image_alt.strip():
            raise ValidationError({"hero_image_alt": "Describe the hero image for people who cannot see it."})

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        # Seats change all the time: the live session list must never come from the page cache.
        response.page_cacheable = False
        return response

    def get_context(self, request, *args, **kwargs):
        from mentoring.selectors import course_mentors, course_sessions

        context = super().get_context(request, *args, **kwargs)
        context["course_sessions"] = course_sessions(course=self)
        context["course_mentors"] = course_mentors(course=self)
        return context


# ============================================================================ site chrome (editable by editors)
class LinkFields(models.Model):
    label = models.CharField(max_length=60)
    link_page = models.ForeignKey("wagtailcore.Page", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    link_url = models.CharField(
        "or link", max_length=300, blank=True, help_text="A path such as /mentors/ or a full https:// address."
    )

    panels = [FieldPanel("label"), FieldPanel("link_page"), FieldPanel("link_url")]

    class Meta:
        abstract = True

    @property
    def href(self) -> str:
        if self.link_page_id:
            return self.link_page.url or "#"
        return self.link_url

    def clean(self):
        super().clean()
        url = self.link_url.strip()
        if not self.link_page_id and not url:
            raise ValidationError({"link_url": "Choose a page or enter a link."})
        if url and not url.startswith(("/", "https://", "http://", "mailto:")):
            raise ValidationError({"link_url": "Links start with / (this site), https:// or mailto:."})


class SiteChrome(WorkflowMixin, DraftStateMixin, LockableMixin, RevisionMixin, PreviewableMixin, ClusterableModel):
    """Site name, social image, main menu and footer: one snippet, edited under Settings → Menus and footer.

    Changes go through drafts, preview and the moderators' approval like pages do: the row (and its
    menu and footer rows) always holds the published version, which is all the public ever sees; a
    draft lives in a revision until a moderator publishes it.
    """

    site_name = models.CharField(max_length=60, default="PeerLearn")
    tagline = models.CharField(max_length=120, default="Live mentoring sessions, in your browser.")
    footer_text = models.CharField(max_length=200, default="© PeerLearn. Learn together.")
    social_image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Shown when a page is shared on social media (1200×630 works best).",
    )
    _revisions = GenericRelation("wagtailcore.Revision", related_query_name="site_chrome")
    workflow_states = GenericRelation(
        "wagtailcore.WorkflowState",
        content_type_field="base_content_type",
        object_id_field="object_id",
        related_query_name="site_chrome",
        for_concrete_model=False,
    )

    panels = [
        MultiFieldPanel([FieldPanel("site_name"), FieldPanel("tagline"), FieldPanel("social_image")], heading="Site"),
        InlinePanel("menu_items", label="Main menu item", heading="Main menu"),
        InlinePanel("footer_links", label="Footer link", heading="Footer links"),
        FieldPanel("footer_text"),
    ]

    class Meta:
        verbose_name = "menus and footer"
        verbose_name_plural = "menus and footer"

    def __str__(self) -> str:
        return f"Menus and footer of {self.site_name}"

    @property
    def revisions(self):
        return self._revisions

    @classmethod
    def load(cls) -> SiteChrome:
        """The one set of menus and footer (created with the defaults on first use)."""
        return cls.objects.order_by("pk").first() or cls.objects.create()

    @property
    def default_preview_size(self) -> str:
        return "desktop"  # the main menu shows in full at that width (a phone's folds it away)

    def get_preview_template(self, request, mode_name):
        return "cms_pages/site_chrome_preview.html"

    def get_preview_context(self, request, mode_name):
        # base.html's {% site_chrome %} shows this unsaved draft instead of the published chrome.
        return {**super().get_preview_context(request, mode_name), "chrome_preview": self}


class MenuItem(Orderable, LinkFields):
    setting = ParentalKey(SiteChrome, on_delete=models.CASCADE, related_name="menu_items")

    def __str__(self) -> str:
        return self.label


class FooterLink(Orderable, LinkFields):
    setting = ParentalKey(SiteChrome, on_delete=models.CASCADE, related_name="footer_links")

    def __str__(self) -> str:
        return self.label


# ============================================================================ reusable snippets (chosen in page bodies)
class Testimonial(index.Indexed, models.Model):
    """A learner's or mentor's words, reused on any page through the "Testimonial" block."""

    quote = models.TextField(max_length=600)
    name = models.CharField(max_length=80)
    role = models.CharField(max_length=80, blank=True, help_text="For example: Learner, data analytics")

    panels = [FieldPanel("quote"), FieldRowPanel([FieldPanel("name"), FieldPanel("role")])]
    search_fields = [index.SearchField("quote"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {self.quote[:50]}"


class FAQ(index.Indexed, models.Model):
    """One question and its answer, grouped on pages by the "Questions and answers" block."""

    question = models.CharField(max_length=200)
    answer = RichTextField(features=["bold", "italic", "link", "ol", "ul"], max_length=3000)

    panels = [FieldPanel("question"), FieldPanel("answer")]
    search_fields = [index.SearchField("question"), index.AutocompleteField("question"), index.SearchField("answer")]

    class Meta:
        ordering = ["question"]
        verbose_name = "FAQ"
        verbose_name_plural = "FAQs"

    def __str__(self) -> str:
        return self.question


class Person(index.Indexed, models.Model):
    """A member of the team or a mentor in the spotlight, shown by the "People" block."""

    class Kind(models.TextChoices):
        TEAM = "team", "Team"
        MENTOR = "mentor", "Mentor"

    name = models.CharField(max_length=80)
    role = models.CharField(max_length=80, help_text="For example: Co-founder, or Python mentor")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEAM)
    bio = models.TextField(max_length=400, blank=True)
    photo = models.ForeignKey("wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    photo_alt = models.CharField(
        "photo alt text", max_length=200, blank=True, help_text="Describe the photo (required when there is one)."
    )

    panels = [
        FieldRowPanel([FieldPanel("name"), FieldPanel("role"), FieldPanel("kind")]),
        FieldPanel("bio"),
        FieldRowPanel([FieldPanel("photo"), FieldPanel("photo_alt")]),
    ]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name"), index.SearchField("role")]

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"

    def clean(self):
        super().clean()
        if self.photo_id and not self.photo_alt.strip():
            raise ValidationError({"photo_alt": "Describe the photo for people who cannot see it."})


# ============================================================================ form pages (contact)
class FormField(AbstractFormField):
    page = ParentalKey("FormPage", on_delete=models.CASCADE, related_name="form_fields")


class FormPage(AbstractEmailForm):
    """A contact (or any) form: editors choose its fields; submissions are kept in the admin and mailed
    to staff. Spam checks (a honeypot, a minimum fill time, a rate limit per address) in forms.py."""

    intro = models.TextField(max_length=600, blank=True)
    thank_you_text = RichTextField(
        features=["bold", "italic", "link"], blank=True, help_text="Shown once the form has been sent."
    )

    content_panels = [
        *AbstractEmailForm.content_panels,
        FormSubmissionsPanel(),
        FieldPanel("intro"),
        InlinePanel("form_fields", label="Form field", heading="Form fields"),
        FieldPanel("thank_you_text"),
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel("from_address"), FieldPanel("to_address")]), FieldPanel("subject")],
            heading="Email to staff",
        ),
    ]
    search_fields = [*Page.search_fields, index.SearchField("intro")]
    parent_page_types = ["cms_pages.HomePage", "cms_pages.StandardPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = "form page"

    form_builder = SpamCheckedFormBuilder

    def send_mail(self, form):
        """Wagtail's email to staff, answerable: its Reply-To is the address the sender gave (the form's
        first email field, validated by it), so a reply goes to them and not to the from-address."""
        from wagtail.admin.mail import send_mail

        emails = [field.clean_name for field in self.get_form_fields() if field.field_type == "email"]
        reply_to = [value for name in emails if (value := form.cleaned_data.get(name))][:1]
        addresses = [address.strip() for address in self.to_address.split(",") if address.strip()]
        send_mail(self.subject, self.render_email(form), addresses, self.from_address, reply_to=reply_to or None)

    def serve(self, request, *args, **kwargs):
        if request.method != "POST":
            return super().serve(request, *args, **kwargs)
        form = self.get_form(request.POST, request.FILES, page=self, user=request.user)
        refused = form_submission_refused(request=request, page=self)
        if form.is_valid() and not refused:
            claim = form_submission_claim(page=self, form=form)
            if claim is None:  # this very form was sent already (a double click): thanked, kept once
                return self.render_landing_page(request, None, *args, **kwargs)
            try:
                submission = self.process_form_submission(form)  # stored, then mailed to staff
            except BaseException:
                cache.delete(claim)  # not sent after all: the same form may be sent again
                raise
            form_submission_count(request=request, page=self)
            return self.render_landing_page(request, submission, *args, **kwargs)
        if refused:
            form.add_error(None, refused)
        context = self.get_context(request)
        context["form"] = form
        return TemplateResponse(request, self.get_template(request), context, status=429 if refused else 400)
