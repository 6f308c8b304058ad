from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.fields import StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index

from .blocks import BodyStreamBlock

# The catalog cards' image sizes (templates/cms_pages/course_index_page.html uses the same ones).
CARD_RENDITIONS = ("fill-400x200", "fill-640x320", "fill-960x480")


class CacheablePageMixin:
    """Pages whose public rendering is the same for every anonymous visitor (see page_cache)."""

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        response.page_cacheable = not request.user.is_authenticated
        return response


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
    subpage_types = ["cms_pages.StandardPage", "cms_pages.CourseIndexPage"]
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
    subpage_types = ["cms_pages.StandardPage"]

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


@register_setting(icon="list-ul")
class SiteChrome(ClusterableModel, BaseGenericSetting):
    """Site name, social image, main menu and footer: all editable in Wagtail under Settings."""

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

    panels = [
        MultiFieldPanel([FieldPanel("site_name"), FieldPanel("tagline"), FieldPanel("social_image")], heading="Site"),
        InlinePanel("menu_items", label="Main menu item", heading="Main menu"),
        InlinePanel("footer_links", label="Footer link", heading="Footer links"),
        FieldPanel("footer_text"),
    ]

    class Meta:
        verbose_name = "site chrome (menus and footer)"


class MenuItem(Orderable, LinkFields):
    setting = ParentalKey(SiteChrome, on_delete=models.CASCADE, related_name="menu_items")

    def __str__(self) -> str:
        return self.label


class FooterLink(Orderable, LinkFields):
    setting = ParentalKey(SiteChrome, on_delete=models.CASCADE, related_name="footer_links")

    def __str__(self) -> str:
        return self.label
