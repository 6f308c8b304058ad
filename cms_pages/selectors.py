"""Reads on the page tree that code (not a request's page) needs."""

from __future__ import annotations

from wagtail.models import Site

from .models import HomePage


def home_page_get() -> HomePage:
    """The default site's root page: the home page."""
    return Site.objects.get(is_default_site=True).root_page.specific
