"""The site's one public address: ``SITE_URL``.

Absolute links the site hands out (account emails, ``.ics`` files, notifications, robots.txt) are
built from it, and ``django.contrib.sites``' Site, which allauth's emails name, is copied from it after
every ``migrate`` (and by ``seed_demo``). Wagtail's default Site, which gives canonical and sitemap
URLs, follows it the same way from ``cms_pages/sites.py`` (the project does not import the CMS app).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections


def site_domain() -> str:
    """``SITE_URL``'s host, with its port when it has one: ``127.0.0.1:9000``, ``peerlearn.example.com``."""
    return urlsplit(settings.SITE_URL).netloc


def absolute_url(path_or_url: str) -> str:
    """``path_or_url`` on ``SITE_URL``: a path gets the site's scheme and host; an absolute URL (one
    built from the request's own host, such as allauth's links) keeps its path, query and fragment
    and takes the site's scheme and host instead."""
    bits = urlsplit(path_or_url)
    tail = bits.path or "/"
    if bits.query:
        tail += f"?{bits.query}"
    if bits.fragment:
        tail += f"#{bits.fragment}"
    return f"{settings.SITE_URL}{tail}"


def sites_sync_from_settings(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Point Django's current Site (``SITE_ID``) at ``SITE_URL`` and name it after the site
    (``WAGTAIL_SITE_NAME``). Skipped while its table does not exist (a partial migrate)."""
    from django.contrib.sites.models import Site

    if Site._meta.db_table not in connections[using].introspection.table_names():
        return
    wanted = {"domain": site_domain(), "name": settings.WAGTAIL_SITE_NAME}
    site = Site.objects.using(using).filter(pk=settings.SITE_ID).first()
    if site is None:
        Site.objects.using(using).create(pk=settings.SITE_ID, **wanted)
    elif (site.domain, site.name) != (wanted["domain"], wanted["name"]):
        site.domain, site.name = wanted["domain"], wanted["name"]
        site.save(using=using, update_fields=["domain", "name"])  # saving clears Django's Site cache


def sites_follow_site_url(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """``post_migrate``: every ``migrate`` (each deploy, each ``make run``) leaves Django's Site on ``SITE_URL``."""
    sites_sync_from_settings(using=using)
