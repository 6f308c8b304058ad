from __future__ import annotations

from django import template

from cms_pages.page_cache import page_cache, page_cache_version
from portal.sites import absolute_url

register = template.Library()

DEFAULT_MENU = [
    {"label": "Courses", "href": "/courses/"},
    {"label": "Mentors", "href": "/mentors/"},
    {"label": "Sessions", "href": "/sessions/"},
]


def _load_chrome() -> dict:
    from cms_pages.models import SiteChrome

    return _chrome_dict(SiteChrome.load())


def _chrome_dict(chrome) -> dict:
    social = None
    if chrome.social_image_id:
        social = chrome.social_image.get_rendition("fill-1200x630").url
    return {
        "site_name": chrome.site_name,
        "tagline": chrome.tagline,
        "footer_text": chrome.footer_text,
        "social_image_url": social,
        "menu": [{"label": i.label, "href": i.href} for i in chrome.menu_items.select_related("link_page")]
        or DEFAULT_MENU,
        "footer": [{"label": i.label, "href": i.href} for i in chrome.footer_links.select_related("link_page")],
    }


@register.simple_tag(takes_context=True)
def site_chrome(context) -> dict:
    """Menus, footer and site name as published; cached until anything is published or saved.

    The preview of a menus-and-footer draft (SiteChrome.get_preview_context) shows the draft instead."""
    from django.conf import settings

    draft = context.get("chrome_preview")
    if draft is not None:
        return _chrome_dict(draft)
    if settings.PAGE_CACHE_SECONDS <= 0:
        return _load_chrome()
    cache = page_cache()
    # Under the version read before loading (a publish meanwhile bumps it past this one).
    chrome = cache.get(f"sitechrome:{page_cache_version(cache)}")
    if chrome is None:
        chrome = _load_chrome()
        # Read the version again: loading may have created the settings row, which bumps it.
        cache.set(f"sitechrome:{page_cache_version(cache)}", chrome, 3600)
    return chrome


@register.filter
def safe_richtext(value) -> str:
    """Rich text through Wagtail's database whitelist before rendering.

    The Draftail editor already stores only whitelisted HTML; this also covers content that
    arrived another way (imports, code, old revisions), so no script or javascript: link renders.
    """
    from wagtail.admin.rich_text.converters.editor_html import EditorHTMLConverter
    from wagtail.rich_text import RichText

    source = value.source if isinstance(value, RichText) else str(value or "")
    cleaned = EditorHTMLConverter(features=SAFE_FEATURES).whitelister.clean(source)
    return RichText(cleaned).__html__()


SAFE_FEATURES = ["bold", "italic", "link", "ol", "ul", "h2", "h3", "h4", "document-link", "hr"]


@register.simple_tag
def site_url(path: str) -> str:
    """``path`` on SITE_URL: canonical and share links name the site, not whatever host was asked."""
    return absolute_url(path)
