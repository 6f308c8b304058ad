from __future__ import annotations

from django.db import models
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.search import index

from .blocks import BodyStreamBlock


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
            [FieldPanel("hero_heading"), FieldPanel("hero_intro"), FieldPanel("signup_label"), FieldPanel("login_label")],
            heading="Hero",
        ),
        FieldPanel("body"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("hero_heading"), index.SearchField("hero_intro"), index.SearchField("body")]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["cms_pages.StandardPage"]
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
