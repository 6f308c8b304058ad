"""robots.txt, the sitemap and /favicon.ico. Every absolute URL is built from ``SITE_URL``
(``portal.sites.absolute_url``), as the pages' canonical, og:url and og:image tags are."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap as DjangoSitemap
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import reverse
from wagtail.contrib.sitemaps.sitemap_generator import Sitemap as WagtailSitemap
from wagtail.contrib.sitemaps.views import sitemap

from portal.sites import absolute_url, site_domain


def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /cms/",
        "Disallow: /accounts/",
        "Disallow: /dashboard/",
        "Disallow: /notifications/",
        "Disallow: /calendar/",
        "Disallow: /search/",
        f"Sitemap: {absolute_url(reverse('sitemap'))}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and crawlers ask for /favicon.ico whatever the page's <link rel="icon"> says."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


class OnSiteUrl:
    """Sitemap entries on ``SITE_URL``, whatever host the request named."""

    def get_protocol(self, protocol=None) -> str:
        return urlsplit(settings.SITE_URL).scheme

    def get_domain(self, site=None) -> str:
        return site_domain()


class PageSitemap(OnSiteUrl, WagtailSitemap):
    """Live public Wagtail pages."""

    def _urls(self, page, protocol, domain):
        urls = super()._urls(page, protocol, domain)
        for url in urls:
            url["location"] = absolute_url(url["location"])
        return urls


class MentorSitemap(OnSiteUrl, DjangoSitemap):
    """Profiles of the mentors staff approved (the directory's list)."""

    def items(self):
        from mentoring.selectors import mentors_directory

        return mentors_directory().order_by("user_id")

    def location(self, profile) -> str:
        return reverse("mentor_detail", args=[profile.user_id])


class SessionSitemap(OnSiteUrl, DjangoSitemap):
    """Upcoming sessions anyone may book (scheduled, not private, of a listed mentor)."""

    def items(self):
        from mentoring.selectors import sessions_upcoming

        return sessions_upcoming().order_by("starts_at", "pk")

    def location(self, session) -> str:
        return reverse("session_detail", args=[session.pk])


def sitemap_xml(request: HttpRequest) -> HttpResponse:
    return sitemap(request, sitemaps={"pages": PageSitemap, "mentors": MentorSitemap(), "sessions": SessionSitemap()})
